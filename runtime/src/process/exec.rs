//! An extra process in a running container (`exec`), from fork to execve.

use std::os::fd::{AsFd, OwnedFd};

use crate::cgroups::{CgroupPaths, write_file};
use crate::console;
use crate::error::{ErrnoContext, Error, Result};
use crate::namespaces::{JoinNamespace, NamespaceType};
use crate::process::{self, ProcessPlan};
use crate::spec::Process;

pub struct ExecConfig<'a> {
    pub process: &'a Process,
    /// The container's namespaces, in joining order (the pid one is entered by the runtime).
    pub namespaces: &'a [JoinNamespace],
    pub cgroups: &'a CgroupPaths,
    pub plan: &'a ProcessPlan,
    pub console: Option<&'a OwnedFd>,
    /// Close-on-exec pipe: nothing arrives on it when execve succeeds.
    pub errors: &'a OwnedFd,
}

/// The child's entry point; returns the exit code if it fails.
pub fn run(cfg: ExecConfig) -> i32 {
    let err = match setup(&cfg) {
        Ok(prepared) => process::finish_and_exec(cfg.process, cfg.plan, &prepared),
        Err(e) => e,
    };
    let _ = nix::unistd::write(cfg.errors, err.to_string().as_bytes());
    match err {
        Error::NotExecutable(_) => 126,
        Error::ExecutableNotFound(_) => 127,
        _ => 1,
    }
}

fn setup(cfg: &ExecConfig) -> Result<process::Prepared> {
    // CVE-2019-5736: keep /proc/PID/exe (the host's myrunc) out of the container's reach
    // until execve.
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // Join the cgroups while the host's /sys/fs/cgroup is still what we see.
    for dir in cfg.cgroups.v1.values().chain(cfg.cgroups.unified.iter()) {
        if dir.exists() {
            write_file(dir, "cgroup.procs", "0")?;
        }
    }
    for ns in cfg.namespaces {
        if ns.typ != NamespaceType::Pid {
            ns.enter()?;
        }
    }
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    if cfg.process.terminal {
        let sock = cfg.console.ok_or_else(|| {
            Error::Usage("process.terminal is set but there is no console socket".into())
        })?;
        let (master, slave) = console::open_pty()?;
        if let Some(sz) = cfg.process.console_size {
            console::set_size(
                std::os::fd::AsRawFd::as_raw_fd(&master),
                sz.height,
                sz.width,
            )?;
        }
        console::send_master(sock.as_fd(), master.as_fd())?;
        console::become_controlling(&slave)?;
    }
    cfg.plan.prepare(cfg.process)
}
