//! Forking into new namespaces.
//!
//! The runtime is single-threaded up to here (setns into a mount namespace and unshare of
//! a user namespace fail in a multi-threaded process), so a fork-style clone(2) is safe:
//! the child gets a copy of the one thread and its memory.

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Forks with extra namespace flags. Returns the child's pid in the parent; in the child
/// it runs `child` and exits with its return value, never returning.
pub fn clone_process(flags: CloneFlags, child: impl FnOnce() -> i32) -> Result<Pid> {
    // SAFETY: clone without CLONE_VM and with a null stack behaves like fork(2): the child
    // runs on a copy of our stack. We are single-threaded, so no lock can be held by a
    // thread that does not exist in the child.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match r {
        -1 => Err(Error::sys(format!("clone with {flags:?}"), Errno::last())),
        0 => {
            let code = child();
            // SAFETY: leave without running the parent's atexit handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}
