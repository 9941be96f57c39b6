//! Keeping the runtime binary out of the container's reach (CVE-2019-5736).
//!
//! The container's init is a clone of myrunc, so until it execs, /proc/PID/exe names the
//! myrunc binary; and a container program that is a `#!/proc/self/exe` script makes the
//! init execute myrunc inside the container. Either way a process in the container can hold
//! the binary open and write to it once nothing runs it any more.
//!
//! Commands that enter a container therefore first re-exec themselves through a detached,
//! read-only bind mount of their own binary (open_tree + mount_setattr): /proc/self/exe then
//! names a file on a read-only mount that exists nowhere in any namespace, and writes
//! through it fail. (runc 1.1 copies itself into a sealed memfd instead; measured here,
//! that copy cost more than the whole rest of a container start.)

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

use crate::error::{Error, Result};

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn exe_on_read_only_mount() -> bool {
    nix::sys::statvfs::statvfs("/proc/self/exe")
        .map(|st| st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        .unwrap_or(false)
}

/// A detached read-only bind mount of the running binary.
fn read_only_clone() -> Result<OwnedFd> {
    let path = CString::new("/proc/self/exe").unwrap();
    // SAFETY: open_tree with a valid path; returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "cloning a mount of the myrunc binary (open_tree)",
            Errno::last(),
        ));
    }
    // SAFETY: fresh descriptor.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = CString::new("").unwrap();
    // SAFETY: mount_setattr on our detached mount with a valid mount_attr.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(Error::sys(
            "making the mount of the myrunc binary read-only",
            Errno::last(),
        ));
    }
    Ok(tree)
}

/// Re-executes the current command through a read-only mount of the binary, unless it
/// already runs from one. Returns only when nothing needed doing.
pub fn ensure() -> Result<()> {
    if exe_on_read_only_mount() {
        return Ok(());
    }
    let tree = read_only_clone()?;
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).expect("arguments have no NUL bytes"))
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).expect("environment has no NUL bytes")
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let empty = CString::new("").unwrap();
    // SAFETY: NULL-terminated argv/envp of valid C strings; AT_EMPTY_PATH executes the fd.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            tree.as_raw_fd(),
            empty.as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Err(Error::sys(
        "re-executing myrunc from its read-only mount",
        Errno::last(),
    ))
}
