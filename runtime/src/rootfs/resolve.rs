//! Resolving paths inside the container's root without ever leaving it.
//!
//! Every mount destination and device path is looked up with openat2(RESOLVE_IN_ROOT):
//! a symlink to `/` or `../../..` inside the rootfs resolves to the rootfs itself, never to
//! the host (CVE-2021-30465 and its relatives). The result is an O_PATH descriptor, and
//! mounts then target `/proc/self/fd/N`, so nothing can swap the path between the check
//! and the mount.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Result};

/// What to create at the end of the path when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Dir,
    File,
}

/// openat2(2) relative to `root`, confined to it.
pub fn openat2_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
) -> std::result::Result<OwnedFd, Errno> {
    let rel = relative(path);
    let c = CString::new(rel.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: open_how is plain data; all-zero is valid and the fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: how is a valid open_how and c a NUL-terminated path.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            // SAFETY: the kernel returned a new descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as i32) });
        }
        match Errno::last() {
            // The kernel asks for a retry when a rename raced the lookup.
            Errno::EAGAIN => continue,
            e => return Err(e),
        }
    }
}

/// `path` with its leading `/` and any `.` removed; `..` is kept (the kernel confines it).
fn relative(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Opens `path` inside `root` as O_PATH, creating missing directories on the way and,
/// per `create`, the last component. Dangling symlinks on the way are followed (inside
/// the root) and their targets created, as `mkdir -p` in a chroot would.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, create: Create) -> Result<OwnedFd> {
    let fail = |e: Errno| {
        Error::sys(
            format!("resolving {} inside the container root", path.display()),
            e,
        )
    };
    match openat2_in_root(root, path, libc::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) if create != Create::Nothing => {}
        Err(e) => return Err(fail(e)),
    }
    let mut pending: std::collections::VecDeque<PathBuf> = relative(path)
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut cur = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == Path::new(".") {
            continue;
        }
        if part == Path::new("..") {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        let last = pending.is_empty();
        match openat2_in_root(root, &next, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => {
                let st = nix::sys::stat::fstat(std::os::fd::AsFd::as_fd(&fd)).map_err(fail)?;
                if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                    links += 1;
                    if links > 40 {
                        return Err(fail(Errno::ELOOP));
                    }
                    let target =
                        nix::fcntl::readlinkat(std::os::fd::AsFd::as_fd(&fd), "").map_err(fail)?;
                    let target = PathBuf::from(target);
                    if target.is_absolute() {
                        cur = PathBuf::new();
                    }
                    for c in target.components().rev() {
                        match c {
                            Component::RootDir | Component::Prefix(_) => {}
                            other => pending.push_front(PathBuf::from(other.as_os_str())),
                        }
                    }
                } else {
                    cur = next;
                }
            }
            Err(Errno::ENOENT) => {
                let parent = openat2_in_root(
                    root,
                    if cur.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        &cur
                    },
                    libc::O_PATH | libc::O_DIRECTORY,
                )
                .map_err(fail)?;
                let cname = CString::new(part.as_os_str().as_encoded_bytes())
                    .map_err(|_| fail(Errno::EINVAL))?;
                if last && create == Create::File {
                    // SAFETY: valid dirfd and NUL-terminated name; O_NOFOLLOW keeps us off symlinks.
                    let fd = unsafe {
                        libc::openat(
                            parent.as_raw_fd(),
                            cname.as_ptr(),
                            libc::O_CREAT
                                | libc::O_EXCL
                                | libc::O_NOFOLLOW
                                | libc::O_WRONLY
                                | libc::O_CLOEXEC,
                            0o644,
                        )
                    };
                    if fd < 0 && Errno::last() != Errno::EEXIST {
                        return Err(fail(Errno::last()));
                    }
                    if fd >= 0 {
                        // SAFETY: fd is ours.
                        drop(unsafe { OwnedFd::from_raw_fd(fd) });
                    }
                } else {
                    // SAFETY: as above.
                    let r = unsafe { libc::mkdirat(parent.as_raw_fd(), cname.as_ptr(), 0o755) };
                    if r < 0 && Errno::last() != Errno::EEXIST {
                        return Err(fail(Errno::last()));
                    }
                }
                cur = next;
            }
            Err(e) => return Err(fail(e)),
        }
    }
    openat2_in_root(
        root,
        if cur.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &cur
        },
        libc::O_PATH,
    )
    .map_err(fail)
}

/// The path that names an open descriptor, for syscalls that only take paths (mount).
pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let fd = nix::fcntl::open(
            dir.path(),
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        (dir, fd)
    }

    fn real(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd)).unwrap()
    }

    #[test]
    fn creates_missing_dirs_and_files() {
        let (dir, fd) = root();
        let d = open_in_root(fd.as_fd(), Path::new("/a/b/c"), Create::Dir).unwrap();
        assert_eq!(real(&d), dir.path().join("a/b/c"));
        let f = open_in_root(fd.as_fd(), Path::new("/etc/hosts"), Create::File).unwrap();
        assert_eq!(real(&f), dir.path().join("etc/hosts"));
        assert!(dir.path().join("etc/hosts").is_file());
    }

    #[test]
    fn symlinks_out_of_the_root_stay_inside() {
        let (dir, fd) = root();
        let outside = tempfile::tempdir().unwrap();
        symlink("/", dir.path().join("to_root")).unwrap();
        symlink("../../../../../..", dir.path().join("up")).unwrap();
        symlink(outside.path(), dir.path().join("abs")).unwrap();
        let a = open_in_root(fd.as_fd(), Path::new("/to_root/x"), Create::Dir).unwrap();
        assert_eq!(real(&a), dir.path().join("x"));
        let b = open_in_root(fd.as_fd(), Path::new("/up/y"), Create::File).unwrap();
        assert_eq!(real(&b), dir.path().join("y"));
        let c = open_in_root(fd.as_fd(), Path::new("/abs/z"), Create::Dir).unwrap();
        assert!(real(&c).starts_with(dir.path()), "{:?}", real(&c));
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_without_create_is_enoent() {
        let (_dir, fd) = root();
        let err = open_in_root(fd.as_fd(), Path::new("/nope"), Create::Nothing).unwrap_err();
        assert!(err.to_string().contains("ENOENT"), "{err}");
    }
}
