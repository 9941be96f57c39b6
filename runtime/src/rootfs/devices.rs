//! Device nodes and the standard /dev symlinks of a container with its own /dev.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::rootfs::mounts;
use crate::rootfs::options::MountOptions;
use crate::rootfs::resolve::{Create, open_in_root};
use crate::spec::Device;

/// The devices every container gets (runtime-spec: config-linux.md#default-devices).
pub fn default_devices() -> Vec<Device> {
    let dev = |path: &str, major, minor| Device {
        typ: "c".into(),
        path: path.into(),
        major,
        minor,
        file_mode: Some(0o666),
        uid: Some(0),
        gid: Some(0),
    };
    vec![
        dev("/dev/null", 1, 3),
        dev("/dev/zero", 1, 5),
        dev("/dev/full", 1, 7),
        dev("/dev/random", 1, 8),
        dev("/dev/urandom", 1, 9),
        dev("/dev/tty", 5, 0),
    ]
}

fn split(path: &Path) -> Result<(&Path, CString)> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        Error::config(
            "linux.devices",
            format!("bad device path {}", path.display()),
        )
    })?;
    let c = CString::new(name.as_encoded_bytes()).map_err(|_| {
        Error::config(
            "linux.devices",
            format!("bad device path {}", path.display()),
        )
    })?;
    Ok((parent, c))
}

/// Creates one device node, or bind-mounts the host's when mknod is not allowed
/// (in a user namespace).
pub fn create_device(root: BorrowedFd<'_>, d: &Device) -> Result<()> {
    let path = Path::new(&d.path);
    let (parent, name) = split(path)?;
    let dir = open_in_root(root, parent, Create::Dir)?;
    let kind = match d.typ.as_str() {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        other => {
            return Err(Error::config(
                "linux.devices",
                format!("unknown device type {other:?}"),
            ));
        }
    };
    let mode = d.file_mode.unwrap_or(0o666) & 0o7777;
    let rdev = libc::makedev(d.major as u32, d.minor as u32);
    // mknodat needs a real directory descriptor, not O_PATH.
    let real_dir =
        crate::rootfs::resolve::openat2_in_root(root, parent, libc::O_RDONLY | libc::O_DIRECTORY)
            .map_err(|e| Error::sys(format!("opening {}", parent.display()), e))?;
    drop(dir);
    // SAFETY: valid dirfd and NUL-terminated name.
    let r = unsafe { libc::mknodat(real_dir.as_raw_fd(), name.as_ptr(), kind | mode, rdev) };
    if r != 0 {
        match Errno::last() {
            Errno::EEXIST => return Ok(()),
            Errno::EPERM => {
                let opts = MountOptions {
                    flags: nix::mount::MsFlags::MS_BIND,
                    ..MountOptions::default()
                };
                return mounts::bind(root, path, path, &opts);
            }
            e => return Err(Error::sys(format!("creating device {}", d.path), e)),
        }
    }
    // mknod is filtered by the umask; set the mode and owner exactly.
    // SAFETY: as above.
    unsafe {
        libc::fchmodat(real_dir.as_raw_fd(), name.as_ptr(), mode, 0);
    }
    let (uid, gid) = (d.uid.unwrap_or(0), d.gid.unwrap_or(0));
    // SAFETY: as above; AT_SYMLINK_NOFOLLOW never follows a swapped-in link.
    let r = unsafe {
        libc::fchownat(
            real_dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(Error::sys(format!("chown {}", d.path), Errno::last()));
    }
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx and, when the host has one, /dev/core.
pub fn create_symlinks(root: BorrowedFd<'_>) -> Result<()> {
    let dev = crate::rootfs::resolve::openat2_in_root(
        root,
        Path::new("/dev"),
        libc::O_RDONLY | libc::O_DIRECTORY,
    )
    .map_err(|e| Error::sys("opening /dev in the container", e))?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        let t = CString::new(target).unwrap();
        let n = CString::new(name).unwrap();
        // SAFETY: valid dirfd and strings.
        if unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) } != 0
            && Errno::last() != Errno::EEXIST
        {
            return Err(Error::sys(format!("creating /dev/{name}"), Errno::last()));
        }
    }
    // /dev/ptmx must be the devpts instance of this container.
    let ptmx = CString::new("ptmx").unwrap();
    let target = CString::new("pts/ptmx").unwrap();
    // SAFETY: as above.
    unsafe {
        libc::unlinkat(dev.as_raw_fd(), ptmx.as_ptr(), 0);
        if libc::symlinkat(target.as_ptr(), dev.as_raw_fd(), ptmx.as_ptr()) != 0 {
            return Err(Error::sys("creating /dev/ptmx", Errno::last()));
        }
    }
    Ok(())
}
