//! Control groups: one interface over cgroup v1, v2 and the hybrid layout, picked at run time.
//!
//! Hybrid hosts mount the v1 controllers under /sys/fs/cgroup/<controller> and a cgroup2
//! hierarchy at /sys/fs/cgroup/unified (often with no controllers, or only some). There the
//! container gets v1 cgroups for its limits and also joins the unified hierarchy, as runc does,
//! so tools that read cgroup2 membership still find it.

pub mod devices;
pub mod ebpf;
mod fs;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spec::Resources;

pub use fs::{MountInfo, parse_mountinfo, parse_proc_cgroup};

pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The cgroup layout of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Controllers on v1 hierarchies; `unified` is the cgroup2 mount of a hybrid host.
    V1 { unified: Option<PathBuf> },
    /// Everything on one cgroup2 hierarchy mounted at `root`.
    V2 { root: PathBuf },
}

impl Layout {
    pub fn detect() -> Result<Layout> {
        let root = Path::new(DEFAULT_ROOT);
        if is_cgroup2(root)? {
            return Ok(Layout::V2 {
                root: root.to_path_buf(),
            });
        }
        let unified = root.join("unified");
        let unified = match is_cgroup2(&unified) {
            Ok(true) => Some(unified),
            _ => None,
        };
        Ok(Layout::V1 { unified })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Layout::V1 { unified: Some(_) } => "hybrid",
            Layout::V1 { unified: None } => "v1",
            Layout::V2 { .. } => "v2",
        }
    }
}

fn is_cgroup2(path: &Path) -> Result<bool> {
    let st = nix::sys::statfs::statfs(path)
        .map_err(|e| Error::sys(format!("statfs {}", path.display()), e))?;
    Ok(st.filesystem_type().0 as i64 == CGROUP2_SUPER_MAGIC)
}

/// Where one container's cgroups are; stored in the container state so that later
/// commands act on the same directories whatever the host's mounts look like then.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupPaths {
    /// v1: hierarchy name (`memory`, `cpu,cpuacct`, `name=systemd`) to directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 directory: the only one on v2, the unified one on hybrid hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<PathBuf>,
    /// The mount point of the cgroup2 hierarchy that holds `unified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified_root: Option<PathBuf>,
    /// Whether `unified` is a full v2 hierarchy (true) or the hybrid side-hierarchy.
    #[serde(default)]
    pub v2: bool,
}

/// What every cgroup implementation offers the runtime.
pub trait Cgroup {
    /// Creates the directories (and enables controllers on v2). Returns the parent
    /// directories this call made, top first, so they can go with the container.
    fn create(&self) -> Result<Vec<PathBuf>>;
    /// Writes the limits of `linux.resources`.
    fn apply(&self, resources: &Resources) -> Result<()>;
    /// Replaces the device access rules (`devices::effective_rules` builds them).
    fn apply_devices(&self, rules: &[crate::spec::DeviceRule]) -> Result<()>;
    /// Moves a process into the cgroup.
    fn add_process(&self, pid: i32) -> Result<()>;
    /// Every process in the cgroup.
    fn procs(&self) -> Result<Vec<i32>>;
    /// Freezes or thaws every process.
    fn set_frozen(&self, frozen: bool) -> Result<()>;
    fn is_frozen(&self) -> Result<bool>;
    /// Removes the directories; processes must be gone.
    fn destroy(&self) -> Result<()>;
    fn paths(&self) -> &CgroupPaths;
    /// Statistics for `events --stats`.
    fn stats(&self) -> Result<Stats>;
}

/// Builds the cgroup of a new container from the spec's `cgroupsPath`.
///
/// An absolute path is taken from the root of each hierarchy; a relative one (or none,
/// which means the container ID) is below the runtime's own cgroup, as in runc.
pub fn for_new_container(
    layout: &Layout,
    cgroups_path: Option<&str>,
    id: &str,
) -> Result<Box<dyn Cgroup>> {
    let wanted = match cgroups_path {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => id.to_string(),
    };
    if wanted.contains(':') {
        return Err(Error::config(
            "linux.cgroupsPath",
            format!(
                "{wanted:?} looks like a systemd slice:prefix:name path; systemd cgroups are not supported"
            ),
        ));
    }
    let clean = clean_path(&wanted).ok_or_else(|| {
        Error::config(
            "linux.cgroupsPath",
            format!("{wanted:?} must not leave the cgroup root"),
        )
    })?;
    let absolute = wanted.starts_with('/');
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::io("reading", "/proc/self/cgroup", e))?;
    let own = parse_proc_cgroup(&own);
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading", "/proc/self/mountinfo", e))?;
    let mounts = parse_mountinfo(&mountinfo);
    let paths = resolve_paths(layout, &mounts, &own, &clean, absolute);
    Ok(from_paths(paths))
}

/// Rebuilds the cgroup handle of an existing container from its stored paths.
pub fn from_paths(paths: CgroupPaths) -> Box<dyn Cgroup> {
    if paths.v2 {
        Box::new(v2::V2Cgroup::new(paths))
    } else {
        Box::new(v1::V1Cgroup::new(paths))
    }
}

/// Joins the wanted path onto each hierarchy's mount point.
pub fn resolve_paths(
    layout: &Layout,
    mounts: &[MountInfo],
    own: &BTreeMap<String, String>,
    wanted: &Path,
    absolute: bool,
) -> CgroupPaths {
    let place = |mount_point: &Path, mount_root: &str, own_path: Option<&String>| {
        let base = if absolute {
            PathBuf::new()
        } else {
            // Our own cgroup as seen inside this mount (its root may be a sub-tree).
            let own_path = own_path.map(String::as_str).unwrap_or("/");
            let rel = Path::new(own_path)
                .strip_prefix(mount_root)
                .unwrap_or(Path::new(own_path));
            rel.strip_prefix("/").unwrap_or(rel).to_path_buf()
        };
        mount_point.join(base).join(wanted)
    };
    let mut paths = CgroupPaths::default();
    match layout {
        Layout::V2 { root } => {
            let mount_root = mounts
                .iter()
                .find(|m| m.fs_type == "cgroup2" && m.mount_point == *root)
                .map(|m| m.root.clone())
                .unwrap_or_else(|| "/".into());
            paths.unified = Some(place(root, &mount_root, own.get("")));
            paths.unified_root = Some(root.clone());
            paths.v2 = true;
        }
        Layout::V1 { unified } => {
            for m in mounts.iter().filter(|m| m.fs_type == "cgroup") {
                let name = m.hierarchy_name();
                if name.is_empty() || paths.v1.contains_key(&name) {
                    continue;
                }
                paths
                    .v1
                    .insert(name.clone(), place(&m.mount_point, &m.root, own.get(&name)));
            }
            if let Some(u) = unified {
                let mount_root = mounts
                    .iter()
                    .find(|m| m.fs_type == "cgroup2" && m.mount_point == *u)
                    .map(|m| m.root.clone())
                    .unwrap_or_else(|| "/".into());
                paths.unified = Some(place(u, &mount_root, own.get("")));
                paths.unified_root = Some(u.clone());
            }
        }
    }
    paths
}

/// Normalises a cgroup path without letting `..` climb above the root.
fn clean_path(p: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Writes one control file, with the file named in the error.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|e| Error::Cgroup {
        op: format!("writing {value:?}"),
        path,
        source: e,
    })
}

pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(|e| Error::Cgroup {
        op: "reading".into(),
        path,
        source: e,
    })
}

pub(crate) fn read_procs(dir: &Path) -> Result<Vec<i32>> {
    Ok(read_file(dir, "cgroup.procs")?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect())
}

/// Removes the parent directories a container's create made, deepest first, while they
/// are empty (another container may have moved in meanwhile; then they stay).
pub fn remove_created_parents(parents: &[PathBuf]) {
    for p in parents.iter().rev() {
        let _ = std::fs::remove_dir(p);
    }
}

/// Removes a cgroup directory, retrying while the kernel still counts exiting tasks.
pub(crate) fn remove_dir(dir: &Path) -> Result<()> {
    for attempt in 0..50 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => {
                return Err(Error::Cgroup {
                    op: "removing".into(),
                    path: dir.to_path_buf(),
                    source: e,
                });
            }
        }
    }
    Ok(())
}

/// Creates a directory and its parents, returning the ones this call made (top first).
pub(crate) fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for d in &missing {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::Cgroup {
                    op: "creating".into(),
                    path: d.clone(),
                    source: e,
                });
            }
        }
    }
    Ok(missing)
}

/// The subset of cgroup statistics `events --stats` reports, in runc's JSON shape.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryStats {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    #[serde(rename = "kernel")]
    pub kernel: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Parses `key value` lines (memory.stat, cpu.stat).
pub(crate) fn parse_flat_keyed(s: &str) -> BTreeMap<String, u64> {
    s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

pub(crate) fn parse_u64(s: &str) -> u64 {
    s.trim().parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const HYBRID_SELF: &str = "\
11:name=systemd:/
9:memory:/shim
3:cpuacct:/
2:cpu:/
0::/
";

    fn hybrid() -> Layout {
        Layout::V1 {
            unified: Some("/sys/fs/cgroup/unified".into()),
        }
    }

    #[test]
    fn hybrid_absolute_paths() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let own = parse_proc_cgroup(HYBRID_SELF);
        let p = resolve_paths(&hybrid(), &mounts, &own, Path::new("default/c1"), true);
        assert_eq!(
            p.v1["memory"],
            Path::new("/sys/fs/cgroup/memory/default/c1")
        );
        assert_eq!(p.v1["cpu"], Path::new("/sys/fs/cgroup/cpu/default/c1"));
        assert_eq!(
            p.v1["name=systemd"],
            Path::new("/sys/fs/cgroup/systemd/default/c1")
        );
        assert_eq!(
            p.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified/default/c1"))
        );
        assert!(!p.v2);
        assert_eq!(p.v1.len(), 4);
    }

    #[test]
    fn relative_paths_are_below_our_own_cgroup() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let own = parse_proc_cgroup(HYBRID_SELF);
        let p = resolve_paths(&hybrid(), &mounts, &own, Path::new("c1"), false);
        assert_eq!(p.v1["memory"], Path::new("/sys/fs/cgroup/memory/shim/c1"));
        assert_eq!(p.v1["cpu"], Path::new("/sys/fs/cgroup/cpu/c1"));
    }

    #[test]
    fn v2_paths() {
        let mounts = parse_mountinfo("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_proc_cgroup("0::/user.slice/session-1.scope\n");
        let layout = Layout::V2 {
            root: "/sys/fs/cgroup".into(),
        };
        let p = resolve_paths(&layout, &mounts, &own, Path::new("c1"), false);
        assert_eq!(
            p.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/user.slice/session-1.scope/c1"))
        );
        assert!(p.v2 && p.v1.is_empty());
        let p = resolve_paths(&layout, &mounts, &own, Path::new("a/b"), true);
        assert_eq!(p.unified.as_deref(), Some(Path::new("/sys/fs/cgroup/a/b")));
    }

    #[test]
    fn clean_path_confines_dot_dot() {
        assert_eq!(clean_path("/a/./b/../c"), Some(PathBuf::from("a/c")));
        assert_eq!(clean_path("../x"), None);
        assert_eq!(clean_path("/a/../../x"), None);
    }
}
