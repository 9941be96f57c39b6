//! Directory trees handled through directory file descriptors, one name at a time, never
//! following a symlink: the primitives of layer extraction (`diff::extract`), snapshot
//! removal and copying (`snapshots`), and disk usage.
//!
//! Every operation takes a single path component relative to an open directory, so a
//! symlink anywhere in a tree cannot redirect it elsewhere; removal also refuses to cross
//! into another filesystem (a mount left inside a snapshot is never emptied).

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a name"))
}

/// What a name in a directory is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

pub fn kind_of(st: &libc::stat) -> Kind {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFREG => Kind::File,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// An open directory.
pub struct Dir(OwnedFd);

impl Dir {
    /// Opens a directory we trust by path (a snapshot root, a temp dir).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let p = cstr(path.as_os_str().as_bytes())?;
        // SAFETY: plain open(2) of a NUL-terminated path.
        let fd = cvt(unsafe {
            libc::open(
                p.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fd was just opened and is owned by nobody else.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// A child directory; fails (ELOOP or ENOTDIR) when `name` is a symlink or not a directory.
    pub fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        // SAFETY: openat(2) relative to our fd.
        let fd = cvt(unsafe {
            libc::openat(
                self.fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fresh fd.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens a regular file for reading without following a symlink.
    pub fn open_file(&self, name: &CStr) -> io::Result<File> {
        // SAFETY: openat(2) relative to our fd.
        let fd = cvt(unsafe {
            libc::openat(
                self.fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fresh fd.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Creates a new regular file (never an existing one, never through a symlink).
    pub fn create_file(&self, name: &CStr, mode: u32) -> io::Result<File> {
        // SAFETY: openat(2) relative to our fd.
        let fd = cvt(unsafe {
            libc::openat(
                self.fd(),
                name.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                mode as libc::c_uint,
            )
        })?;
        // SAFETY: fresh fd.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    pub fn stat(&self) -> io::Result<libc::stat> {
        // SAFETY: fstat(2) into a zeroed struct.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            cvt(libc::fstat(self.fd(), &mut st))?;
            Ok(st)
        }
    }

    /// lstat of a child; Ok(None) when it does not exist.
    pub fn lstat(&self, name: &CStr) -> io::Result<Option<libc::stat>> {
        // SAFETY: fstatat(2) into a zeroed struct.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            match cvt(libc::fstatat(
                self.fd(),
                name.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )) {
                Ok(_) => Ok(Some(st)),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    pub fn mkdir(&self, name: &CStr, mode: u32) -> io::Result<()> {
        // SAFETY: mkdirat(2).
        cvt(unsafe { libc::mkdirat(self.fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    pub fn symlink(&self, target: &CStr, name: &CStr) -> io::Result<()> {
        // SAFETY: symlinkat(2); the target is stored, never resolved.
        cvt(unsafe { libc::symlinkat(target.as_ptr(), self.fd(), name.as_ptr()) }).map(drop)
    }

    pub fn readlink(&self, name: &CStr) -> io::Result<CString> {
        let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
        // SAFETY: readlinkat(2) into a buffer of the given size.
        let n = unsafe {
            libc::readlinkat(self.fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        cstr(&buf)
    }

    pub fn mknod(&self, name: &CStr, mode: u32, dev: u64) -> io::Result<()> {
        // SAFETY: mknodat(2).
        cvt(unsafe {
            libc::mknodat(
                self.fd(),
                name.as_ptr(),
                mode as libc::mode_t,
                dev as libc::dev_t,
            )
        })
        .map(drop)
    }

    /// A hard link `name` here to `old_name` in `old_dir` (a symlink is linked, not followed).
    pub fn link(&self, old_dir: &Dir, old_name: &CStr, name: &CStr) -> io::Result<()> {
        // SAFETY: linkat(2) without AT_SYMLINK_FOLLOW.
        cvt(unsafe { libc::linkat(old_dir.fd(), old_name.as_ptr(), self.fd(), name.as_ptr(), 0) })
            .map(drop)
    }

    pub fn unlink(&self, name: &CStr, dir: bool) -> io::Result<()> {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: unlinkat(2).
        cvt(unsafe { libc::unlinkat(self.fd(), name.as_ptr(), flags) }).map(drop)
    }

    pub fn rename(&self, old: &CStr, new: &CStr) -> io::Result<()> {
        // SAFETY: renameat(2) within one directory.
        cvt(unsafe { libc::renameat(self.fd(), old.as_ptr(), self.fd(), new.as_ptr()) }).map(drop)
    }

    pub fn chown(&self, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: fchownat(2), not following a symlink.
        cvt(unsafe {
            libc::fchownat(
                self.fd(),
                name.as_ptr(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    /// chmod of a child that the caller knows is not a symlink (symlinks have no mode).
    pub fn chmod(&self, name: &CStr, mode: u32) -> io::Result<()> {
        // SAFETY: fchmodat(2).
        cvt(unsafe { libc::fchmodat(self.fd(), name.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
    }

    /// Sets atime and mtime (seconds, nanoseconds) without following a symlink.
    pub fn set_times(&self, name: &CStr, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
        let ts = [
            libc::timespec {
                tv_sec: atime.0 as libc::time_t,
                tv_nsec: atime.1 as _,
            },
            libc::timespec {
                tv_sec: mtime.0 as libc::time_t,
                tv_nsec: mtime.1 as _,
            },
        ];
        // SAFETY: utimensat(2) with two timespecs.
        cvt(unsafe {
            libc::utimensat(
                self.fd(),
                name.as_ptr(),
                ts.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    /// `/proc/self/fd/<fd>/<name>`: names exactly this directory's child, for the calls
    /// that have no *at form (xattrs). The last component is never followed by the l*
    /// calls used with it.
    fn proc_path(&self, name: &CStr) -> io::Result<CString> {
        let mut p = format!("/proc/self/fd/{}/", self.fd()).into_bytes();
        p.extend_from_slice(name.to_bytes());
        cstr(&p)
    }

    pub fn set_xattr(&self, name: &CStr, key: &CStr, value: &[u8]) -> io::Result<()> {
        let p = self.proc_path(name)?;
        // SAFETY: lsetxattr(2) with a NUL-terminated path and key and a sized value.
        cvt(unsafe {
            libc::lsetxattr(
                p.as_ptr(),
                key.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        })
        .map(drop)
    }

    /// The extended attributes of a child (none when the filesystem has none).
    pub fn xattrs(&self, name: &CStr) -> io::Result<Vec<(CString, Vec<u8>)>> {
        let p = self.proc_path(name)?;
        let mut names = vec![0u8; 4096];
        // SAFETY: llistxattr(2) into a sized buffer.
        let n = unsafe { libc::llistxattr(p.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOTSUP) => Ok(Vec::new()),
                _ => Err(e),
            };
        }
        names.truncate(n as usize);
        let mut out = Vec::new();
        for key in names.split(|b| *b == 0).filter(|k| !k.is_empty()) {
            let key = cstr(key)?;
            let mut val = vec![0u8; 65536];
            // SAFETY: lgetxattr(2) into a sized buffer.
            let n = unsafe {
                libc::lgetxattr(p.as_ptr(), key.as_ptr(), val.as_mut_ptr().cast(), val.len())
            };
            if n >= 0 {
                val.truncate(n as usize);
                out.push((key, val));
            }
        }
        Ok(out)
    }

    /// The names in this directory (without `.` and `..`).
    pub fn entries(&self) -> io::Result<Vec<CString>> {
        // SAFETY: fdopendir takes ownership of a dup of our fd; closedir releases it.
        unsafe {
            let dup = cvt(libc::fcntl(self.fd(), libc::F_DUPFD_CLOEXEC, 0))?;
            let d = libc::fdopendir(dup);
            if d.is_null() {
                let e = io::Error::last_os_error();
                libc::close(dup);
                return Err(e);
            }
            libc::rewinddir(d);
            let mut out = Vec::new();
            loop {
                *libc::__errno_location() = 0;
                let ent = libc::readdir64(d);
                if ent.is_null() {
                    let err = *libc::__errno_location();
                    libc::closedir(d);
                    if err != 0 {
                        return Err(io::Error::from_raw_os_error(err));
                    }
                    break;
                }
                let name = CStr::from_ptr((*ent).d_name.as_ptr());
                let b = name.to_bytes();
                if b != b"." && b != b".." {
                    out.push(name.to_owned());
                }
            }
            Ok(out)
        }
    }

    /// Removes `name` and everything under it, never following a symlink and never
    /// descending into another filesystem (that is an error instead). Missing is fine.
    pub fn remove_all(&self, name: &CStr) -> io::Result<()> {
        let Some(st) = self.lstat(name)? else {
            return Ok(());
        };
        if kind_of(&st) != Kind::Dir {
            return match self.unlink(name, false) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
                r => r,
            };
        }
        let dev = self.stat()?.st_dev;
        if st.st_dev != dev {
            return Err(io::Error::other(format!(
                "{} is a mount point; refusing to remove what is mounted there",
                name.to_string_lossy()
            )));
        }
        let child = self.open_dir(name)?;
        for e in child.entries()? {
            child.remove_all(&e)?;
        }
        drop(child);
        match self.unlink(name, true) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            r => r,
        }
    }
}

/// Removes a directory tree by path (the last component is not followed; see
/// [`Dir::remove_all`]). Missing is fine.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot remove a root",
        ));
    };
    match Dir::open(parent) {
        Ok(d) => d.remove_all(&cstr(name.as_bytes())?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Disk usage of a tree, as containerd counts it: 512-byte blocks of each inode once, and
/// the number of distinct inodes (the root included).
pub fn usage(path: &Path) -> io::Result<(i64, i64)> {
    fn walk(d: &Dir, seen: &mut HashMap<(u64, u64), ()>, size: &mut i64) -> io::Result<()> {
        for name in d.entries()? {
            let Some(st) = d.lstat(&name)? else { continue };
            if seen.insert((st.st_dev, st.st_ino), ()).is_none() {
                *size += st.st_blocks * 512;
            }
            if kind_of(&st) == Kind::Dir {
                walk(&d.open_dir(&name)?, seen, size)?;
            }
        }
        Ok(())
    }
    let root = Dir::open(path)?;
    let st = root.stat()?;
    let mut seen = HashMap::new();
    seen.insert((st.st_dev, st.st_ino), ());
    let mut size = st.st_blocks * 512;
    walk(&root, &mut seen, &mut size)?;
    Ok((size, seen.len() as i64))
}

/// Copies the contents of `src` into the existing directory `dst`, keeping file types,
/// owners, modes (setuid included), times, xattrs and hard links; symlinks are copied as
/// links. Used by the native snapshotter to start a snapshot from its parent.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let s = Dir::open(src)?;
    let d = Dir::open(dst)?;
    let mut links = HashMap::new();
    copy_dir(&s, &d, &d, Vec::new(), &mut links)?;
    let st = s.stat()?;
    copy_meta_fd(&d, &st)?;
    Ok(())
}

type Links = HashMap<(u64, u64), Vec<Vec<u8>>>;

fn copy_meta_fd(d: &Dir, st: &libc::stat) -> io::Result<()> {
    // SAFETY: fchown/fchmod/futimens on our own fd.
    unsafe {
        cvt(libc::fchown(d.fd(), st.st_uid, st.st_gid))?;
        cvt(libc::fchmod(d.fd(), st.st_mode & 0o7777))?;
        let ts = [
            libc::timespec {
                tv_sec: st.st_atime,
                tv_nsec: st.st_atime_nsec,
            },
            libc::timespec {
                tv_sec: st.st_mtime,
                tv_nsec: st.st_mtime_nsec,
            },
        ];
        cvt(libc::futimens(d.fd(), ts.as_ptr()))?;
    }
    Ok(())
}

/// Copies `s` into `d`; `top` is the destination root (hard links name paths from there).
fn copy_dir(s: &Dir, d: &Dir, top: &Dir, rel: Vec<u8>, links: &mut Links) -> io::Result<()> {
    for name in s.entries()? {
        let Some(st) = s.lstat(&name)? else { continue };
        let mut path = rel.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.to_bytes());
        let kind = kind_of(&st);
        if kind != Kind::Dir && st.st_nlink > 1 {
            if let Some(first) = links.get(&(st.st_dev, st.st_ino)).and_then(|v| v.first()) {
                let (dir, base) = open_parent(top, first)?;
                d.link(&dir, &base, &name)?;
                continue;
            }
            links
                .entry((st.st_dev, st.st_ino))
                .or_default()
                .push(path.clone());
        }
        match kind {
            Kind::Dir => {
                d.mkdir(&name, 0o700)?;
                let (sc, dc) = (s.open_dir(&name)?, d.open_dir(&name)?);
                copy_dir(&sc, &dc, top, path, links)?;
                copy_xattrs(s, d, &name);
                copy_meta_fd(&dc, &st)?;
                continue;
            }
            Kind::File => {
                let mut from = s.open_file(&name)?;
                let mut to = d.create_file(&name, 0o600)?;
                io::copy(&mut from, &mut to)?;
            }
            Kind::Symlink => d.symlink(&s.readlink(&name)?, &name)?,
            Kind::Other => d.mknod(&name, st.st_mode, st.st_rdev)?,
        }
        d.chown(&name, st.st_uid, st.st_gid)?;
        if kind != Kind::Symlink {
            d.chmod(&name, st.st_mode & 0o7777)?;
        }
        copy_xattrs(s, d, &name);
        d.set_times(
            &name,
            (st.st_atime, st.st_atime_nsec),
            (st.st_mtime, st.st_mtime_nsec),
        )?;
    }
    Ok(())
}

fn copy_xattrs(s: &Dir, d: &Dir, name: &CStr) {
    for (k, v) in s.xattrs(name).unwrap_or_default() {
        if let Err(e) = d.set_xattr(name, &k, &v) {
            tracing::debug!(xattr = %k.to_string_lossy(), error = %e, "xattr not copied");
        }
    }
}

/// Opens the parent of a relative path (one we made ourselves) under `root`, component by
/// component without following links.
fn open_parent(root: &Dir, rel: &[u8]) -> io::Result<(Dir, CString)> {
    let parts: Vec<&[u8]> = rel.split(|b| *b == b'/').collect();
    let (last, dirs) = parts.split_last().expect("non-empty path");
    let mut cur = root.open_dir(c".")?;
    for p in dirs {
        cur = cur.open_dir(&cstr(p)?)?;
    }
    Ok((cur, cstr(last)?))
}

/// A path's last component as a C string.
pub fn name_of(path: &Path) -> io::Result<CString> {
    cstr(path.file_name().unwrap_or(OsStr::new(".")).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn remove_all_never_follows_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let tree = t.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/b/link2")).unwrap();
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").exists());
        remove_tree(&tree).unwrap();
    }

    #[test]
    fn copy_keeps_types_modes_links_and_times() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("s"), t.path().join("d"));
        std::fs::create_dir_all(src.join("dir/sub")).unwrap();
        std::fs::write(src.join("dir/f"), "data").unwrap();
        std::fs::set_permissions(src.join("dir/f"), PermissionsExt::from_mode(0o4755)).unwrap();
        std::fs::hard_link(src.join("dir/f"), src.join("hl")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("ln")).unwrap();
        std::fs::set_permissions(src.join("dir"), PermissionsExt::from_mode(0o1777)).unwrap();
        std::fs::create_dir(&dst).unwrap();
        copy_tree(&src, &dst).unwrap();
        let f = std::fs::metadata(dst.join("dir/f")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o4755);
        assert_eq!(std::fs::read(dst.join("hl")).unwrap(), b"data");
        assert_eq!(std::fs::metadata(dst.join("hl")).unwrap().ino(), f.ino());
        assert_eq!(
            std::fs::read_link(dst.join("ln")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            std::fs::metadata(dst.join("dir")).unwrap().mode() & 0o7777,
            0o1777
        );
        assert_eq!(
            std::fs::metadata(dst.join("dir/f")).unwrap().mtime(),
            std::fs::metadata(src.join("dir/f")).unwrap().mtime()
        );
        let (size, inodes) = usage(&dst).unwrap();
        assert!(size > 0);
        // d, dir, sub, f(=hl), ln
        assert_eq!(inodes, 5);
    }
}
