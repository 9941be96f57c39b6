//! Staying with a process in the foreground (`run`, `exec` without `-d`): forwarding
//! signals, relaying a terminal, and returning the exit status as a shell would.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::console;
use crate::error::{ErrnoContext, Error, Result};

/// Signals passed on to the process; the rest are the runtime's own business.
const FORWARDED: [Signal; 14] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGTERM,
    Signal::SIGALRM,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
];

/// Puts the caller's terminal in raw mode and restores it when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Shell convention: the exit code, or 128 + the signal that killed it.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: writing from a valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Blocks the forwarded signals (plus SIGCHLD and SIGWINCH) and returns a signalfd for them.
/// Call before the process can exit, so that its SIGCHLD is not lost.
pub fn catch_signals() -> Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set.add(Signal::SIGWINCH);
    set.thread_block().ctx(|| "blocking signals".into())?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .ctx(|| "creating a signalfd".into())
}

/// Waits for `pid`, forwarding signals and relaying the terminal; returns its exit code.
pub fn wait(pid: Pid, signals: SignalFd, master: Option<OwnedFd>) -> Result<i32> {
    let stdin_is_tty = termios::tcgetattr(std::io::stdin().as_fd()).is_ok();
    let _raw = match &master {
        Some(m) if stdin_is_tty => {
            if let Some((rows, cols)) = console::get_size(0) {
                let _ = console::set_size(m.as_raw_fd(), rows, cols);
            }
            RawMode::enter()
        }
        _ => None,
    };
    let mut stdin_open = master.is_some();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        let stdin = std::io::stdin();
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("poll", e)),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if let (Some(m), true) = (&master, ready.get(1).copied().unwrap_or(false)) {
            // SAFETY: reading into our buffer.
            let n = unsafe { libc::read(m.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                write_all(1, &buf[..n as usize]);
            }
        }
        if stdin_open && ready.last().copied().unwrap_or(false) {
            // SAFETY: reading into our buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
            } else if let Some(m) = &master {
                write_all(m.as_raw_fd(), &buf[..n as usize]);
            }
        }
        if ready[0] {
            while let Ok(Some(info)) = signals.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    continue;
                }
                if sig == libc::SIGWINCH {
                    if let (Some(m), Some((rows, cols))) = (&master, console::get_size(0)) {
                        let _ = console::set_size(m.as_raw_fd(), rows, cols);
                    }
                    continue;
                }
                if let Ok(s) = Signal::try_from(sig) {
                    let _ = kill(pid, s);
                }
            }
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(status) if status.pid() == Some(pid) => {
                        if let Some(code) = exit_code(status) {
                            if let Some(m) = &master {
                                drain(m, &mut buf);
                            }
                            return Ok(code);
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
    }
}

/// Copies what the process wrote just before exiting.
fn drain(master: &OwnedFd, buf: &mut [u8]) {
    let _ = nix::fcntl::fcntl(
        master.as_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    loop {
        // SAFETY: reading into our buffer.
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        write_all(1, &buf[..n as usize]);
    }
}
