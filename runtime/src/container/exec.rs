//! `exec`: start another process inside a running container.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::console;
use crate::container::Container;
use crate::container::create::{raise_fd, write_pid_file};
use crate::container::foreground;
use crate::error::{ErrnoContext, Error, Result};
use crate::namespaces::{JoinNamespace, NamespaceType};
use crate::process::ProcessPlan;
use crate::process::clone::clone_process;
use crate::process::exec::{self as exec_child, ExecConfig};
use crate::spec::{Process, validate_process};
use crate::state::Status;

pub struct ExecOptions {
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: i32,
}

/// Starts the process; returns its exit code in the foreground, 0 when detached.
pub fn exec(root: &Path, id: &str, opts: ExecOptions) -> Result<i32> {
    let c = Container::load(root, id)?;
    match c.status() {
        Status::Running | Status::Created => {}
        s => return Err(c.wrong_state(s, "exec", "running")),
    }
    let process = &opts.process;
    validate_process(process, "process")?;
    if process.terminal && opts.detach && opts.console_socket.is_none() {
        return Err(Error::Usage(
            "a detached terminal process needs --console-socket to hand the terminal to".into(),
        ));
    }
    if !process.terminal && opts.console_socket.is_some() {
        return Err(Error::Usage(
            "--console-socket was given but the process has no terminal".into(),
        ));
    }
    let spec = &c.state.config;
    let mut namespaces = Vec::new();
    for typ in NamespaceType::JOIN_ORDER {
        if spec.namespace(typ).is_some() {
            let path = PathBuf::from(format!("/proc/{}/ns/{}", c.state.init_pid, typ.proc_name()));
            namespaces.push(JoinNamespace::open(typ, &path)?);
        }
    }
    let min_fd = 3 + opts.preserve_fds;
    let plan = ProcessPlan::new(process, spec.linux(), opts.preserve_fds, true)?;
    let (console_fd, console_receiver): (Option<OwnedFd>, Option<OwnedFd>) =
        match (&opts.console_socket, process.terminal) {
            (Some(path), _) => (
                Some(raise_fd(console::connect_socket(path)?, min_fd)?),
                None,
            ),
            (None, true) => {
                let (a, b) = socketpair(
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
    let (err_read, err_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "creating a pipe".into())?;
    let err_write = raise_fd(err_write, min_fd)?;
    if let Some(pidns) = namespaces.iter().find(|n| n.typ == NamespaceType::Pid) {
        pidns.enter()?;
    }
    let signals = if opts.detach {
        None
    } else {
        Some(foreground::catch_signals()?)
    };
    let pid = clone_process(nix::sched::CloneFlags::empty(), || {
        exec_child::run(ExecConfig {
            process,
            namespaces: &namespaces,
            cgroups: &c.state.cgroups,
            plan: &plan,
            console: console_fd.as_ref(),
            errors: &err_write,
        })
    })?;
    drop(err_write);
    drop(console_fd);
    let mut reply = String::new();
    let _ = std::fs::File::from(err_read).read_to_string(&mut reply);
    if !reply.is_empty() {
        let _ = waitpid(pid, None);
        return Err(Error::Child(reply));
    }
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid.as_raw())?;
    }
    match signals {
        None => Ok(0),
        Some(sigs) => {
            let master = match console_receiver {
                Some(sock) => Some(console::recv_master(sock.as_fd())?),
                None => None,
            };
            foreground::wait(Pid::from_raw(pid.as_raw()), sigs, master)
        }
    }
}
