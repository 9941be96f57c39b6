//! `delete`: remove a stopped container (or, with force, stop it first).

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::{ContainerState, Status};

/// Waits until the container has no processes left.
fn wait_gone(c: &Container, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(100);
    loop {
        let alive = c.state.init_alive() || !c.cgroup().procs().unwrap_or_default().is_empty();
        if !alive {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Child(format!(
                "processes of container {:?} did not exit after SIGKILL",
                c.id()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn kill_all(c: &Container) -> Result<()> {
    let cg = c.cgroup();
    let _ = cg.set_frozen(true);
    for pid in c.pids()? {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = cg.set_frozen(false);
    wait_gone(c, Duration::from_secs(10))
}

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let c = match Container::load(root, id) {
        Ok(c) => c,
        Err(Error::NotFound(_)) => {
            // A create that died early can leave a directory without state.
            let dir = ContainerState::dir(root, id);
            let partial = dir.exists();
            let _ = std::fs::remove_dir_all(&dir);
            return if force || partial {
                Ok(())
            } else {
                Err(Error::NotFound(id.into()))
            };
        }
        Err(e) => return Err(e),
    };
    match c.status() {
        Status::Stopped => {
            // Processes outside a pid namespace may outlive the init.
            if !c.cgroup().procs().unwrap_or_default().is_empty() {
                kill_all(&c)?;
            }
        }
        // runtime-spec: deleting a created container stops its init.
        Status::Created => kill_all(&c)?,
        s @ (Status::Running | Status::Paused) => {
            if !force {
                return Err(c.wrong_state(s, "delete", "stopped (or --force)"));
            }
            kill_all(&c)?;
        }
    }
    c.destroy()
}
