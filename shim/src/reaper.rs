//! The one consumer of SIGCHLD: every child of the shim (runtime commands, the container's
//! processes reparented to us as subreaper, logging programs) is reaped here and its exit
//! handed to whoever claims its pid. An exit that arrives before the claim (the init can
//! exit before its pid file is read) is held until claimed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// How a process ended, in containerd's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128 + the signal that killed it.
    pub status: u32,
    pub at: SystemTime,
}

impl Exit {
    fn from_wait(ws: WaitStatus) -> Option<(i32, Exit)> {
        let at = SystemTime::now();
        match ws {
            WaitStatus::Exited(pid, code) => Some((
                pid.as_raw(),
                Exit {
                    status: code as u32,
                    at,
                },
            )),
            WaitStatus::Signaled(pid, sig, _) => Some((
                pid.as_raw(),
                Exit {
                    status: 128 + sig as u32,
                    at,
                },
            )),
            _ => None,
        }
    }
}

/// Unclaimed exits are kept this long (orphans nobody asks about are pruned).
const KEEP_UNCLAIMED: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Registry {
    waiting: HashMap<i32, oneshot::Sender<Exit>>,
    unclaimed: HashMap<i32, (Exit, Instant)>,
}

#[derive(Clone)]
pub struct Reaper {
    registry: Arc<Mutex<Registry>>,
}

/// Blocks SIGCHLD in the calling thread (and every thread created after): call first thing
/// in main, before any thread exists, so that only the signalfd sees it.
pub fn block_sigchld() -> Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set.thread_block()
        .map_err(|e| Error::sys("blocking SIGCHLD", e))
}

impl Reaper {
    /// Starts reaping on the current tokio runtime.
    pub fn start() -> Result<Reaper> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| Error::sys("creating the SIGCHLD signalfd", e))?;
        // SAFETY: the signalfd is owned by the AsyncFd and stays open with it.
        let afd = unsafe { AsyncFd::register(sfd) }
            .map_err(|e| Error::io("registering", "signalfd", e.into()))?;
        let reaper = Reaper {
            registry: Arc::new(Mutex::new(Registry::default())),
        };
        let r = reaper.clone();
        tokio::spawn(async move {
            loop {
                let Ok(mut guard) = afd.readable().await else {
                    return;
                };
                // Drain the signalfd; SIGCHLDs coalesce, so the waitpid loop does the work.
                while let Ok(Some(_)) = guard.get_inner().read_signal() {}
                guard.clear_ready();
                r.reap_all();
            }
        });
        // Children may have exited before the signalfd existed.
        reaper.reap_all();
        Ok(reaper)
    }

    fn reap_all(&self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(ws) => {
                    if let Some((pid, exit)) = Exit::from_wait(ws) {
                        self.deliver(pid, exit);
                    }
                }
            }
        }
    }

    fn deliver(&self, pid: i32, exit: Exit) {
        let mut reg = self.registry.lock().unwrap();
        if let Some(tx) = reg.waiting.remove(&pid) {
            let _ = tx.send(exit);
            return;
        }
        let now = Instant::now();
        reg.unclaimed
            .retain(|_, (_, at)| now.duration_since(*at) < KEEP_UNCLAIMED);
        reg.unclaimed.insert(pid, (exit, now));
    }

    /// Claims the exit of `pid`, a process that started at or after `since`: resolves when
    /// it has exited (at once if it already has). Held exits from before `since` belong to
    /// an earlier process with the same pid and are dropped.
    pub fn claim(&self, pid: i32, since: Instant) -> oneshot::Receiver<Exit> {
        let (tx, rx) = oneshot::channel();
        let mut reg = self.registry.lock().unwrap();
        match reg.unclaimed.remove(&pid) {
            Some((exit, at)) if at >= since => {
                let _ = tx.send(exit);
            }
            _ => {
                reg.waiting.insert(pid, tx);
            }
        }
        rx
    }
}
