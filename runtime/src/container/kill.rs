//! `kill`: signal the init, or every process of the container.

use std::path::Path;

use nix::sys::signal::{Signal, kill as kill_pid};
use nix::unistd::Pid;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::Status;

fn send(pid: i32, sig: i32) -> Result<()> {
    let signal = Signal::try_from(sig).ok();
    match kill_pid(Pid::from_raw(pid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(Error::sys(format!("sending signal {sig} to {pid}"), e)),
    }
}

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<()> {
    let c = Container::load(root, id)?;
    let status = c.status();
    if all {
        // Works on a stopped container too: processes outside a pid namespace may outlive
        // the init, and the shim cleans them up this way.
        let cg = c.cgroup();
        let frozen = cg.is_frozen().unwrap_or(false);
        let freezable = cg.set_frozen(true).is_ok();
        let res = c
            .pids()
            .and_then(|pids| pids.into_iter().try_for_each(|p| send(p, sig)));
        if freezable && (!frozen || sig == libc::SIGKILL) {
            cg.set_frozen(false)?;
        }
        return res;
    }
    if status == Status::Stopped {
        return Err(c.wrong_state(status, "kill", "running, created or paused"));
    }
    send(c.state.init_pid, sig)
}
