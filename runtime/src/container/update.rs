//! `update`: change the resource limits of a live container.

use std::path::Path;

use crate::cgroups::devices;
use crate::container::Container;
use crate::error::Result;
use crate::spec::Resources;
use crate::state::Status;

pub fn update(root: &Path, id: &str, res: &Resources) -> Result<()> {
    let mut c = Container::load(root, id)?;
    let status = c.status();
    if status == Status::Stopped {
        return Err(c.wrong_state(status, "update", "running, created or paused"));
    }
    let cg = c.cgroup();
    cg.apply(res)?;
    if !res.devices.is_empty() {
        cg.apply_devices(&devices::effective_rules(
            &res.devices,
            &c.state.config.linux().devices,
        ))?;
    }
    // Remember the new limits, so later commands (and `state`) see them.
    let linux = c.state.config.linux.get_or_insert_with(Default::default);
    let stored = linux.resources.get_or_insert_with(Default::default);
    merge(stored, res);
    c.state.save(root)
}

/// Overlays the fields set in `new` onto `stored`.
fn merge(stored: &mut Resources, new: &Resources) {
    if let Some(m) = &new.memory {
        let s = stored.memory.get_or_insert_with(Default::default);
        macro_rules! take { ($($f:ident),*) => { $( if m.$f.is_some() { s.$f = m.$f.clone(); } )* } }
        take!(
            limit,
            reservation,
            swap,
            kernel,
            kernel_tcp,
            swappiness,
            disable_oom_killer
        );
    }
    if let Some(c) = &new.cpu {
        let s = stored.cpu.get_or_insert_with(Default::default);
        macro_rules! take { ($($f:ident),*) => { $( if c.$f.is_some() { s.$f = c.$f.clone(); } )* } }
        take!(
            shares,
            quota,
            period,
            realtime_runtime,
            realtime_period,
            cpus,
            mems
        );
    }
    if new.pids.is_some() {
        stored.pids = new.pids.clone();
    }
    if new.block_io.is_some() {
        stored.block_io = new.block_io.clone();
    }
    if !new.hugepage_limits.is_empty() {
        stored.hugepage_limits = new.hugepage_limits.clone();
    }
    if !new.devices.is_empty() {
        stored.devices = new.devices.clone();
    }
    for (k, v) in &new.unified {
        stored.unified.insert(k.clone(), v.clone());
    }
}
