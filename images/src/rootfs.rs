//! A container's root filesystem from an image: a writable snapshot on top of the
//! image's (containerd's `WithNewSnapshot`), and the image's user resolved against the
//! `/etc/passwd` and `/etc/group` inside it (containerd's `WithUser`, which mounts the
//! snapshot for that, as we do).

use std::collections::{BTreeMap, VecDeque};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use myproto::containerd::services::snapshots::v1::{MountsRequest, PrepareSnapshotRequest};
use myproto::containerd::types::Mount;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::resolve::ResolvedImage;

/// Symlinks followed at most while resolving a path inside the root (Linux's limit).
const MAX_SYMLINKS: usize = 40;

impl Client {
    /// Prepares the writable snapshot `key` of a new container on top of `image` (which
    /// must be unpacked); returns the mounts its task is created with.
    pub async fn prepare_rootfs(
        &self,
        key: &str,
        image: &ResolvedImage,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<Mount>> {
        let request = self.request(PrepareSnapshotRequest {
            snapshotter: self.snapshotter().to_owned(),
            key: key.to_owned(),
            parent: image
                .top_chain_id()
                .map(ToString::to_string)
                .unwrap_or_default(),
            labels: labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
        let response = self
            .snapshots()
            .prepare(request)
            .await
            .map_err(|s| Error::rpc(format!("preparing snapshot {key:?}"), s))?;
        Ok(response.into_inner().mounts)
    }

    /// The mounts of snapshot `key` (for a task of an existing container).
    pub async fn snapshot_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let request = self.request(MountsRequest {
            snapshotter: self.snapshotter().to_owned(),
            key: key.to_owned(),
        });
        let response = self
            .snapshots()
            .mounts(request)
            .await
            .map_err(|s| Error::rpc(format!("mounts of snapshot {key:?}"), s))?;
        Ok(response.into_inner().mounts)
    }
}

/// A process's user, as the runtime spec wants it. `additional_gids` starts with the
/// primary group, as containerd has set it since 1.6.18 (CVE-2023-25173).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

/// `user` when no file needs reading: empty (root) or numeric `uid:gid`.
pub fn numeric_user(user: &str) -> Option<ResolvedUser> {
    if user.is_empty() {
        return Some(ResolvedUser {
            additional_gids: vec![0],
            ..ResolvedUser::default()
        });
    }
    let (uid, gid) = user.split_once(':')?;
    let gid = gid.parse().ok()?;
    Some(ResolvedUser {
        uid: uid.parse().ok()?,
        gid,
        additional_gids: vec![gid],
    })
}

/// Resolves `user` (`name`, `uid`, `name:group`, `uid:gid`, ...) for a container whose
/// root filesystem is `mounts`, mounting it read-only on a temporary directory if the
/// image's files must be read.
pub async fn resolve_user(mounts: &[Mount], user: &str) -> Result<ResolvedUser> {
    if let Some(resolved) = numeric_user(user) {
        return Ok(resolved);
    }
    let mounts = mounts.to_vec();
    let user = user.to_owned();
    tokio::task::spawn_blocking(move || with_mounted(&mounts, |root| lookup_user(root, &user))?)
        .await
        .map_err(|e| Error::Mount(io::Error::other(e.to_string())))?
}

/// The GIDs of `groups` (names or numbers) in the image's `/etc/group`, for
/// `--group-add` (names resolve in the container's files, as Docker's).
pub async fn resolve_groups(mounts: &[Mount], groups: &[String]) -> Result<Vec<u32>> {
    if let Some(gids) = groups
        .iter()
        .map(|g| g.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()
    {
        return Ok(gids);
    }
    let mounts = mounts.to_vec();
    let groups = groups.to_vec();
    tokio::task::spawn_blocking(move || {
        with_mounted(&mounts, |root| {
            let text = read_in_root(root, "etc/group").unwrap_or_default();
            let entries = entries(&text, 4);
            groups
                .iter()
                .map(|g| {
                    g.parse::<u32>()
                        .ok()
                        .or_else(|| {
                            entries
                                .iter()
                                .find(|e| e[0] == g)
                                .and_then(|e| e[2].parse().ok())
                        })
                        .ok_or_else(|| Error::User {
                            user: g.clone(),
                            reason: "no such group in the image's /etc/group".into(),
                        })
                })
                .collect::<Result<Vec<u32>>>()
        })?
    })
    .await
    .map_err(|e| Error::Mount(io::Error::other(e.to_string())))?
}

/// Runs `f` on `mounts` mounted read-only at a temporary directory, then unmounts.
pub fn with_mounted<T>(mounts: &[Mount], f: impl FnOnce(&Path) -> T) -> Result<T> {
    let dir = tempfile::Builder::new()
        .prefix("myimages-mount-")
        .tempdir()
        .map_err(Error::Mount)?;
    let target = dir.path();
    let mut mounted = 0;
    let mut result = Ok(());
    for m in mounts {
        if let Err(e) = mount_read_only(m, target) {
            result = Err(e);
            break;
        }
        mounted += 1;
    }
    let value = result.as_ref().ok().map(|_| f(target));
    for _ in 0..mounted {
        let path = CString::new(target.as_os_str().as_bytes()).map_err(io::Error::other);
        if let Ok(path) = path {
            // SAFETY: umount2 with a valid C string.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }
    }
    result.map_err(Error::Mount)?;
    Ok(value.expect("set when mounting worked"))
}

fn mount_read_only(m: &Mount, target: &Path) -> io::Result<()> {
    let c = |s: &[u8]| CString::new(s).map_err(io::Error::other);
    let target = c(target.as_os_str().as_bytes())?;
    let source = c(m.source.as_bytes())?;
    let mut flags: libc::c_ulong = libc::MS_RDONLY;
    let mut data = Vec::new();
    let mut bind = m.r#type == "bind";
    for option in &m.options {
        match option.as_str() {
            "ro" | "rw" => {}
            "bind" => bind = true,
            "rbind" => {
                bind = true;
                flags |= libc::MS_REC;
            }
            "nosuid" => flags |= libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            other => data.push(other.to_owned()),
        }
    }
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    if bind {
        // SAFETY: mount(2) with valid C strings; a bind mount takes no type or data.
        check(unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | (flags & libc::MS_REC),
                std::ptr::null(),
            )
        })?;
        // SAFETY: as above; read-only needs a remount of the bind mount.
        return check(unsafe {
            libc::mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | flags,
                std::ptr::null(),
            )
        });
    }
    let fstype = c(m.r#type.as_bytes())?;
    let data = c(data.join(",").as_bytes())?;
    // SAFETY: mount(2) with valid C strings.
    check(unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    })
}

/// Resolves `user` with the passwd and group files under `root`, as runc's `user`
/// package (used by containerd's `WithUser` and `WithAdditionalGIDs`) does.
pub fn lookup_user(root: &Path, user: &str) -> Result<ResolvedUser> {
    let err = |reason: &str| Error::User {
        user: user.to_owned(),
        reason: reason.to_owned(),
    };
    let passwd = read_in_root(root, "etc/passwd").unwrap_or_default();
    let group = read_in_root(root, "etc/group").unwrap_or_default();
    let users: Vec<Vec<&str>> = entries(&passwd, 7);
    let groups: Vec<Vec<&str>> = entries(&group, 4);
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let numeric = user_part.parse::<u32>().ok();
    let found = users
        .iter()
        .find(|u| u[0] == user_part || (numeric.is_some() && u[2].parse::<u32>().ok() == numeric));
    let (uid, mut gid, name) = match (found, user_part.parse::<u32>()) {
        (Some(u), _) => (
            u[2].parse().map_err(|_| err("bad uid in /etc/passwd"))?,
            u[3].parse().map_err(|_| err("bad gid in /etc/passwd"))?,
            u[0].to_owned(),
        ),
        (None, Ok(uid)) => (uid, 0, String::new()),
        (None, Err(_)) => return Err(err("no such user in the image's /etc/passwd")),
    };
    if let Some(g) = group_part {
        gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .iter()
                .find(|e| e[0] == g)
                .and_then(|e| e[2].parse().ok())
                .ok_or_else(|| err("no such group in the image's /etc/group"))?,
        };
    }
    // Supplementary groups: those listing the user as a member, except the one named
    // like the user (containerd's WithAdditionalGIDs).
    let mut additional_gids = vec![gid];
    if !name.is_empty() {
        for g in groups
            .iter()
            .filter(|e| e[0] != name && e[3].split(',').any(|m| m == name))
            .filter_map(|e| e[2].parse::<u32>().ok())
        {
            if !additional_gids.contains(&g) {
                additional_gids.push(g);
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
    })
}

/// The colon-separated lines of a passwd/group file with at least `fields` fields.
fn entries(text: &str, fields: usize) -> Vec<Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= fields)
        .collect()
}

/// Reads `relative` under `root`, following symlinks as if `root` were `/`: no link,
/// absolute or `..`, leads out of it.
pub fn read_in_root(root: &Path, relative: &str) -> Option<String> {
    let path = resolve_in_root(root, relative)?;
    std::fs::read_to_string(path).ok()
}

/// `relative` under `root`, following symlinks as if `root` were `/` (no link leads
/// out); `None` when a component is missing or links nest too deep.
pub fn resolve_in_root(root: &Path, relative: &str) -> Option<PathBuf> {
    let split = |s: &str| -> VecDeque<String> {
        s.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_owned)
            .collect()
    };
    let mut pending = split(relative);
    let mut current = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            current.pop();
            continue;
        }
        let candidate = current.join(&part);
        let meta = std::fs::symlink_metadata(root.join(&candidate)).ok()?;
        if !meta.file_type().is_symlink() {
            current = candidate;
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return None;
        }
        let target = std::fs::read_link(root.join(&candidate)).ok()?;
        let target = target.to_string_lossy();
        if target.starts_with('/') {
            current = PathBuf::new();
        }
        let mut rest = split(&target);
        rest.extend(pending);
        pending = rest;
    }
    Some(root.join(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nwheel:x:10:app,other\napp:x:1000:app\nnogroup:x:65534:\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn numeric_users_need_no_files() {
        assert_eq!(numeric_user("").unwrap().additional_gids, [0]);
        let u = numeric_user("5:6").unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (5, 6, vec![6]));
        assert_eq!(numeric_user("app"), None);
        assert_eq!(numeric_user("5"), None);
    }

    #[test]
    fn names_resolve_through_passwd_and_group() {
        let r = root();
        let u = lookup_user(r.path(), "app").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids),
            (1000, 1000, vec![1000, 10])
        );
        let u = lookup_user(r.path(), "nobody:nogroup").unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        let u = lookup_user(r.path(), "1000").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        let u = lookup_user(r.path(), "4242").unwrap();
        assert_eq!((u.uid, u.gid), (4242, 0));
        let u = lookup_user(r.path(), "app:7").unwrap();
        assert_eq!(u.gid, 7);
        assert!(lookup_user(r.path(), "ghost").is_err());
        assert!(lookup_user(r.path(), "app:ghosts").is_err());
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let r = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
        std::fs::remove_file(r.path().join("etc/passwd")).unwrap();
        // An absolute link to a host file resolves inside the root (where nothing is).
        std::os::unix::fs::symlink(outside.path().join("passwd"), r.path().join("etc/passwd"))
            .unwrap();
        assert!(read_in_root(r.path(), "etc/passwd").is_none());
        // Neither does a climb with "..".
        std::fs::remove_file(r.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink(
            "../../../../../../../../etc/shadow-nothing",
            r.path().join("etc/passwd"),
        )
        .unwrap();
        assert!(read_in_root(r.path(), "etc/passwd").is_none());
        // A relative link inside the root works.
        std::fs::remove_file(r.path().join("etc/passwd")).unwrap();
        std::fs::write(r.path().join("etc/passwd.real"), "x:x:3:4::/:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd.real", r.path().join("etc/passwd")).unwrap();
        assert_eq!(lookup_user(r.path(), "x").unwrap().uid, 3);
    }
}
