//! The container's init, from clone to execve: namespaces, root filesystem, terminal,
//! then waiting for `start`.
//!
//! Runs in the child of `create`. Every failure before `Ready` is sent to the runtime,
//! which reports it and cleans up; after `Ready` the runtime has gone, and failures are
//! reported to `start` over its connection.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::sched::{CloneFlags, unshare};

use crate::cgroups::CgroupPaths;
use crate::console;
use crate::error::{ErrnoContext, Error, Result};
use crate::hooks::{self, HookKind, HookState};
use crate::namespaces::{NamespacePlan, NamespaceType};
use crate::process::channel::{Channel, Message};
use crate::process::{self, ProcessPlan};
use crate::rootfs::{self, MountContext};
use crate::spec::Spec;
use crate::sysctl;

pub struct InitConfig<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub namespaces: &'a NamespacePlan,
    pub cgroups: &'a CgroupPaths,
    pub no_pivot: bool,
    pub plan: &'a ProcessPlan,
    /// Where to send the pty master, when the process has a terminal.
    pub console: Option<&'a OwnedFd>,
    /// The listening socket `start` connects to.
    pub listener: &'a OwnedFd,
    pub channel: &'a Channel,
}

/// The child's entry point; returns the exit code if it fails.
pub fn run(cfg: InitConfig) -> i32 {
    match setup(&cfg) {
        Ok(prepared) => wait_for_start_and_exec(&cfg, &prepared),
        Err(e) => {
            let _ = cfg.channel.send(&Message::Error(e.to_string()));
            1
        }
    }
}

fn setup(cfg: &InitConfig) -> Result<process::Prepared> {
    let spec = cfg.spec;
    let process = spec
        .process
        .as_ref()
        .expect("validated: process is present");
    // Die with the runtime while it still owns us.
    // SAFETY: plain prctl calls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // CVE-2019-5736: until execve replaces it, this process's /proc/PID/exe is the host's
        // myrunc binary. Not dumpable, no process in the container may open it (execve
        // makes the user's program dumpable again).
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    cfg.channel.expect(Message::Go, "myrunc")?;
    let ns = cfg.namespaces;
    if ns.creates(NamespaceType::User) {
        // The maps are written: become root of the new user namespace.
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .ctx(|| "setting gid 0 in the user namespace".into())?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .ctx(|| "setting uid 0 in the user namespace".into())?;
    }
    for j in &ns.join {
        // The pid namespace was entered by the runtime before cloning (setns of a pid
        // namespace only applies to children).
        if j.typ != NamespaceType::Pid {
            j.enter()?;
        }
    }
    let mut flags = CloneFlags::empty();
    for t in &ns.new {
        if !matches!(
            t,
            NamespaceType::Pid | NamespaceType::User | NamespaceType::Cgroup
        ) {
            flags |= t.clone_flag();
        }
    }
    if !flags.is_empty() {
        unshare(flags).ctx(|| format!("creating namespaces {flags:?}"))?;
    }
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("setting hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname.as_deref().filter(|d| !d.is_empty()) {
        let c = CString::new(d).map_err(|_| Error::config("domainname", "contains a NUL byte"))?;
        // SAFETY: valid buffer and length.
        if unsafe { libc::setdomainname(c.as_ptr(), d.len()) } != 0 {
            return Err(Error::sys(
                format!("setting domainname {d:?}"),
                nix::errno::Errno::last(),
            ));
        }
    }
    nix::unistd::setsid().ctx(|| "setsid".into())?;

    let ctx = MountContext {
        bundle: cfg.bundle,
        cgroups: cfg.cgroups,
    };
    // The runtime creates the cgroup directories while we made our namespaces.
    cfg.channel.expect(Message::CgroupsCreated, "myrunc")?;
    rootfs::prepare(spec, cfg.rootfs, &ctx)?;
    // The runtime moves us into our cgroups while we set up the root filesystem.
    cfg.channel.expect(Message::CgroupJoined, "myrunc")?;
    // Now, so that the cgroup we were put in becomes the namespace's root.
    if ns.creates(NamespaceType::Cgroup) {
        unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "creating the cgroup namespace".into())?;
    }
    let hooks = spec.hooks.clone().unwrap_or_default();
    if !hooks.prestart.is_empty() || !hooks.create_runtime.is_empty() {
        cfg.channel.send(&Message::RunCreateRuntimeHooks)?;
        cfg.channel.expect(Message::HooksDone, "myrunc")?;
    }
    if !hooks.create_container.is_empty() {
        let state = hook_state(cfg, "created");
        hooks::run_all(HookKind::CreateContainer, &hooks.create_container, &state)?;
    }
    if cfg.no_pivot {
        rootfs::move_root(cfg.rootfs)?;
    } else {
        rootfs::pivot(cfg.rootfs)?;
    }
    rootfs::apply_root_propagation(spec)?;
    if process.terminal {
        let sock = cfg.console.ok_or_else(|| {
            Error::Usage("process.terminal is set but there is no console socket".into())
        })?;
        setup_terminal(sock, process.console_size)?;
    }
    sysctl::apply(&spec.linux().sysctl)?;
    rootfs::readonly_paths(spec)?;
    rootfs::masked_paths(spec)?;
    if spec.root.as_ref().is_some_and(|r| r.readonly) {
        rootfs::remount_root_readonly()?;
    }
    if let Some(p) = &spec.linux().personality {
        set_personality(p)?;
    }
    let prepared = cfg.plan.prepare(process)?;
    cfg.channel.send(&Message::Ready)?;
    cfg.channel.expect(Message::Ack, "myrunc")?;
    // SAFETY: plain prctl; from here on the init outlives the runtime.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
    cfg.channel.send(&Message::Done)?;
    Ok(prepared)
}

fn hook_state<'a>(cfg: &'a InitConfig, status: &'a str) -> HookState<'a> {
    HookState {
        oci_version: crate::spec::OCI_VERSION,
        id: cfg.id,
        status,
        pid: std::process::id() as i32,
        bundle: cfg.bundle,
        annotations: &cfg.spec.annotations,
    }
}

fn setup_terminal(sock: &OwnedFd, size: Option<crate::spec::ConsoleSize>) -> Result<()> {
    let (master, slave) = console::open_pty()?;
    if let Some(sz) = size {
        console::set_size(master.as_raw_fd(), sz.height, sz.width)?;
    }
    // /dev/console is the container's terminal, when the container has its own /dev.
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "opening /".into())?;
    let dev_is_ours = std::fs::symlink_metadata("/dev/ptmx")
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if dev_is_ours {
        let target = rootfs::resolve::open_in_root(
            root.as_fd(),
            Path::new("/dev/console"),
            rootfs::resolve::Create::File,
        )?;
        nix::mount::mount(
            Some(format!("/proc/self/fd/{}", slave.as_raw_fd()).as_str()),
            rootfs::resolve::fd_path(&target).as_str(),
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .ctx(|| "bind mounting the terminal on /dev/console".into())?;
    }
    console::send_master(sock.as_fd(), master.as_fd())?;
    console::become_controlling(&slave)
}

fn set_personality(p: &crate::spec::Personality) -> Result<()> {
    let domain = match p.domain.as_str() {
        "LINUX" => 0x0000,
        "LINUX32" => 0x0008,
        other => {
            return Err(Error::config(
                "linux.personality.domain",
                format!("unknown domain {other:?} (LINUX or LINUX32)"),
            ));
        }
    };
    if !p.flags.is_empty() {
        return Err(Error::config(
            "linux.personality.flags",
            "personality flags are not supported by myrunc",
        ));
    }
    // SAFETY: personality only changes the execution domain of this process.
    if unsafe { libc::personality(domain) } == -1 {
        return Err(Error::sys(
            "setting the personality",
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Blocks until `start` connects, then runs the startContainer hooks and execs the
/// user process. Errors go back to `start` over the connection.
fn wait_for_start_and_exec(cfg: &InitConfig, prepared: &process::Prepared) -> i32 {
    let conn = loop {
        // SAFETY: accept4 on our listening socket.
        let fd = unsafe {
            libc::accept4(
                cfg.listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: fresh descriptor.
            let conn = unsafe { OwnedFd::from_raw_fd(fd) };
            let mut byte = [0u8; 1];
            let mut f = std::fs::File::from(conn);
            if matches!(f.read(&mut byte), Ok(1)) && byte[0] == b's' {
                break f;
            }
            continue;
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return 1;
        }
    };
    let mut conn = conn;
    // Keep the connection above the descriptors handed to the process.
    let min = 3 + cfg.plan.preserve_fds;
    if conn.as_raw_fd() < min {
        // SAFETY: duplicating our own descriptor.
        let fd = unsafe { libc::fcntl(conn.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
        if fd >= 0 {
            // SAFETY: fresh descriptor.
            conn = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    let process = cfg.spec.process.as_ref().expect("validated");
    let hooks = cfg.spec.hooks.clone().unwrap_or_default();
    if !hooks.start_container.is_empty() {
        let state = hook_state(cfg, "created");
        if let Err(e) = hooks::run_all(HookKind::StartContainer, &hooks.start_container, &state) {
            let _ = conn.write_all(e.to_string().as_bytes());
            return 1;
        }
    }
    let err = process::finish_and_exec(process, cfg.plan, prepared);
    let _ = conn.write_all(err.to_string().as_bytes());
    match err {
        Error::NotExecutable(_) => 126,
        Error::ExecutableNotFound(_) => 127,
        _ => 1,
    }
}
