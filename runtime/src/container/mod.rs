//! Containers: the operations of the OCI lifecycle (runtime-spec: runtime.md#lifecycle).

pub mod create;
pub mod delete;
pub mod exec;
pub mod foreground;
pub mod kill;
pub mod pause;
pub mod start;
pub mod update;

use std::path::{Path, PathBuf};

use crate::cgroups::{self, Cgroup};
use crate::error::{Error, Result};
use crate::hooks::{self, HookKind, HookState};
use crate::state::{ContainerState, Status};

/// A container known to the runtime: its stored state plus where that lives.
pub struct Container {
    pub root: PathBuf,
    pub state: ContainerState,
}

impl Container {
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        Ok(Container {
            root: root.to_path_buf(),
            state: ContainerState::load(root, id)?,
        })
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    pub fn dir(&self) -> PathBuf {
        ContainerState::dir(&self.root, &self.state.id)
    }

    pub fn cgroup(&self) -> Box<dyn Cgroup> {
        cgroups::from_paths(self.state.cgroups.clone())
    }

    pub fn status(&self) -> Status {
        let cg = self.cgroup();
        self.state
            .status(&self.root, || cg.is_frozen().unwrap_or(false))
    }

    pub(crate) fn wrong_state(
        &self,
        status: Status,
        action: &'static str,
        expected: &'static str,
    ) -> Error {
        Error::WrongState {
            id: self.state.id.clone(),
            status: status.as_str(),
            action,
            expected,
        }
    }

    /// Every process of the container: from its cgroup, or just the init if the cgroup
    /// cannot be read.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = self.cgroup().procs()?;
        if pids.is_empty() && self.state.init_alive() {
            pids.push(self.state.init_pid);
        }
        Ok(pids)
    }

    /// Removes everything the container left: cgroups and state; then the poststop hooks.
    pub fn destroy(self) -> Result<()> {
        let cg = self.cgroup();
        let removed = cg.destroy();
        cgroups::remove_created_parents(&self.state.cgroup_parents);
        let dir = self.dir();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing", dir, e)),
        }
        if let Some(h) = &self.state.config.hooks
            && !h.poststop.is_empty()
        {
            let state = HookState {
                oci_version: crate::spec::OCI_VERSION,
                id: &self.state.id,
                status: "stopped",
                pid: 0,
                bundle: &self.state.bundle,
                annotations: &self.state.config.annotations,
            };
            hooks::run_all_warn(HookKind::Poststop, &h.poststop, &state);
        }
        removed
    }
}

/// IDs of every container under `root`, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", root, e)),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join(crate::state::STATE_FILE).exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}
