//! Files in and out of containers (`docker cp`: stat, tar of a path, extraction of a
//! tar into a directory), the rootfs's changes against its image (`docker diff`) and
//! the whole rootfs as one tar (`docker export`).
//!
//! Every container path is resolved here, component by component, with symlinks
//! evaluated inside the container's root (an absolute link starts again at the
//! container's `/`, `..` stops at it) and volumes and binds mapped to their host
//! sources, as Docker does: nothing a container holds can point a copy at the host.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::CString;
use std::fs;
use std::io::{self, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use engine_api::containers::{Change, PathStat};
use tokio::sync::{mpsc, oneshot};

use super::{Container, Daemon, random_id};
use crate::error::{Error, Result};

/// Symlinks followed in one resolution before giving up (Linux's own limit).
const MAX_SYMLINKS: usize = 40;

/// What a view of a container's filesystem is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Stat and tar: the running container's live root, or the snapshot mounted read-only.
    Read,
    /// Extraction: the live root, or the snapshot mounted read-write (stopped only).
    Write,
    /// The rootfs alone (no volumes, binds or runtime mounts), read-only.
    Export,
}

/// A mount inside the container that copies honour: a path under `dest` is `source`'s.
#[derive(Debug, Clone)]
struct MountMap {
    dest: Vec<String>,
    source: PathBuf,
    rw: bool,
}

/// A container's filesystem as the engine reaches it.
struct View {
    root: PathBuf,
    mounts: Vec<MountMap>,
    /// Directories on another device than `root` are the runtime's mounts (`/proc`,
    /// `/sys`, tmpfs) when `root` is the live one: a tar does not descend into them.
    root_dev: u64,
    live: bool,
    /// The live root, opened: operations go through `openat2(RESOLVE_IN_ROOT)` on it.
    root_fd: Option<OwnedFd>,
    _mount: Option<TempMount>,
}

/// A host path for one operation on a container path, and what keeps it valid.
struct SafePath {
    path: PathBuf,
    _parent: Option<OwnedFd>,
}

impl std::ops::Deref for SafePath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for SafePath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Opens the directory `rel` of the tree at `root` with every symlink resolved by the
/// kernel as if `root` were `/`.
fn open_in_root(root: &OwnedFd, rel: &str) -> io::Result<OwnedFd> {
    let path = CString::new(rel).map_err(io::Error::other)?;
    // SAFETY: an all-zero open_how is valid; the fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a valid directory fd, C string and open_how of its size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `open(path, O_PATH | O_DIRECTORY)`, following the path (the live root's magic link).
fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)?;
    Ok(file.into())
}

/// A mount made for one request; unmounted and removed when dropped.
struct TempMount {
    path: PathBuf,
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if let Ok(p) = CString::new(self.path.as_os_str().as_bytes()) {
            // SAFETY: umount2 with a valid C string.
            if unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) } != 0 {
                tracing::warn!(
                    "unmounting {}: {}",
                    self.path.display(),
                    io::Error::last_os_error()
                );
            }
        }
        let _ = fs::remove_dir(&self.path);
    }
}

/// Splits a container path into its components, dropping empty ones and `.`.
fn split(path: &str) -> VecDeque<String> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_owned)
        .collect()
}

fn container_path(comps: &[String]) -> String {
    format!("/{}", comps.join("/"))
}

impl View {
    /// Where to operate on the resolved container path `comps`. While the container
    /// runs it can swap a directory we checked for a symlink to `/` at any moment;
    /// through the live root the parent is therefore opened with
    /// `openat2(RESOLVE_IN_ROOT)`, so the kernel itself keeps every link inside the
    /// container, and the operation names only the last component below that
    /// descriptor (and never follows it). A stopped container's mounted snapshot
    /// cannot change under us: its host path is used as is.
    fn safe_path(&self, comps: &[String]) -> io::Result<SafePath> {
        let Some(root) = &self.root_fd else {
            return Ok(SafePath {
                path: self.host_path(comps),
                _parent: None,
            });
        };
        let Some((base, parent)) = comps.split_last() else {
            return Ok(SafePath {
                path: PathBuf::from(format!("/proc/self/fd/{}", root.as_raw_fd())),
                _parent: None,
            });
        };
        let rel = if parent.is_empty() {
            ".".to_owned()
        } else {
            parent.join("/")
        };
        let fd = open_in_root(root, &rel)?;
        Ok(SafePath {
            path: PathBuf::from(format!("/proc/self/fd/{}/{base}", fd.as_raw_fd())),
            _parent: Some(fd),
        })
    }

    /// The host path of a resolved container path (its components).
    fn host_path(&self, comps: &[String]) -> PathBuf {
        match self.mount_of(comps) {
            Some(m) => {
                let mut p = m.source.clone();
                p.extend(&comps[m.dest.len()..]);
                p
            }
            None => {
                let mut p = self.root.clone();
                p.extend(comps);
                p
            }
        }
    }

    /// The innermost mount holding `comps`.
    fn mount_of(&self, comps: &[String]) -> Option<&MountMap> {
        self.mounts
            .iter()
            .filter(|m| comps.starts_with(&m.dest))
            .max_by_key(|m| m.dest.len())
    }

    /// Resolves `path` in the container: every symlink before the last component is
    /// evaluated inside the root, the last one too when `follow_last`. The last
    /// component may not exist; anything before it must.
    fn resolve(&self, path: &str, follow_last: bool) -> io::Result<Vec<String>> {
        let mut pending = split(path);
        let mut current: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            if part == ".." {
                current.pop();
                continue;
            }
            current.push(part);
            let last = pending.is_empty();
            let host = self.host_path(&current);
            let meta = match fs::symlink_metadata(&host) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound && last => return Ok(current),
                Err(e) => return Err(e),
            };
            if meta.file_type().is_symlink() && (!last || follow_last) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&host)?;
                current.pop();
                let target = target.to_string_lossy();
                if target.starts_with('/') {
                    current.clear();
                }
                let mut rest = split(&target);
                rest.extend(pending);
                pending = rest;
            } else if !last && !meta.is_dir() {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
        }
        Ok(current)
    }

    /// Whether the walk of a tar may go into the directory `comps` (see `root_dev`).
    fn descend(&self, comps: &[String], meta: &fs::Metadata) -> bool {
        !self.live || self.mount_of(comps).is_some() || meta.dev() == self.root_dev
    }
}

/// Go's `os.FileMode` of a file (what the docker CLI decodes `PathStat.mode` as).
fn go_mode(meta: &fs::Metadata) -> u32 {
    let m = meta.mode();
    let mut g = m & 0o777;
    g |= match m & libc::S_IFMT {
        libc::S_IFDIR => 1 << 31,
        libc::S_IFLNK => 1 << 27,
        libc::S_IFBLK => 1 << 26,
        libc::S_IFCHR => (1 << 26) | (1 << 21),
        libc::S_IFIFO => 1 << 25,
        libc::S_IFSOCK => 1 << 24,
        _ => 0,
    };
    if m & libc::S_ISUID != 0 {
        g |= 1 << 23;
    }
    if m & libc::S_ISGID != 0 {
        g |= 1 << 22;
    }
    if m & libc::S_ISVTX != 0 {
        g |= 1 << 20;
    }
    g
}

fn rfc3339(secs: i64, nanos: i64) -> String {
    chrono::DateTime::from_timestamp(secs, nanos.clamp(0, 999_999_999) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Standard base64 with padding (the `X-Docker-Container-Path-Stat` header).
pub fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Where a GET's path points: the stat and the tar's top entry.
struct Target {
    comps: Vec<String>,
    /// The top entry's name in the tar (the path's base name, `.` for `DIR/.`).
    name: String,
    stat: PathStat,
}

fn not_found(path: &str, container: &str) -> Error {
    Error::NotFound(format!(
        "Could not find the file {path} in container {container}"
    ))
}

fn io_err(path: &str, e: io::Error) -> Error {
    Error::io(format!("accessing {path} in the container"), e)
}

/// Docker's stat of a container path: the last component is not followed unless the
/// path ends in `/` or `/.`; a symlink's `linkTarget` is its fully resolved path.
fn locate(view: &View, path: &str, container: &str) -> Result<Target> {
    if path.is_empty() {
        return Err(Error::BadParameter("path cannot be empty".into()));
    }
    let contents = path.ends_with("/.");
    let follow = contents || path.ends_with('/');
    let comps = match view.resolve(path, follow) {
        Ok(c) => c,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Err(not_found(path, container));
        }
        Err(e) => return Err(io_err(path, e)),
    };
    let meta = match view
        .safe_path(&comps)
        .and_then(|host| fs::symlink_metadata(&host))
    {
        Ok(m) => m,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Err(not_found(path, container));
        }
        Err(e) => return Err(io_err(path, e)),
    };
    if follow && !meta.is_dir() {
        return Err(Error::BadParameter(format!("{path}: not a directory")));
    }
    let link_target = if meta.file_type().is_symlink() {
        view.resolve(path, true)
            .map(|c| container_path(&c))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let base = split(path).back().cloned();
    let name = if contents {
        ".".to_owned()
    } else {
        base.unwrap_or_else(|| "/".to_owned())
    };
    let stat = PathStat {
        name: name.clone(),
        size: meta.len() as i64,
        mode: go_mode(&meta),
        mtime: rfc3339(meta.mtime(), meta.mtime_nsec()),
        link_target,
    };
    let name = if name == "/" { ".".to_owned() } else { name };
    Ok(Target { comps, name, stat })
}

/// A `Write` that feeds a streaming response in 64 KiB pieces; fails once the client
/// is gone, which ends the walk.
struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    const CHUNK: usize = 64 << 10;
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client hung up"))
    }
}

/// The first tar name of each multiply-linked file, by (device, inode): later names
/// become hard-link entries (busybox's `/bin` is hundreds of names of one file).
type Links = std::collections::HashMap<(u64, u64), String>;

/// Appends `comps` to `tar` as `name`, and a directory's content below it (sorted,
/// symlinks kept as links, hard links once, sockets left out as Docker does).
fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    view: &View,
    comps: &mut Vec<String>,
    name: &str,
    top: bool,
    links: &mut Links,
) -> io::Result<()> {
    let host = view.safe_path(comps)?;
    let meta = fs::symlink_metadata(&host)?;
    let ft = meta.file_type();
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    if ft.is_symlink() {
        let target = fs::read_link(&host)?;
        header.set_size(0);
        tar.append_link(&mut header, name, target)?;
        return Ok(());
    }
    if ft.is_file() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            tar.append_link(&mut header, name, first)?;
            return Ok(());
        }
        links.insert((meta.dev(), meta.ino()), name.to_owned());
    }
    if ft.is_file() {
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&host)?;
        tar.append_data(&mut header, name, file)?;
        return Ok(());
    }
    if !ft.is_dir() {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_socket() {
            return Ok(());
        }
        header.set_size(0);
        tar.append_data(&mut header, name, io::empty())?;
        return Ok(());
    }
    header.set_size(0);
    let dir_name = if name.ends_with('/') {
        name.to_owned()
    } else {
        format!("{name}/")
    };
    tar.append_data(&mut header, &dir_name, io::empty())?;
    if !top && !view.descend(comps, &meta) {
        return Ok(());
    }
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(&host)?;
    let mut children: Vec<String> = fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    children.sort();
    for child in children {
        comps.push(child.clone());
        let child_name = if dir_name == "./" {
            child.clone()
        } else {
            format!("{dir_name}{child}")
        };
        let r = append_tree(tar, view, comps, &child_name, false, links);
        comps.pop();
        match r {
            Ok(()) => {}
            // Gone since the listing (a running container changes its files).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A tar entry's name with `.` and empty parts gone; `None` when `..` would leave the
/// extraction directory.
fn clean_entry(name: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p.to_owned()),
        }
    }
    Some(out)
}

fn breakout(what: String) -> Error {
    Error::BadParameter(format!("refusing the archive: {what}"))
}

/// Checks every entry of the archive before anything is written: names and hard-link
/// targets stay inside the destination, relative symlinks do not climb out of it.
fn validate_archive(file: &mut fs::File) -> Result<()> {
    let mut archive = tar::Archive::new(&mut *file);
    let entries = archive
        .entries()
        .map_err(|e| Error::BadParameter(format!("reading the archive: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::BadParameter(format!("reading the archive: {e}")))?;
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let Some(comps) = clean_entry(&name) else {
            return Err(breakout(format!(
                "{name:?} is outside of the destination directory"
            )));
        };
        let kind = entry.header().entry_type();
        if kind.is_hard_link() || kind.is_symlink() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let escapes = if kind.is_hard_link() {
                clean_entry(&link).is_none()
            } else if link.starts_with('/') {
                false
            } else {
                let parent = comps[..comps.len().saturating_sub(1)].join("/");
                clean_entry(&format!("{parent}/{link}")).is_none()
            };
            if escapes {
                return Err(breakout(format!(
                    "invalid {} {name:?} -> {link:?}",
                    if kind.is_hard_link() {
                        "hardlink"
                    } else {
                        "symlink"
                    }
                )));
            }
        }
    }
    file.rewind()
        .map_err(|e| Error::io("rewinding the archive", e))?;
    Ok(())
}

/// How an extraction goes (the PUT's query).
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    pub no_overwrite_dir_non_dir: bool,
    /// Own every entry by this uid:gid (the container's user) instead of the tar's.
    pub owner: Option<(u32, u32)>,
    pub readonly_rootfs: bool,
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// Extracts a validated archive into the container directory `dest` (resolved).
fn extract(view: &View, dest: &[String], file: &mut fs::File, opts: &ExtractOptions) -> Result<()> {
    let check_writable = |comps: &[String]| -> Result<()> {
        match view.mount_of(comps) {
            Some(m) if !m.rw => Err(Error::Forbidden(
                "mounted volume is marked read-only".into(),
            )),
            None if opts.readonly_rootfs => Err(Error::Forbidden(
                "container rootfs is marked read-only".into(),
            )),
            _ => Ok(()),
        }
    };
    check_writable(dest)?;
    let dest_path = container_path(dest);
    let mut archive = tar::Archive::new(file);
    let mut dir_times: Vec<(Vec<String>, i64)> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| Error::BadParameter(format!("reading the archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| Error::BadParameter(format!("reading the archive: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = clean_entry(&name) else {
            return Err(breakout(format!("{name:?} is outside of the destination")));
        };
        let Some((base, parents)) = rel.split_last() else {
            continue;
        };
        let parent = ensure_dir(view, &format!("{dest_path}/{}", parents.join("/")))?;
        check_writable(&parent)?;
        let mut comps = parent.clone();
        comps.push(base.clone());
        let shown = container_path(&comps);
        let host = view
            .safe_path(&comps)
            .map_err(|e| Error::io(format!("extracting {shown}"), e))?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let existing = fs::symlink_metadata(&host).ok();
        let fail = |e: io::Error| Error::io(format!("extracting {shown}"), e);
        if kind.is_dir() {
            match &existing {
                Some(m) if m.is_dir() => {}
                Some(_) if opts.no_overwrite_dir_non_dir => {
                    return Err(Error::BadParameter(format!(
                        "cannot overwrite non-directory {shown:?} with directory {name:?}"
                    )));
                }
                Some(_) => {
                    fs::remove_file(&host).map_err(fail)?;
                    fs::create_dir(&host).map_err(fail)?;
                }
                None => fs::create_dir(&host).map_err(fail)?,
            }
        } else {
            match &existing {
                Some(m) if m.is_dir() => {
                    if opts.no_overwrite_dir_non_dir {
                        return Err(Error::BadParameter(format!(
                            "cannot overwrite directory {shown:?} with non-directory {name:?}"
                        )));
                    }
                    fs::remove_dir_all(&host).map_err(fail)?;
                }
                Some(_) => fs::remove_file(&host).map_err(fail)?,
                None => {}
            }
            if kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse() {
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .mode(0o600)
                    .open(&host)
                    .map_err(fail)?;
                io::copy(&mut entry, &mut out).map_err(fail)?;
                // Through the open file: the name may point elsewhere by now.
                let (uid, gid) = owner_of(&header, opts);
                std::os::unix::fs::fchown(&out, Some(uid), Some(gid)).map_err(fail)?;
                out.set_permissions(fs::Permissions::from_mode(mode_of(&header)))
                    .map_err(fail)?;
            } else if kind.is_symlink() {
                let link = entry.link_name().map_err(fail)?.unwrap_or_default();
                std::os::unix::fs::symlink(&link, &host).map_err(fail)?;
            } else if kind.is_hard_link() {
                let link = entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default();
                let target = view
                    .resolve(&format!("{dest_path}/{link}"), false)
                    .map_err(fail)?;
                let source = view.safe_path(&target).map_err(fail)?;
                fs::hard_link(&source, &host).map_err(fail)?;
            } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                let ty = if kind.is_character_special() {
                    libc::S_IFCHR
                } else if kind.is_block_special() {
                    libc::S_IFBLK
                } else {
                    libc::S_IFIFO
                };
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let p = c_path(&host).map_err(fail)?;
                // SAFETY: mknod with a valid C string.
                let r = unsafe { libc::mknod(p.as_ptr(), ty | 0o600, libc::makedev(major, minor)) };
                if r != 0 {
                    return Err(fail(io::Error::last_os_error()));
                }
            } else {
                // PAX/GNU headers are consumed by the reader; anything else is skipped.
                continue;
            }
        }
        let (uid, gid) = owner_of(&header, opts);
        if kind.is_dir() {
            // Opened without following: a symlink swapped in is refused, not chmod-ed.
            let dir = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&host)
                .map_err(fail)?;
            std::os::unix::fs::fchown(&dir, Some(uid), Some(gid)).map_err(fail)?;
            dir.set_permissions(fs::Permissions::from_mode(mode_of(&header)))
                .map_err(fail)?;
        } else if !kind.is_file() && !kind.is_hard_link() {
            std::os::unix::fs::lchown(&host, Some(uid), Some(gid)).map_err(fail)?;
            if !kind.is_symlink() {
                let p = c_path(&host).map_err(fail)?;
                // SAFETY: fchmodat with a valid C string; the last component is not followed.
                let r = unsafe {
                    libc::fchmodat(
                        libc::AT_FDCWD,
                        p.as_ptr(),
                        mode_of(&header),
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                };
                if r != 0 {
                    return Err(fail(io::Error::last_os_error()));
                }
            }
        }
        let mtime = header.mtime().unwrap_or(0) as i64;
        if kind.is_dir() {
            dir_times.push((comps, mtime));
        } else if !kind.is_hard_link() {
            set_mtime(&host, mtime).map_err(fail)?;
        }
    }
    // Last: creating the entries below a directory changed its time.
    for (comps, mtime) in dir_times.iter().rev() {
        if let Ok(host) = view.safe_path(comps) {
            let _ = set_mtime(&host, *mtime);
        }
    }
    Ok(())
}

fn owner_of(header: &tar::Header, opts: &ExtractOptions) -> (u32, u32) {
    opts.owner.unwrap_or((
        header.uid().unwrap_or(0) as u32,
        header.gid().unwrap_or(0) as u32,
    ))
}

fn mode_of(header: &tar::Header) -> u32 {
    header.mode().unwrap_or(0o644) & 0o7777
}

fn set_mtime(path: &Path, secs: i64) -> io::Result<()> {
    let p = c_path(path)?;
    let t = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: utimensat with a valid C string and two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            p.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resolves the container directory `path`, creating what is missing of it (as a
/// tar's implied parents); a non-directory in the way is an error.
fn ensure_dir(view: &View, path: &str) -> Result<Vec<String>> {
    let comps = view
        .resolve(path, true)
        .map_err(|e| Error::io(format!("resolving {path} in the container"), e))?;
    let host = view
        .safe_path(&comps)
        .map_err(|e| Error::io(format!("resolving {path} in the container"), e))?;
    match fs::symlink_metadata(&host) {
        Ok(m) if m.is_dir() => Ok(comps),
        Ok(_) => Err(Error::BadParameter(format!(
            "{} is not a directory",
            container_path(&comps)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = container_path(&comps[..comps.len().saturating_sub(1)]);
            let parent = ensure_dir(view, &parent)?;
            let mut again = parent;
            again.push(comps.last().cloned().unwrap_or_default());
            let host = view
                .safe_path(&again)
                .map_err(|e| Error::io(format!("creating {}", container_path(&again)), e))?;
            match fs::create_dir(&host) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::io(format!("creating {}", container_path(&again)), e));
                }
            }
            Ok(again)
        }
        Err(e) => Err(Error::io(format!("resolving {path} in the container"), e)),
    }
}

/// The overlay's layers of a snapshot's mounts: (upper, lowers, other options).
struct Layers {
    upper: Option<PathBuf>,
    lowers: Vec<PathBuf>,
    work: Option<PathBuf>,
    extra: Vec<String>,
    /// A snapshot without parents is a plain directory (a bind mount).
    plain: Option<PathBuf>,
}

fn layers(mounts: &[myproto::containerd::types::Mount]) -> Result<Layers> {
    let [m] = mounts else {
        return Err(Error::io(
            "reading the container's snapshot",
            io::Error::other(format!("{} mounts, expected one", mounts.len())),
        ));
    };
    let mut l = Layers {
        upper: None,
        lowers: Vec::new(),
        work: None,
        extra: Vec::new(),
        plain: None,
    };
    if m.r#type == "bind" {
        l.plain = Some(PathBuf::from(&m.source));
        return Ok(l);
    }
    if m.r#type != "overlay" {
        return Err(Error::io(
            "reading the container's snapshot",
            io::Error::other(format!("mount type {:?} is not supported", m.r#type)),
        ));
    }
    for o in &m.options {
        if let Some(v) = o.strip_prefix("upperdir=") {
            l.upper = Some(v.into());
        } else if let Some(v) = o.strip_prefix("workdir=") {
            l.work = Some(v.into());
        } else if let Some(v) = o.strip_prefix("lowerdir=") {
            l.lowers = v.split(':').map(PathBuf::from).collect();
        } else if o != "ro" && o != "rw" {
            l.extra.push(o.clone());
        }
    }
    Ok(l)
}

/// Mounts the snapshot at a fresh directory under the exec root: read-only with the
/// upper directory as the top lower layer, or read-write as the runtime would.
fn mount_snapshot(
    exec_root: &Path,
    l: &Layers,
    write: bool,
) -> Result<(PathBuf, Option<TempMount>)> {
    if let Some(p) = &l.plain {
        return Ok((p.clone(), None));
    }
    let dir = exec_root.join("archive").join(&random_id()[..16]);
    fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut opts = l.extra.clone();
    let join = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut flags = 0;
    if let (true, Some(upper), Some(work)) = (write, &l.upper, &l.work) {
        opts.push(format!("upperdir={}", upper.display()));
        opts.push(format!("workdir={}", work.display()));
        opts.push(format!("lowerdir={}", join(&l.lowers)));
    } else {
        let mut lowers: Vec<PathBuf> = l.upper.iter().cloned().collect();
        lowers.extend(l.lowers.iter().cloned());
        opts.push(format!("lowerdir={}", join(&lowers)));
        flags = libc::MS_RDONLY;
    }
    let data = opts.join(",");
    let target = c_path(&dir).map_err(|e| Error::io("mount target", e))?;
    let data_c = CString::new(data).map_err(|e| Error::io("mount options", io::Error::other(e)))?;
    // SAFETY: mount with valid C strings.
    let r = unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            target.as_ptr(),
            c"overlay".as_ptr(),
            flags,
            data_c.as_ptr().cast(),
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        let _ = fs::remove_dir(&dir);
        return Err(Error::io("mounting the container's filesystem", e));
    }
    Ok((dir.clone(), Some(TempMount { path: dir })))
}

/// The `docker diff` walk of an upper directory against its lowers.
struct ChangeWalk<'a> {
    lowers: &'a [PathBuf],
    changes: Vec<Change>,
    changed_dirs: BTreeSet<String>,
}

fn is_whiteout(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    let Ok(p) = c_path(path) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: lgetxattr into our own buffer.
    let n = unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

/// What the runtime creates in a rootfs for its own mounts. Docker keeps these in an
/// "init" layer under the container's, so `docker diff` never shows them; we create
/// them in the container's own layer and leave them out here.
const INIT_PATHS: &[&str] = &[
    "/.dockerenv",
    "/dev/console",
    "/dev/pts",
    "/dev/shm",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/proc",
    "/sys",
];

impl ChangeWalk<'_> {
    /// The file at `rel` in the nearest lower layer that has it (a whiteout there
    /// means it does not exist).
    fn lower(&self, rel: &str) -> Option<fs::Metadata> {
        for l in self.lowers {
            if let Ok(m) = fs::symlink_metadata(l.join(rel)) {
                return (!is_whiteout(&m)).then_some(m);
            }
        }
        None
    }

    fn record(&mut self, path: String, kind: u8, is_dir: bool) {
        if kind == Change::ADDED && INIT_PATHS.contains(&path.as_str()) {
            return;
        }
        if is_dir {
            self.changed_dirs.insert(path.clone());
        }
        if kind != Change::MODIFIED {
            // A file added or deleted changes its directory even when the directory's
            // own metadata looks the same (moby#13590).
            let parent = match path.rfind('/') {
                Some(0) | None => "/".to_owned(),
                Some(i) => path[..i].to_owned(),
            };
            if parent != "/" && self.changed_dirs.insert(parent.clone()) {
                self.changes.push(Change {
                    path: parent,
                    kind: Change::MODIFIED,
                });
            }
        }
        self.changes.push(Change { path, kind });
    }

    fn walk(&mut self, upper: &Path, rel: &str, hide_lower: bool) -> io::Result<()> {
        let dir = upper.join(rel);
        let mut names: Vec<String> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let path = format!("/{child}");
            let meta = fs::symlink_metadata(upper.join(&child))?;
            if is_whiteout(&meta) {
                self.record(path, Change::DELETED, false);
                continue;
            }
            let lower = if hide_lower { None } else { self.lower(&child) };
            match &lower {
                Some(l)
                    if l.is_dir()
                        && meta.is_dir()
                        && l.len() == meta.len()
                        && l.mode() == meta.mode()
                        && l.mtime() == meta.mtime()
                        && l.mtime_nsec() == meta.mtime_nsec() => {}
                Some(_) => self.record(path.clone(), Change::MODIFIED, meta.is_dir()),
                None => self.record(path.clone(), Change::ADDED, meta.is_dir()),
            }
            if meta.is_dir() {
                let opaque = !hide_lower && lower.is_some() && is_opaque(&upper.join(&child));
                if opaque {
                    // Everything the lowers had here is gone.
                    let mut gone = BTreeSet::new();
                    for l in self.lowers {
                        if let Ok(rd) = fs::read_dir(l.join(&child)) {
                            gone.extend(
                                rd.filter_map(|e| e.ok())
                                    .map(|e| e.file_name().to_string_lossy().into_owned()),
                            );
                        }
                    }
                    for g in gone {
                        if fs::symlink_metadata(upper.join(&child).join(&g)).is_err() {
                            self.record(format!("{path}/{g}"), Change::DELETED, false);
                        }
                    }
                }
                self.walk(upper, &child, hide_lower || opaque || lower.is_none())?;
            }
        }
        Ok(())
    }
}

/// `docker diff` of an upper directory against its lowers, sorted by path.
fn changes_of(upper: &Path, lowers: &[PathBuf]) -> io::Result<Vec<Change>> {
    let mut w = ChangeWalk {
        lowers,
        changes: Vec::new(),
        changed_dirs: BTreeSet::new(),
    };
    w.walk(upper, "", lowers.is_empty())?;
    let mut seen = BTreeMap::new();
    for c in w.changes {
        seen.entry(c.path.clone()).or_insert(c);
    }
    Ok(seen.into_values().collect())
}

impl Daemon {
    /// The mounts inside the container a copy honours: its volumes and bind mounts.
    fn copy_mounts(&self, c: &Container) -> Vec<MountMap> {
        let record = c.record();
        let mut points = super::spec::mount_points(&record.host_config);
        points.retain(|p| p.kind == "bind");
        points.extend(self.volume_mount_points(&record));
        points
            .into_iter()
            .map(|p| MountMap {
                dest: split(&p.destination).into(),
                source: PathBuf::from(p.source),
                rw: p.rw,
            })
            .collect()
    }

    /// Runs `f` on a view of `c`'s filesystem, in a blocking task. A stopped container
    /// is held (no start, no removal) until `f` is done, its snapshot mounted for the
    /// while; a running one is reached through its init's root.
    async fn with_view<T: Send + 'static>(
        self: &Arc<Self>,
        c: &Arc<Container>,
        access: Access,
        f: impl FnOnce(&View) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let c = c.clone();
        let daemon = self.clone();
        let _held = if c.is_running() && access != Access::Export {
            None
        } else {
            Some(c.op.lock().await)
        };
        let record = c.record();
        let live = c.is_running() && record.state.pid > 0 && access != Access::Export;
        let layers = if live {
            None
        } else {
            Some(layers(&self.images.snapshot_mounts(&c.id).await?)?)
        };
        let mounts = if access == Access::Export {
            Vec::new()
        } else {
            self.copy_mounts(&c)
        };
        let exec_root = daemon.config.exec_root.clone();
        let pid = record.state.pid;
        tokio::task::spawn_blocking(move || {
            let (root, guard) = match &layers {
                None => (PathBuf::from(format!("/proc/{pid}/root")), None),
                Some(l) => mount_snapshot(&exec_root, l, access == Access::Write)?,
            };
            let root_dev = fs::metadata(&root)
                .map_err(|e| Error::io("reaching the container's filesystem", e))?
                .dev();
            let root_fd = if live {
                Some(
                    open_dir_path(&root)
                        .map_err(|e| Error::io("reaching the container's filesystem", e))?,
                )
            } else {
                None
            };
            let view = View {
                root,
                mounts,
                root_dev,
                live,
                root_fd,
                _mount: guard,
            };
            f(&view)
        })
        .await
        .map_err(Error::Handler)?
    }

    /// `HEAD /containers/{id}/archive`.
    pub async fn stat_path(
        self: &Arc<Self>,
        c: &Arc<Container>,
        path: &str,
        reference: &str,
    ) -> Result<PathStat> {
        let (path, reference) = (path.to_owned(), reference.to_owned());
        self.with_view(c, Access::Read, move |view| {
            Ok(locate(view, &path, &reference)?.stat)
        })
        .await
    }

    /// `GET /containers/{id}/archive`: the path's stat, and its tar streaming into the
    /// returned channel (a directory under its base name, as Docker's).
    pub async fn archive_path(
        self: &Arc<Self>,
        c: &Arc<Container>,
        path: &str,
        reference: &str,
    ) -> Result<(PathStat, mpsc::Receiver<Bytes>)> {
        let (tx, rx) = mpsc::channel(16);
        let (stat_tx, stat_rx) = oneshot::channel();
        let (path, reference) = (path.to_owned(), reference.to_owned());
        let daemon = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            let r = daemon
                .with_view(&c, Access::Read, move |view| {
                    let target = match locate(view, &path, &reference) {
                        Ok(t) => t,
                        Err(e) => {
                            let _ = stat_tx.send(Err(e));
                            return Ok(());
                        }
                    };
                    if stat_tx.send(Ok(target.stat.clone())).is_err() {
                        return Ok(());
                    }
                    let mut tar = tar::Builder::new(ChannelWriter {
                        tx,
                        buf: Vec::new(),
                    });
                    tar.follow_symlinks(false);
                    let mut comps = target.comps.clone();
                    let mut links = Links::new();
                    append_tree(&mut tar, view, &mut comps, &target.name, true, &mut links)
                        .and_then(|()| tar.into_inner())
                        .and_then(|mut w| w.flush())
                        .map_err(|e| Error::io(format!("archiving {path}"), e))
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(container_id = %c.id, "copying out of the container: {e}");
            }
        });
        let stat = stat_rx.await.map_err(|_| Error::Io {
            context: "archiving the path".into(),
            source: io::Error::other("the archive task ended early"),
        })??;
        Ok((stat, rx))
    }

    /// `PUT /containers/{id}/archive`: extracts the tar spooled at `archive` into the
    /// container directory `path`, after checking every entry.
    pub async fn extract_archive(
        self: &Arc<Self>,
        c: &Arc<Container>,
        path: &str,
        reference: &str,
        archive: PathBuf,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> Result<()> {
        if path.is_empty() {
            return Err(Error::BadParameter("path cannot be empty".into()));
        }
        let record = c.record();
        let (path, reference) = (path.to_owned(), reference.to_owned());
        let user = record.config.user.clone();
        let mut opts = ExtractOptions {
            no_overwrite_dir_non_dir,
            owner: None,
            readonly_rootfs: record.host_config.readonly_rootfs,
        };
        self.with_view(c, Access::Write, move |view| {
            let mut file = fs::File::open(&archive)
                .map_err(|e| Error::io(format!("opening {}", archive.display()), e))?;
            let dest = match view.resolve(&path, true) {
                Ok(c) => c,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                    return Err(not_found(&path, &reference));
                }
                Err(e) => return Err(io_err(&path, e)),
            };
            match view.safe_path(&dest).and_then(|p| fs::metadata(&p)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::BadParameter(
                        "extraction point is not a directory".into(),
                    ));
                }
                Err(_) => return Err(not_found(&path, &reference)),
            }
            if copy_uid_gid {
                let u = myimages::rootfs::lookup_user(&view.root, &user).map_err(|e| {
                    Error::BadParameter(format!("looking up the container's user: {e}"))
                })?;
                opts.owner = Some((u.uid, u.gid));
            }
            validate_archive(&mut file)?;
            extract(view, &dest, &mut file, &opts)
        })
        .await
    }

    /// `GET /containers/{id}/changes`.
    pub async fn container_changes(self: &Arc<Self>, c: &Arc<Container>) -> Result<Vec<Change>> {
        let l = layers(&self.images.snapshot_mounts(&c.id).await?)?;
        tokio::task::spawn_blocking(move || {
            let (upper, lowers) = match (&l.plain, &l.upper) {
                (Some(p), _) => (p.clone(), Vec::new()),
                (None, Some(u)) => (u.clone(), l.lowers.clone()),
                (None, None) => return Ok(Vec::new()),
            };
            changes_of(&upper, &lowers).map_err(|e| Error::io("reading the container's changes", e))
        })
        .await
        .map_err(Error::Handler)?
    }

    /// `GET /containers/{id}/export`: the whole rootfs (no volumes or binds), streaming.
    pub fn export_container(self: &Arc<Self>, c: &Arc<Container>) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(16);
        let daemon = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            let r = daemon
                .with_view(&c, Access::Export, move |view| {
                    let mut tar = tar::Builder::new(ChannelWriter {
                        tx,
                        buf: Vec::new(),
                    });
                    tar.follow_symlinks(false);
                    let mut names: Vec<String> = fs::read_dir(&view.root)
                        .map_err(|e| Error::io("reading the rootfs", e))?
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    let mut links = Links::new();
                    for n in names {
                        let mut comps = vec![n.clone()];
                        append_tree(&mut tar, view, &mut comps, &n, false, &mut links)
                            .map_err(|e| Error::io(format!("exporting /{n}"), e))?;
                    }
                    tar.into_inner()
                        .and_then(|mut w| w.flush())
                        .map_err(|e| Error::io("exporting the rootfs", e))
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(container_id = %c.id, "exporting the container: {e}");
            }
        });
        rx
    }
}

/// Where a PUT's body waits to be checked and extracted: the data root's `tmp`, which
/// the engine empties at start (a crash mid-copy leaves nothing for good).
pub fn spool_path(data_root: &Path) -> PathBuf {
    data_root
        .join("tmp")
        .join(format!("archive-{}.tar", &random_id()[..16]))
}

#[cfg(test)]
fn read_all(mut r: impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(root: &Path, mounts: Vec<MountMap>) -> View {
        View {
            root: root.to_owned(),
            mounts,
            root_dev: 0,
            live: false,
            root_fd: None,
            _mount: None,
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("tmp")).unwrap();
        fs::create_dir_all(r.join("etc")).unwrap();
        std::os::unix::fs::symlink("/", r.join("tmp/root")).unwrap();
        std::os::unix::fs::symlink("../../../../..", r.join("tmp/up")).unwrap();
        let v = view(r, Vec::new());
        assert_eq!(v.resolve("/tmp/root/etc/x", true).unwrap(), ["etc", "x"]);
        assert_eq!(v.resolve("/tmp/up/etc", true).unwrap(), ["etc"]);
        assert_eq!(v.resolve("../../../etc", true).unwrap(), ["etc"]);
        assert_eq!(v.resolve("/tmp/root", false).unwrap(), ["tmp", "root"]);
        assert!(
            v.host_path(&v.resolve("/tmp/root/etc", true).unwrap())
                .starts_with(r)
        );
        assert_eq!(
            v.resolve("/nope/x", true).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert_eq!(
            v.resolve("/loop/x", true).unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
    }

    #[test]
    fn a_symlink_swapped_in_after_the_checks_stays_inside_the_live_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("tmp")).unwrap();
        // Resolution saw a directory; the container has since made it a link to `/`.
        std::os::unix::fs::symlink("/", r.join("tmp/d")).unwrap();
        let name = format!("archive-race-{}", std::process::id());
        let mut v = view(r, Vec::new());
        v.live = true;
        v.root_fd = Some(open_dir_path(r).unwrap());
        let comps = vec!["tmp".to_owned(), "d".to_owned(), name.clone()];
        let p = v.safe_path(&comps).unwrap();
        fs::write(&p, "x").unwrap();
        assert!(r.join(&name).is_file());
        assert!(!Path::new("/").join(&name).exists());
    }

    #[test]
    fn paths_under_mounts_map_to_their_sources() {
        let root = tempfile::tempdir().unwrap();
        let vol = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("data")).unwrap();
        fs::write(vol.path().join("f"), "v").unwrap();
        std::os::unix::fs::symlink("/data/f", root.path().join("link")).unwrap();
        let v = view(
            root.path(),
            vec![MountMap {
                dest: vec!["data".into()],
                source: vol.path().to_owned(),
                rw: true,
            }],
        );
        let c = v.resolve("/link", true).unwrap();
        assert_eq!(v.host_path(&c), vol.path().join("f"));
    }

    #[test]
    fn entries_that_climb_out_are_refused() {
        assert_eq!(clean_entry("./a/../b/").unwrap(), ["b"]);
        assert!(clean_entry("../x").is_none());
        assert!(clean_entry("a/../../x").is_none());
        let dir = tempfile::tempdir().unwrap();
        for (name, link, kind) in [
            ("../x", "", tar::EntryType::Regular),
            ("a", "../../etc/passwd", tar::EntryType::Symlink),
            ("h", "../x", tar::EntryType::Link),
        ] {
            let path = dir.path().join("t.tar");
            let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
            let mut h = tar::Header::new_old();
            h.set_entry_type(kind);
            h.set_size(0);
            h.set_mode(0o644);
            // Header::set_path refuses `..`: write the name raw.
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
            h.set_cksum();
            b.append(&h, io::empty()).unwrap();
            b.into_inner().unwrap();
            let mut f = fs::File::open(&path).unwrap();
            let e = validate_archive(&mut f).unwrap_err();
            assert_eq!(e.status(), 400, "{name}: {e}");
        }
    }

    #[test]
    fn extraction_stays_in_the_root_and_keeps_metadata() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("tmp")).unwrap();
        std::os::unix::fs::symlink("/", r.join("tmp/root")).unwrap();
        let spool = tempfile::NamedTempFile::new().unwrap();
        {
            let mut b = tar::Builder::new(spool.reopen().unwrap());
            let mut h = tar::Header::new_gnu();
            h.set_size(5);
            h.set_mode(0o751);
            h.set_mtime(1_000_000);
            b.append_data(&mut h, "root/etc/x", &b"hello"[..]).unwrap();
            let mut l = tar::Header::new_gnu();
            l.set_entry_type(tar::EntryType::Symlink);
            l.set_size(0);
            b.append_link(&mut l, "lnk", "/etc/x").unwrap();
            b.into_inner().unwrap();
        }
        let v = view(r, Vec::new());
        let dest = v.resolve("/tmp", true).unwrap();
        let mut f = spool.reopen().unwrap();
        validate_archive(&mut f).unwrap();
        extract(&v, &dest, &mut f, &ExtractOptions::default()).unwrap();
        let x = r.join("etc/x");
        assert_eq!(fs::read(&x).unwrap(), b"hello");
        let m = fs::metadata(&x).unwrap();
        assert_eq!(m.mode() & 0o777, 0o751);
        assert_eq!(m.mtime(), 1_000_000);
        assert_eq!(
            fs::read_link(r.join("tmp/lnk")).unwrap(),
            Path::new("/etc/x")
        );
        let ro = ExtractOptions {
            readonly_rootfs: true,
            ..Default::default()
        };
        let mut f = spool.reopen().unwrap();
        assert_eq!(extract(&v, &dest, &mut f, &ro).unwrap_err().status(), 403);
    }

    #[test]
    fn tars_keep_links_and_modes() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("d/sub")).unwrap();
        fs::write(r.join("d/sub/f"), "x").unwrap();
        fs::set_permissions(r.join("d/sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("sub/f", r.join("d/l")).unwrap();
        fs::hard_link(r.join("d/sub/f"), r.join("d/sub/h")).unwrap();
        let v = view(r, Vec::new());
        let mut b = tar::Builder::new(Vec::new());
        let mut comps = vec!["d".to_owned()];
        append_tree(&mut b, &v, &mut comps, "d", true, &mut Links::new()).unwrap();
        let data = b.into_inner().unwrap();
        let mut a = tar::Archive::new(&data[..]);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mode = e.header().mode().unwrap() & 0o777;
            let link = e.link_name().unwrap().map(|l| l.display().to_string());
            let body = read_all(&mut e);
            seen.push((name, mode, link, body.len()));
        }
        let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["d/", "d/l", "d/sub/", "d/sub/f", "d/sub/h"]);
        assert_eq!(seen[1].2.as_deref(), Some("sub/f"));
        assert_eq!(seen[3].1, 0o640);
        assert_eq!(seen[3].3, 1);
        // The second name of the file is a hard link to the first, without content.
        assert_eq!(seen[4].2.as_deref(), Some("d/sub/f"));
        assert_eq!(seen[4].3, 0);
    }

    #[test]
    fn changes_read_whiteouts_and_report_parents() {
        let lower = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        let (l, u) = (lower.path(), upper.path());
        for d in ["etc", "tmp", "bin"] {
            fs::create_dir(l.join(d)).unwrap();
        }
        fs::write(l.join("etc/passwd"), "a").unwrap();
        fs::write(l.join("bin/ls"), "a").unwrap();
        // tmp copied up unchanged, a file added in it; etc/passwd modified; bin/ls removed.
        fs::create_dir(u.join("tmp")).unwrap();
        let lm = fs::metadata(l.join("tmp")).unwrap();
        fs::write(u.join("tmp/new"), "n").unwrap();
        fs::create_dir(u.join("etc")).unwrap();
        fs::write(u.join("etc/passwd"), "b").unwrap();
        fs::create_dir(u.join("bin")).unwrap();
        let p = c_path(&u.join("bin/ls")).unwrap();
        // SAFETY: mknod with a valid path.
        assert_eq!(
            unsafe { libc::mknod(p.as_ptr(), libc::S_IFCHR | 0o600, 0) },
            0
        );
        for d in ["tmp", "etc", "bin"] {
            fs::set_permissions(u.join(d), fs::Permissions::from_mode(lm.mode() & 0o7777)).unwrap();
            let m = fs::metadata(l.join(d)).unwrap();
            set_mtime(&u.join(d), m.mtime()).unwrap();
            set_mtime(&l.join(d), m.mtime()).unwrap();
        }
        let got: Vec<(String, u8)> = changes_of(u, &[l.to_owned()])
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect();
        let want = [
            ("/bin", Change::MODIFIED),
            ("/bin/ls", Change::DELETED),
            ("/etc/passwd", Change::MODIFIED),
            ("/tmp", Change::MODIFIED),
            ("/tmp/new", Change::ADDED),
        ];
        let want: Vec<(String, u8)> = want.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        assert_eq!(got, want);
    }
}
