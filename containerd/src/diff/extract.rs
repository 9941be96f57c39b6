//! Safe extraction of one layer tar onto a root directory (the merged view of a snapshot).
//!
//! A layer is untrusted input. The rules:
//! - Names are cleaned lexically first: `.` and empty components dropped, `..` pops a
//!   component and stops at the root, a leading `/` means the root. So `../../etc/x` and
//!   `/etc/x` both land at `<root>/etc/x` (confined, as containerd and Docker do).
//! - Parent directories are opened one component at a time from an fd of the root with
//!   `O_DIRECTORY | O_NOFOLLOW`: a symlink (or a non-directory) among the parents fails
//!   the layer instead of being followed. No `..` is ever passed to the kernel, so
//!   nothing can climb out. Missing parents are created (0755, as containerd does).
//! - The last component is never followed: whatever is there (a symlink included) is
//!   removed and replaced, unless both it and the entry are directories (then they
//!   merge); files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`; metadata is set with
//!   the `*at` calls and `AT_SYMLINK_NOFOLLOW`.
//! - Symlink targets are stored as they are; they are never resolved here.
//! - Hard-link targets are cleaned and resolved like any other name: they can only name
//!   something already inside the root.
//! - Whiteouts (`.wh.NAME`, `.wh..wh..opq`) delete only inside the root, through the same
//!   resolution, and deletion never follows a symlink nor crosses into another filesystem.
//! - Device nodes only when running as root; owners only as root; modes (setuid, setgid,
//!   sticky included) set after owners (chown clears setuid); xattrs from PAX
//!   `SCHILY.xattr.*` where the filesystem takes them; mtimes from the header, those of
//!   directories once the whole layer is in.

use std::collections::HashSet;
use std::ffi::CString;
use std::io::{self, Read};
use std::path::Path;

use crate::tree::{Dir, Kind, cstr, kind_of};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

/// How the extraction runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Owners and device nodes need root; without it they are skipped (as rootless
    /// containerd does).
    pub privileged: bool,
}

impl Default for Options {
    fn default() -> Self {
        // SAFETY: geteuid(2) cannot fail.
        Options {
            privileged: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// A layer rejected or broken: which entry and why.
#[derive(Debug)]
pub struct Rejected(pub String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn reject(entry: &[u8], why: impl std::fmt::Display) -> Rejected {
    Rejected(format!("entry {:?}: {why}", String::from_utf8_lossy(entry)))
}

/// The components of a name, cleaned and confined to the root.
fn clean(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    out
}

fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

fn is_errno(e: &io::Error, n: i32) -> bool {
    e.raw_os_error() == Some(n)
}

/// Opens the directory `comps` under `root`, never following a symlink; creates missing
/// directories when `create`. Ok(None) when missing and not creating.
fn open_dirs(
    root: &Dir,
    comps: &[Vec<u8>],
    create: bool,
    entry: &[u8],
) -> Result<Option<Dir>, Rejected> {
    let mut cur = root.open_dir(c".").map_err(|e| reject(entry, e))?;
    for (i, c) in comps.iter().enumerate() {
        let name = cstr(c).map_err(|e| reject(entry, e))?;
        cur = match cur.open_dir(&name) {
            Ok(d) => d,
            Err(e) if is_errno(&e, libc::ENOENT) => {
                if !create {
                    return Ok(None);
                }
                cur.mkdir(&name, 0o755)
                    .or_else(|e| {
                        if is_errno(&e, libc::EEXIST) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(|e| reject(entry, format!("creating parent directory: {e}")))?;
                cur.open_dir(&name).map_err(|e| reject(entry, e))?
            }
            Err(e) if is_errno(&e, libc::ELOOP) || is_errno(&e, libc::ENOTDIR) => {
                let what = match cur.lstat(&name).ok().flatten().map(|s| kind_of(&s)) {
                    Some(Kind::Symlink) => "a symlink; refusing to write through it",
                    _ => "not a directory",
                };
                return Err(reject(
                    entry,
                    format!(
                        "parent {:?} is {what}",
                        String::from_utf8_lossy(&join(&comps[..=i]))
                    ),
                ));
            }
            Err(e) => return Err(reject(entry, e)),
        };
    }
    Ok(Some(cur))
}

/// Removes what `unpacked` does not list under `dir` (an opaque directory keeps only what
/// this layer put there).
fn remove_others(
    dir: &Dir,
    prefix: &[u8],
    unpacked: &HashSet<Vec<u8>>,
    entry: &[u8],
) -> Result<(), Rejected> {
    for child in dir.entries().map_err(|e| reject(entry, e))? {
        let mut path = prefix.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(child.to_bytes());
        if !unpacked.contains(&path) {
            dir.remove_all(&child).map_err(|e| reject(entry, e))?;
        } else if let Ok(sub) = dir.open_dir(&child) {
            remove_others(&sub, &path, unpacked, entry)?;
        }
    }
    Ok(())
}

/// Applies the tar stream `reader` onto `root`. Returns the number of entries applied.
/// The stream is read to its end (trailing padding included) so that a caller hashing it
/// sees all of it.
pub fn apply(root: &Path, reader: impl Read, opts: Options) -> Result<u64, Rejected> {
    let root = Dir::open(root).map_err(|e| Rejected(format!("opening {}: {e}", root.display())))?;
    let mut archive = tar::Archive::new(reader);
    let mut unpacked: HashSet<Vec<u8>> = HashSet::new();
    let mut dirs: Vec<(Vec<Vec<u8>>, i64)> = Vec::new();
    let mut count = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| Rejected(format!("reading the layer: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Rejected(format!("reading the layer: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let comps = clean(&raw);
        let Some((name, parents)) = comps.split_last() else {
            // The root itself ("./"): its attributes belong to the snapshot, not the layer.
            continue;
        };
        count += 1;
        if name.starts_with(WHITEOUT_PREFIX) {
            whiteout(&root, parents, name, &unpacked, &raw)?;
            continue;
        }
        let parent = open_dirs(&root, parents, true, &raw)?.expect("created");
        let cname = cstr(name).map_err(|e| reject(&raw, e))?;
        let header = entry.header().clone();
        let typ = header.entry_type();
        let existing = parent
            .lstat(&cname)
            .map_err(|e| reject(&raw, e))?
            .map(|s| kind_of(&s));
        if existing.is_some() && !(existing == Some(Kind::Dir) && typ.is_dir()) {
            parent
                .remove_all(&cname)
                .map_err(|e| reject(&raw, format!("replacing what is there: {e}")))?;
        }
        let mode = header.mode().map_err(|e| reject(&raw, e))? & 0o7777;
        let mtime = header.mtime().unwrap_or(0) as i64;
        use tar::EntryType as T;
        match typ {
            T::Directory => {
                if existing != Some(Kind::Dir) {
                    parent
                        .mkdir(&cname, 0o700)
                        .map_err(|e| reject(&raw, format!("mkdir: {e}")))?;
                }
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                let mut f = parent
                    .create_file(&cname, 0o600)
                    .map_err(|e| reject(&raw, format!("create: {e}")))?;
                let want = entry.size();
                let got = io::copy(&mut entry, &mut f)
                    .map_err(|e| reject(&raw, format!("reading its data: {e}")))?;
                if got != want {
                    return Err(reject(
                        &raw,
                        format!("truncated: {got} of {want} bytes in the layer"),
                    ));
                }
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| reject(&raw, "symlink without a target"))?;
                let target = cstr(&target).map_err(|e| reject(&raw, e))?;
                parent
                    .symlink(&target, &cname)
                    .map_err(|e| reject(&raw, format!("symlink: {e}")))?;
            }
            T::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| reject(&raw, "hard link without a target"))?;
                let tcomps = clean(&target);
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(reject(&raw, "hard link to the root"));
                };
                let tdir = open_dirs(&root, tparents, false, &raw)?.ok_or_else(|| {
                    reject(
                        &raw,
                        format!(
                            "hard link target {:?} is not in the layer's root",
                            String::from_utf8_lossy(&target)
                        ),
                    )
                })?;
                let tcname = cstr(tname).map_err(|e| reject(&raw, e))?;
                parent.link(&tdir, &tcname, &cname).map_err(|e| {
                    reject(
                        &raw,
                        format!(
                            "hard link to {:?} (inside the root only): {e}",
                            String::from_utf8_lossy(&target)
                        ),
                    )
                })?;
                unpacked.insert(join(&comps));
                // A hard link shares its target's inode and metadata.
                continue;
            }
            T::Char | T::Block => {
                if !opts.privileged {
                    tracing::debug!(entry = %String::from_utf8_lossy(&raw), "device node skipped: not root");
                    continue;
                }
                let (major, minor) = (
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                let fmt = if typ == T::Char {
                    libc::S_IFCHR
                } else {
                    libc::S_IFBLK
                };
                let dev = libc::makedev(major, minor);
                if let Err(e) = parent.mknod(&cname, fmt | mode, dev) {
                    if is_errno(&e, libc::EPERM) {
                        tracing::warn!(entry = %String::from_utf8_lossy(&raw), "device node skipped: not permitted here");
                        continue;
                    }
                    return Err(reject(&raw, format!("mknod: {e}")));
                }
            }
            T::Fifo => parent
                .mknod(&cname, libc::S_IFIFO | mode, 0)
                .map_err(|e| reject(&raw, format!("mkfifo: {e}")))?,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            other => {
                return Err(reject(&raw, format!("unsupported entry type {other:?}")));
            }
        }
        set_metadata(&parent, &cname, &raw, &header, typ, mode, opts)?;
        if let Ok(Some(exts)) = entry.pax_extensions() {
            for ext in exts.flatten() {
                if let Some(key) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    let Ok(key) = CString::new(key) else { continue };
                    if let Err(e) = parent.set_xattr(&cname, &key, ext.value_bytes()) {
                        tracing::debug!(entry = %String::from_utf8_lossy(&raw), xattr = %key.to_string_lossy(), error = %e, "xattr not set");
                    }
                }
            }
        }
        if typ.is_dir() {
            dirs.push((comps.clone(), mtime));
        } else {
            parent
                .set_times(&cname, (mtime, 0), (mtime, 0))
                .map_err(|e| reject(&raw, format!("setting times: {e}")))?;
        }
        unpacked.insert(join(&comps));
    }
    // Directory mtimes last: creating their children changed them.
    for (comps, mtime) in dirs {
        let (name, parents) = comps.split_last().expect("non-empty");
        if let Ok(Some(p)) = open_dirs(&root, parents, false, b"")
            && let Ok(n) = cstr(name)
        {
            let _ = p.set_times(&n, (mtime, 0), (mtime, 0));
        }
    }
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| Rejected(format!("reading the end of the layer: {e}")))?;
    Ok(count)
}

fn set_metadata(
    parent: &Dir,
    name: &CString,
    raw: &[u8],
    header: &tar::Header,
    typ: tar::EntryType,
    mode: u32,
    opts: Options,
) -> Result<(), Rejected> {
    if opts.privileged {
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        parent
            .chown(name, uid, gid)
            .map_err(|e| reject(raw, format!("chown: {e}")))?;
    }
    if typ != tar::EntryType::Symlink {
        // After chown, which clears setuid and setgid.
        parent
            .chmod(name, mode)
            .map_err(|e| reject(raw, format!("chmod: {e}")))?;
    }
    Ok(())
}

fn whiteout(
    root: &Dir,
    parents: &[Vec<u8>],
    name: &[u8],
    unpacked: &HashSet<Vec<u8>>,
    raw: &[u8],
) -> Result<(), Rejected> {
    // Nothing below a missing directory to delete.
    let Some(dir) = open_dirs(root, parents, false, raw)? else {
        return Ok(());
    };
    if name == WHITEOUT_OPAQUE {
        return remove_others(&dir, &join(parents), unpacked, raw);
    }
    let target = &name[WHITEOUT_PREFIX.len()..];
    if target.is_empty() || target == b"." || target == b".." {
        return Err(reject(raw, "whiteout of nothing"));
    }
    let t = cstr(target).map_err(|e| reject(raw, e))?;
    dir.remove_all(&t)
        .map_err(|e| reject(raw, format!("whiteout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A tar built entry by entry, names written raw (the tar crate's builder refuses `..`).
    struct Layer(tar::Builder<Vec<u8>>);

    impl Layer {
        fn new() -> Self {
            Layer(tar::Builder::new(Vec::new()))
        }

        fn entry(
            mut self,
            typ: tar::EntryType,
            name: &str,
            link: &str,
            data: &[u8],
            mode: u32,
        ) -> Self {
            let mut h = tar::Header::new_gnu();
            {
                let gnu = h.as_gnu_mut().unwrap();
                gnu.name[..name.len()].copy_from_slice(name.as_bytes());
                gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(typ);
            h.set_mode(mode);
            h.set_size(data.len() as u64);
            h.set_mtime(1_000_000);
            h.set_cksum();
            self.0.append(&h, data).unwrap();
            self
        }

        fn dir(self, name: &str) -> Self {
            self.entry(tar::EntryType::Directory, name, "", b"", 0o755)
        }
        fn file(self, name: &str, data: &str) -> Self {
            self.entry(tar::EntryType::Regular, name, "", data.as_bytes(), 0o644)
        }
        fn symlink(self, name: &str, target: &str) -> Self {
            self.entry(tar::EntryType::Symlink, name, target, b"", 0o777)
        }
        fn hardlink(self, name: &str, target: &str) -> Self {
            self.entry(tar::EntryType::Link, name, target, b"", 0o644)
        }
        fn bytes(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    /// A root to extract into and a sentinel directory beside it that must stay as it is.
    struct Scene {
        _t: tempfile::TempDir,
        root: std::path::PathBuf,
        sentinel: std::path::PathBuf,
    }

    impl Scene {
        fn new() -> Self {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("root");
            let sentinel = t.path().join("sentinel");
            std::fs::create_dir_all(&root).unwrap();
            std::fs::create_dir_all(&sentinel).unwrap();
            std::fs::write(sentinel.join("x"), "keep").unwrap();
            Scene {
                _t: t,
                root,
                sentinel,
            }
        }

        fn apply(&self, layer: Vec<u8>) -> Result<u64, Rejected> {
            apply(&self.root, &layer[..], Options::default())
        }

        /// The sentinel holds exactly what it held.
        fn host_untouched(&self) {
            let names: Vec<_> = std::fs::read_dir(&self.sentinel)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("x")]);
            assert_eq!(std::fs::read(self.sentinel.join("x")).unwrap(), b"keep");
        }

        /// A relative path from the root to the sentinel, climbing with `..`.
        fn climb(&self) -> String {
            let depth = self.root.components().count();
            format!(
                "{}{}",
                "../".repeat(depth + 2),
                &self.sentinel.display().to_string()[1..]
            )
        }
    }

    #[test]
    fn ordinary_layers_extract_with_metadata() {
        let s = Scene::new();
        let layer = Layer::new()
            .dir("bin/")
            .entry(tar::EntryType::Regular, "bin/su", "", b"#!", 0o4755)
            .symlink("bin/sh", "/bin/busybox")
            .hardlink("bin/su2", "bin/su")
            .entry(tar::EntryType::Directory, "tmp/", "", b"", 0o1777)
            .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
            .bytes();
        assert_eq!(s.apply(layer).unwrap(), 6);
        let r = &s.root;
        assert_eq!(
            std::fs::metadata(r.join("bin/su")).unwrap().mode() & 0o7777,
            0o4755
        );
        assert_eq!(
            std::fs::read_link(r.join("bin/sh")).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(
            std::fs::metadata(r.join("bin/su2")).unwrap().ino(),
            std::fs::metadata(r.join("bin/su")).unwrap().ino()
        );
        assert_eq!(
            std::fs::metadata(r.join("tmp")).unwrap().mode() & 0o7777,
            0o1777
        );
        assert_eq!(std::fs::metadata(r.join("tmp")).unwrap().mtime(), 1_000_000);
        assert_eq!(
            std::fs::metadata(r.join("etc/passwd")).unwrap().mtime(),
            1_000_000
        );
        // A missing parent is made 0755.
        assert_eq!(
            std::fs::metadata(r.join("etc")).unwrap().mode() & 0o7777,
            0o755
        );
    }

    #[test]
    fn dotdot_names_are_confined() {
        let s = Scene::new();
        let name = format!("{}/evil", s.climb());
        s.apply(Layer::new().file(&name, "x").file("../../up", "y").bytes())
            .unwrap();
        s.host_untouched();
        assert!(
            s.root
                .join(&s.sentinel.display().to_string()[1..])
                .join("evil")
                .exists()
        );
        assert!(s.root.join("up").exists());
    }

    #[test]
    fn absolute_names_are_confined() {
        let s = Scene::new();
        let name = format!("{}/abs", s.sentinel.display());
        s.apply(Layer::new().file(&name, "x").bytes()).unwrap();
        s.host_untouched();
        assert!(s.root.join(&name[1..]).exists());
    }

    #[test]
    fn symlink_to_root_then_a_file_under_it_is_rejected() {
        let s = Scene::new();
        let under = format!("evil{}/pwned", s.sentinel.display());
        let e = s
            .apply(Layer::new().symlink("evil", "/").file(&under, "x").bytes())
            .unwrap_err();
        assert!(e.0.contains("symlink"), "{e}");
        s.host_untouched();
        // The link itself is kept as written.
        assert_eq!(
            std::fs::read_link(s.root.join("evil")).unwrap(),
            Path::new("/")
        );
    }

    #[test]
    fn a_file_through_a_symlink_of_an_earlier_layer_is_rejected() {
        let s = Scene::new();
        s.apply(
            Layer::new()
                .symlink("link", &s.sentinel.display().to_string())
                .bytes(),
        )
        .unwrap();
        let e = s
            .apply(Layer::new().file("link/pwned", "x").bytes())
            .unwrap_err();
        assert!(e.0.contains("refusing to write through"), "{e}");
        s.host_untouched();
        // A relative link climbing out is just as inert.
        let s = Scene::new();
        s.apply(Layer::new().symlink("up", &s.climb()).bytes())
            .unwrap();
        assert!(s.apply(Layer::new().dir("up/d/").bytes()).is_err());
        s.host_untouched();
    }

    #[test]
    fn replacing_a_symlink_never_writes_through_it() {
        let s = Scene::new();
        let target = s.sentinel.join("x").display().to_string();
        s.apply(Layer::new().symlink("f", &target).bytes()).unwrap();
        s.apply(Layer::new().file("f", "new").bytes()).unwrap();
        s.host_untouched();
        assert_eq!(std::fs::read(s.root.join("f")).unwrap(), b"new");
    }

    #[test]
    fn hard_links_outside_the_root_are_rejected() {
        let s = Scene::new();
        let outside = s.sentinel.join("x").display().to_string();
        let e = s
            .apply(Layer::new().hardlink("h", &outside).bytes())
            .unwrap_err();
        assert!(
            e.0.contains("inside the root") || e.0.contains("not in the layer"),
            "{e}"
        );
        let climb = format!("{}/x", s.climb());
        assert!(
            s.apply(Layer::new().hardlink("h2", &climb).bytes())
                .is_err()
        );
        // Nor through a symlink to the outside.
        s.apply(
            Layer::new()
                .symlink("out", &s.sentinel.display().to_string())
                .bytes(),
        )
        .unwrap();
        assert!(
            s.apply(Layer::new().hardlink("h3", "out/x").bytes())
                .is_err()
        );
        s.host_untouched();
        assert_eq!(std::fs::metadata(s.sentinel.join("x")).unwrap().nlink(), 1);
    }

    #[test]
    fn whiteouts_only_delete_inside_the_root() {
        let s = Scene::new();
        s.apply(
            Layer::new()
                .file("x", "inside")
                .file("d/keep", "k")
                .file("d/gone", "g")
                .bytes(),
        )
        .unwrap();
        let climb = format!("{}/.wh.x", s.climb());
        s.apply(Layer::new().file("../.wh.x", "").file(&climb, "").bytes())
            .unwrap();
        s.host_untouched();
        assert!(!s.root.join("x").exists(), "../x confined to the root's x");
        // Whiteouts through a symlink are refused.
        s.apply(
            Layer::new()
                .symlink("out", &s.sentinel.display().to_string())
                .bytes(),
        )
        .unwrap();
        assert!(s.apply(Layer::new().file("out/.wh.x", "").bytes()).is_err());
        s.host_untouched();
        // Whiteout of a symlink removes the link, not its target.
        s.apply(Layer::new().file(".wh.out", "").bytes()).unwrap();
        assert!(s.root.join("out").symlink_metadata().is_err());
        s.host_untouched();
        // Opaque: only what this layer put in d stays.
        s.apply(
            Layer::new()
                .dir("d/")
                .file("d/.wh..wh..opq", "")
                .file("d/new", "n")
                .bytes(),
        )
        .unwrap();
        let mut names: Vec<_> = std::fs::read_dir(s.root.join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["new"]);
    }

    #[test]
    fn truncated_layers_fail() {
        let s = Scene::new();
        let full = Layer::new().file("big", &"a".repeat(5000)).bytes();
        let e = s.apply(full[..2048].to_vec()).unwrap_err();
        assert!(e.0.contains("truncated") || e.0.contains("reading"), "{e}");
    }

    #[test]
    fn devices_only_as_root() {
        let s = Scene::new();
        let layer = || {
            let mut h = tar::Header::new_gnu();
            h.set_path("dev/null").unwrap();
            h.set_entry_type(tar::EntryType::Char);
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
            h.set_mode(0o666);
            h.set_size(0);
            h.set_cksum();
            let mut b = tar::Builder::new(Vec::new());
            b.append(&h, &b""[..]).unwrap();
            b.into_inner().unwrap()
        };
        apply(&s.root, &layer()[..], Options { privileged: false }).unwrap();
        assert!(!s.root.join("dev/null").exists());
        if Options::default().privileged {
            s.apply(layer()).unwrap();
            let m = std::fs::symlink_metadata(s.root.join("dev/null")).unwrap();
            assert_eq!(m.rdev(), libc::makedev(1, 3));
            assert_eq!(m.permissions().mode() & 0o777, 0o666);
        }
    }
}
