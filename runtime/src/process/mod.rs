//! The container's processes: cloning them, and the last steps before `execve` that
//! the init and `exec` share (limits, user, capabilities, seccomp, cwd, fds).

pub mod channel;
pub mod clone;
pub mod exe_guard;
pub mod exec;
pub mod init;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::capabilities;
use crate::error::{ErrnoContext, Error, Result};
use crate::rlimits;
use crate::seccomp;
use crate::spec::{Linux, Process};

/// Everything decided in the runtime before cloning, so that the child only applies it.
pub struct ProcessPlan {
    pub caps: Option<capabilities::Plan>,
    /// The seccomp profile; the child compiles it, in parallel with the runtime's work.
    pub seccomp: Option<crate::spec::Seccomp>,
    /// Supplementary groups may only be set when the user namespace allows setgroups.
    pub can_setgroups: bool,
    pub preserve_fds: i32,
}

impl ProcessPlan {
    /// Builds the plan; capabilities the host cannot grant are logged and left out.
    pub fn new(
        process: &Process,
        linux: &Linux,
        preserve_fds: i32,
        can_setgroups: bool,
    ) -> Result<Self> {
        let caps = process.capabilities.as_ref().map(|c| {
            let (plan, dropped) = capabilities::Plan::new(c, capabilities::current_bounding());
            for name in dropped {
                tracing::warn!(
                    "capability {name} is not in the runtime's bounding set and is dropped"
                );
            }
            plan
        });
        Ok(ProcessPlan {
            caps,
            seccomp: linux.seccomp.clone(),
            can_setgroups,
            preserve_fds,
        })
    }
}

/// Finds the program to run the way execvp would, inside the container (we are there).
/// Missing programs and non-executable files fail here, at create time, so callers can
/// tell them apart (exit codes 127 and 126 in Docker).
pub fn find_executable(process: &Process) -> Result<CString> {
    let arg0 = &process.args[0];
    let check = |p: &Path| -> std::result::Result<(), Errno> {
        let md = std::fs::metadata(p)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
        if md.is_dir() || md.permissions().mode() & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        Ok(())
    };
    if arg0.contains('/') {
        let p = if arg0.starts_with('/') {
            PathBuf::from(arg0)
        } else {
            Path::new(&process.cwd).join(arg0)
        };
        return match check(&p) {
            Ok(()) => Ok(CString::new(p.as_os_str().as_bytes())
                .map_err(|_| Error::ExecutableNotFound(arg0.clone()))?),
            Err(Errno::EACCES) => Err(Error::NotExecutable(arg0.clone())),
            Err(e) => Err(Error::Child(format!(
                "exec: {arg0:?}: stat {arg0}: {}",
                e.desc().to_lowercase()
            ))),
        };
    }
    let path = process
        .env
        .iter()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or("");
    let mut denied = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        match check(&candidate) {
            Ok(()) => {
                return CString::new(candidate.as_os_str().as_bytes())
                    .map_err(|_| Error::ExecutableNotFound(arg0.clone()));
            }
            Err(Errno::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        Err(Error::NotExecutable(arg0.clone()))
    } else {
        Err(Error::ExecutableNotFound(arg0.clone()))
    }
}

/// The environment for execve: the spec's, plus HOME when it doesn't set one.
fn environment(process: &Process) -> Vec<CString> {
    let mut env: Vec<CString> = process
        .env
        .iter()
        .filter_map(|kv| CString::new(kv.as_bytes()).ok())
        .collect();
    if !process.env.iter().any(|kv| kv.starts_with("HOME=")) {
        let home = home_dir(process.user.uid).unwrap_or_else(|| "/".into());
        if let Ok(c) = CString::new(format!("HOME={home}")) {
            env.push(c);
        }
    }
    env
}

/// The home directory of `uid` from the container's /etc/passwd.
fn home_dir(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

/// Resets what a process inherits but must not pass on: blocked signals and ignored
/// dispositions (Rust ignores SIGPIPE, for one).
pub fn reset_signals() {
    // SAFETY: resetting dispositions to default and clearing the mask are always valid.
    unsafe {
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// What the child prepares before it is ready: the program to run and its filter.
pub struct Prepared {
    pub exe: CString,
    pub filter: Option<seccomp::Filter>,
}

impl ProcessPlan {
    /// Finds the program and compiles the seccomp filter (in the child, inside the
    /// container); failures here are reported before `create` returns.
    pub fn prepare(&self, process: &Process) -> Result<Prepared> {
        let filter = match &self.seccomp {
            Some(s) => Some(seccomp::Filter::compile(s)?),
            None => None,
        };
        Ok(Prepared {
            exe: find_executable(process)?,
            filter,
        })
    }
}

/// Switches to the process's user, capabilities and limits, enters its cwd, and execs.
/// Returns only with the error that stopped it.
pub fn finish_and_exec(process: &Process, plan: &ProcessPlan, prepared: &Prepared) -> Error {
    let exe = &prepared.exe;
    match finish(process, plan, prepared.filter.as_ref()) {
        Ok(()) => {}
        Err(e) => return e,
    }
    let args: Vec<CString> = process
        .args
        .iter()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let env = environment(process);
    reset_signals();
    let err = nix::unistd::execve(exe, &args, &env).unwrap_err();
    let name = &process.args[0];
    match err {
        Errno::EACCES => Error::NotExecutable(name.clone()),
        Errno::ENOENT => Error::Child(format!("exec: {name:?}: no such file or directory")),
        e => Error::sys(format!("exec {name:?}"), e),
    }
}

fn finish(process: &Process, plan: &ProcessPlan, filter: Option<&seccomp::Filter>) -> Result<()> {
    rlimits::apply(&process.rlimits)?;
    // Without no_new_privs only a privileged process may load a filter: do it now.
    if !process.no_new_privileges
        && let Some(f) = filter
    {
        f.load()?;
    }
    if let Some(caps) = &plan.caps {
        caps.apply_bounding()?;
    }
    set_user(process, plan.can_setgroups)?;
    enter_cwd(&process.cwd)?;
    if let Some(caps) = &plan.caps {
        caps.apply_sets()?;
    }
    if process.no_new_privileges {
        // SAFETY: plain prctl.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Error::sys("setting no_new_privs", Errno::last()));
        }
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        process.user.umask.unwrap_or(0o022),
    ));
    // CVE-2024-21626: no descriptor of the runtime may survive into the container.
    close_fds_from(3 + plan.preserve_fds)?;
    if process.no_new_privileges
        && let Some(f) = filter
    {
        f.load()?;
    }
    Ok(())
}

fn set_user(process: &Process, can_setgroups: bool) -> Result<()> {
    let u = &process.user;
    // Keep the permitted set across the uid change; the sets are applied right after.
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    if can_setgroups {
        let groups: Vec<nix::unistd::Gid> = u
            .additional_gids
            .iter()
            .map(|g| nix::unistd::Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups).ctx(|| format!("setgroups {:?}", u.additional_gids))?;
    } else if !u.additional_gids.is_empty() {
        return Err(Error::config(
            "process.user.additionalGids",
            "cannot be set: setgroups is denied in this user namespace",
        ));
    }
    let gid = nix::unistd::Gid::from_raw(u.gid);
    nix::unistd::setresgid(gid, gid, gid).ctx(|| format!("setting gid {}", u.gid))?;
    let uid = nix::unistd::Uid::from_raw(u.uid);
    nix::unistd::setresuid(uid, uid, uid).ctx(|| format!("setting uid {}", u.uid))?;
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    Ok(())
}

fn enter_cwd(cwd: &str) -> Result<()> {
    // CVE-2024-21626: resolve inside the root with magic links (/proc/self/fd/N) refused,
    // so a descriptor that still points at the host can never become the cwd.
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "opening /".into())?;
    let dir = crate::rootfs::resolve::openat2_in_root(
        std::os::fd::AsFd::as_fd(&root),
        Path::new(cwd),
        libc::O_PATH | libc::O_DIRECTORY,
    )
    .ctx(|| format!("resolving process.cwd {cwd:?} inside the container"))?;
    nix::unistd::fchdir(&dir).ctx(|| format!("chdir to process.cwd {cwd:?}"))?;
    // A cwd that resolves outside the container's root (through a leaked descriptor,
    // CVE-2024-21626) shows up as "(unreachable)".
    let here = nix::unistd::getcwd().ctx(|| "getcwd".into())?;
    if !here.is_absolute() || here.as_os_str().as_bytes().starts_with(b"(unreachable)") {
        return Err(Error::Child(format!(
            "process.cwd {cwd:?} resolves outside the container ({})",
            here.display()
        )));
    }
    Ok(())
}

/// Marks every descriptor from `first` up close-on-exec.
pub fn close_fds_from(first: i32) -> Result<()> {
    // SAFETY: close_range only touches our descriptor table.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    // Older kernels: walk /proc/self/fd.
    let entries =
        std::fs::read_dir("/proc/self/fd").map_err(|e| Error::io("listing", "/proc/self/fd", e))?;
    for e in entries.flatten() {
        if let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
            && fd >= first
        {
            // SAFETY: setting FD_CLOEXEC on a descriptor of ours.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_with(arg0: &str, path: &str) -> Process {
        Process {
            args: vec![arg0.into()],
            env: vec![format!("PATH={path}")],
            cwd: "/".into(),
            ..Process::default()
        }
    }

    #[test]
    fn finds_programs_in_path() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let noexec = dir.path().join("data");
        std::fs::write(&noexec, "").unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        let found = find_executable(&proc_with("tool", &path)).unwrap();
        assert_eq!(found.to_str().unwrap(), exe.to_str().unwrap());
        assert!(matches!(
            find_executable(&proc_with("missing", &path)),
            Err(Error::ExecutableNotFound(_))
        ));
        assert!(matches!(
            find_executable(&proc_with("data", &path)),
            Err(Error::NotExecutable(_))
        ));
        let abs = exe.to_str().unwrap().to_string();
        assert!(find_executable(&proc_with(&abs, "")).is_ok());
        let msg = find_executable(&proc_with("/no/such", ""))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no such file or directory"), "{msg}");
    }
}
