//! `pause` and `resume`: freeze and thaw every process of the container.

use std::path::Path;

use crate::container::Container;
use crate::error::Result;
use crate::state::Status;

pub fn pause(root: &Path, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    match c.status() {
        Status::Running | Status::Created => c.cgroup().set_frozen(true),
        s => Err(c.wrong_state(s, "pause", "running or created")),
    }
}

pub fn resume(root: &Path, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    match c.status() {
        Status::Paused => c.cgroup().set_frozen(false),
        s => Err(c.wrong_state(s, "resume", "paused")),
    }
}
