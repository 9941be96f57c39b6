//! `create`: set everything up and leave the init waiting for `start`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, listen, socket};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::cgroups::{self, CgroupPaths, Layout, devices};
use crate::console;
use crate::container::Container;
use crate::error::{ErrnoContext, Error, Result};
use crate::hooks::{self, HookKind, HookState};
use crate::namespaces::{NamespacePlan, NamespaceType};
use crate::process::ProcessPlan;
use crate::process::channel::{Channel, Message};
use crate::process::clone::clone_process;
use crate::process::init::{self, InitConfig};
use crate::spec::{IdMapping, Spec};
use crate::state::{ContainerState, START_SOCKET, proc_stat, rfc3339_now, validate_id};

pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
    /// Foreground `run` of a terminal process without `--console-socket`: the runtime
    /// itself receives the pty master.
    pub receive_console: bool,
}

pub struct Created {
    pub container: Container,
    pub pid: Pid,
    pub console_master: Option<OwnedFd>,
}

/// Moves a descriptor to a number at or above `min` (keeping close-on-exec), so it never
/// lands among the descriptors passed through with `--preserve-fds`.
pub(crate) fn raise_fd(fd: OwnedFd, min: i32) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if new < 0 {
        return Err(Error::sys(
            "duplicating a descriptor",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Writes a pid file atomically, as runc does (temp file in the same dir, then rename).
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("getcwd", ".", e))?
            .join(path)
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("writing pid file", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("renaming pid file to", &path, e))
}

fn start_listener(dir: &Path, min_fd: i32) -> Result<OwnedFd> {
    let dirfd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("opening {}", dir.display()))?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "creating the start socket".into())?;
    // Through /proc/self/fd so that long state paths still fit in sun_path.
    let addr =
        UnixAddr::new(format!("/proc/self/fd/{}/{START_SOCKET}", dirfd.as_raw_fd()).as_str())
            .ctx(|| "start socket address".into())?;
    bind(sock.as_raw_fd(), &addr).ctx(|| "binding the start socket".into())?;
    listen(
        &sock,
        nix::sys::socket::Backlog::new(1).expect("valid backlog"),
    )
    .ctx(|| "listening on the start socket".into())?;
    raise_fd(sock, min_fd)
}

fn write_id_maps(pid: Pid, uid: &[IdMapping], gid: &[IdMapping]) -> Result<()> {
    let render = |m: &[IdMapping]| {
        m.iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect::<String>()
    };
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, render(maps)).map_err(|e| Error::io("writing", path, e))?;
    }
    Ok(())
}

fn set_oom_score_adj(pid: Pid, adj: i32) -> Result<()> {
    let path = format!("/proc/{pid}/oom_score_adj");
    std::fs::write(&path, adj.to_string()).map_err(|e| {
        if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EPERM) {
            Error::config(
                "process.oomScoreAdj",
                format!("cannot set {adj}: lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host does not grant"),
            )
        } else {
            Error::io("writing", path, e)
        }
    })
}

/// Undoes a partial create: the process, the cgroup, the state directory.
struct Cleanup {
    dir: Option<PathBuf>,
    cgroup: Option<CgroupPaths>,
    cgroup_parents: Vec<PathBuf>,
    pid: Option<Pid>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some(paths) = self.cgroup.take() {
            let _ = cgroups::from_paths(paths).destroy();
            cgroups::remove_created_parents(&self.cgroup_parents);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn create(root: &Path, opts: &CreateOptions) -> Result<Created> {
    validate_id(&opts.id)?;
    let bundle = std::fs::canonicalize(&opts.bundle)
        .map_err(|e| Error::io("opening bundle", &opts.bundle, e))?;
    let spec = Spec::load(&bundle)?;
    let process = spec.process.as_ref().expect("validated");
    match (
        process.terminal,
        opts.console_socket.is_some(),
        opts.receive_console,
    ) {
        (true, false, false) => {
            return Err(Error::Usage(
                "process.terminal is set: a detached container needs --console-socket to hand the terminal to".into(),
            ));
        }
        (false, true, _) => {
            return Err(Error::Usage(
                "--console-socket was given but process.terminal is false".into(),
            ));
        }
        _ => {}
    }
    let root_path = &spec.root.as_ref().expect("validated").path;
    let rootfs = std::fs::canonicalize(bundle.join(root_path))
        .map_err(|e| Error::io("opening root.path", bundle.join(root_path), e))?;
    if !rootfs.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }

    std::fs::create_dir_all(root).map_err(|e| Error::io("creating state root", root, e))?;
    let dir = ContainerState::dir(root, &opts.id);
    match std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists(opts.id.clone()));
        }
        Err(e) => return Err(Error::io("creating", &dir, e)),
    }
    let mut cleanup = Cleanup {
        dir: Some(dir.clone()),
        cgroup: None,
        cgroup_parents: Vec::new(),
        pid: None,
    };

    let linux = spec.linux();
    let layout = Layout::detect()?;
    // Only the paths now: the directories are made while the child creates its namespaces.
    let cg = cgroups::for_new_container(&layout, linux.cgroups_path.as_deref(), &opts.id)?;
    let namespaces = NamespacePlan::from_spec(&spec)?;
    let can_setgroups = true;
    let plan = ProcessPlan::new(process, linux, opts.preserve_fds, can_setgroups)?;
    let min_fd = 3 + opts.preserve_fds;
    let (parent_chan, child_chan) = Channel::pair()?;
    let child_chan = Channel::from_fd(raise_fd(child_chan.into_fd(), min_fd)?);
    let parent_raw = parent_chan.as_raw_fd();
    let listener = start_listener(&dir, min_fd)?;
    let (console_fd, console_receiver) = match (
        &opts.console_socket,
        process.terminal && opts.receive_console,
    ) {
        (Some(path), _) => (
            Some(raise_fd(console::connect_socket(path)?, min_fd)?),
            None,
        ),
        (None, true) => {
            let (a, b) = nix::sys::socket::socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .ctx(|| "creating the terminal channel".into())?;
            (Some(raise_fd(a, min_fd)?), Some(b))
        }
        (None, false) => (None, None),
    };
    if let Some(pidns) = namespaces.joins(NamespaceType::Pid) {
        pidns.enter()?;
    }
    let mut flags = CloneFlags::empty();
    for t in [NamespaceType::Pid, NamespaceType::User] {
        if namespaces.creates(t) {
            flags |= t.clone_flag();
        }
    }
    let pid = clone_process(flags, || {
        // The runtime's end: closed here so the child sees end-of-file if the runtime dies.
        // SAFETY: closing our copy of a descriptor nothing else in the child uses.
        unsafe { libc::close(parent_raw) };
        init::run(InitConfig {
            id: &opts.id,
            spec: &spec,
            bundle: &bundle,
            rootfs: &rootfs,
            namespaces: &namespaces,
            cgroups: cg.paths(),
            no_pivot: opts.no_pivot,
            plan: &plan,
            console: console_fd.as_ref(),
            listener: &listener,
            channel: &child_chan,
        })
    })?;
    cleanup.pid = Some(pid);
    drop(child_chan);
    drop(console_fd);
    drop(listener);

    if namespaces.creates(NamespaceType::User) {
        write_id_maps(pid, &linux.uid_mappings, &linux.gid_mappings)?;
    }
    parent_chan.send(&Message::Go)?;
    // The child makes its namespaces while we make its cgroups; it builds its root
    // filesystem while we move it in (on cgroup v1 the first migration waits for an RCU
    // grace period). If the child failed meanwhile, its reason matters more than ours.
    cleanup.cgroup = Some(cg.paths().clone());
    let spec_rules = linux
        .resources
        .as_ref()
        .map(|r| r.devices.as_slice())
        .unwrap_or(&[]);
    let joined = cg
        .create()
        .map(|parents| cleanup.cgroup_parents = parents)
        .and_then(|_| match &linux.resources {
            Some(res) => cg.apply(res),
            None => Ok(()),
        })
        .and_then(|_| cg.apply_devices(&devices::effective_rules(spec_rules, &linux.devices)))
        .and_then(|_| parent_chan.send(&Message::CgroupsCreated))
        .and_then(|_| cg.add_process(pid.as_raw()))
        .and_then(|_| match process.oom_score_adj {
            Some(adj) => set_oom_score_adj(pid, adj),
            None => Ok(()),
        })
        .and_then(|_| parent_chan.send(&Message::CgroupJoined));
    if let Err(e) = joined {
        return Err(parent_chan.pending_error().map(Error::Child).unwrap_or(e));
    }
    loop {
        match parent_chan.recv("the container's init")? {
            Message::RunCreateRuntimeHooks => {
                let hooks = spec.hooks.clone().unwrap_or_default();
                let state = HookState {
                    oci_version: crate::spec::OCI_VERSION,
                    id: &opts.id,
                    status: "creating",
                    pid: pid.as_raw(),
                    bundle: &bundle,
                    annotations: &spec.annotations,
                };
                let res =
                    hooks::run_all(HookKind::Prestart, &hooks.prestart, &state).and_then(|_| {
                        hooks::run_all(HookKind::CreateRuntime, &hooks.create_runtime, &state)
                    });
                if let Err(e) = res {
                    let _ = parent_chan.send(&Message::Error(e.to_string()));
                    return Err(e);
                }
                parent_chan.send(&Message::HooksDone)?;
            }
            Message::Ready => break,
            Message::Error(e) => return Err(Error::Child(e)),
            other => {
                return Err(Error::Child(format!(
                    "unexpected message {other:?} from the init"
                )));
            }
        }
    }
    let (_, start_time) = proc_stat(pid.as_raw())
        .ok_or_else(|| Error::Child("the container's init exited during setup".into()))?;
    let state = ContainerState {
        id: opts.id.clone(),
        init_pid: pid.as_raw(),
        init_start_time: start_time,
        bundle: bundle.clone(),
        rootfs: rootfs.clone(),
        created: rfc3339_now(),
        owner: String::new(),
        cgroups: cg.paths().clone(),
        cgroup_parents: cleanup.cgroup_parents.clone(),
        config: spec.clone(),
    };
    state.save(root)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid.as_raw())?;
    }
    parent_chan.send(&Message::Ack)?;
    parent_chan.expect(Message::Done, "the container's init")?;
    let console_master = match console_receiver {
        Some(sock) => Some(console::recv_master(std::os::fd::AsFd::as_fd(&sock))?),
        None => None,
    };
    cleanup.pid = None;
    cleanup.cgroup = None;
    cleanup.dir = None;
    Ok(Created {
        container: Container {
            root: root.to_path_buf(),
            state,
        },
        pid,
        console_master,
    })
}
