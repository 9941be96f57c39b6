//! cgroup v2: one directory in the unified hierarchy; device rules through eBPF.

use std::path::Path;

use crate::cgroups::{
    Cgroup, CgroupPaths, Stats, create_dirs, ebpf, parse_flat_keyed, parse_u64, read_file,
    read_procs, remove_dir, write_file,
};
use crate::error::{Error, Result};
use crate::spec::{DeviceRule, Resources};

/// Controllers a container may need, enabled on the way down from the root.
const WANTED: [&str; 6] = ["cpu", "cpuset", "io", "memory", "pids", "hugetlb"];

pub struct V2Cgroup {
    paths: CgroupPaths,
}

impl V2Cgroup {
    pub fn new(paths: CgroupPaths) -> Self {
        V2Cgroup { paths }
    }

    fn dir(&self) -> &Path {
        self.paths
            .unified
            .as_deref()
            .expect("a v2 cgroup always has its unified path")
    }

    fn write(&self, file: &str, value: &str) -> Result<()> {
        let dir = self.dir();
        if !dir.join(file).exists() {
            let controller = file.split('.').next().unwrap_or(file);
            return Err(Error::Unsupported(format!(
                "{file} (the {controller} controller is not enabled for {})",
                dir.display()
            )));
        }
        write_file(dir, file, value)
    }
}

/// Turns on `wanted` controllers (those available) in `cgroup.subtree_control` of every
/// cgroup from `root` down to the parent of `leaf`, so that `leaf` gets their files.
pub fn enable_controllers(root: &Path, leaf: &Path, wanted: &[&str]) -> Result<()> {
    let Ok(rel) = leaf.strip_prefix(root) else {
        return Ok(());
    };
    let root_available = read_file(root, "cgroup.controllers").unwrap_or_default();
    let mut dir = root.to_path_buf();
    let components: Vec<_> = rel.components().collect();
    for comp in components
        .iter()
        .take(components.len().saturating_sub(1))
        .map(Some)
        .chain([None])
    {
        let available =
            read_file(&dir, "cgroup.controllers").unwrap_or_else(|_| root_available.clone());
        let enable: Vec<String> = wanted
            .iter()
            .filter(|c| available.split_whitespace().any(|a| a == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if !enable.is_empty()
            && let Err(e) = write_file(&dir, "cgroup.subtree_control", &enable.join(" "))
        {
            // EBUSY: the "no internal processes" rule; the limits that need these
            // controllers then fail with a clear message of their own.
            tracing::debug!("enabling controllers in {}: {e}", dir.display());
        }
        match comp {
            Some(c) => dir.push(c),
            None => break,
        }
    }
    Ok(())
}

/// OCI `cpu.shares` (2..262144) to cgroup v2 `cpu.weight` (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// OCI blkio weight (10..1000) to v2 `io.weight` (1..10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w.clamp(10, 1000)) - 10) * 9999 / 990
}

impl Cgroup for V2Cgroup {
    fn create(&self) -> Result<Vec<std::path::PathBuf>> {
        let created = create_dirs(self.dir())?;
        if let Some(root) = &self.paths.unified_root {
            enable_controllers(root, self.dir(), &WANTED)?;
        }
        Ok(created.into_iter().filter(|d| d != self.dir()).collect())
    }

    fn apply(&self, res: &Resources) -> Result<()> {
        if let Some(mem) = &res.memory {
            let fmt = |v: i64| {
                if v < 0 {
                    "max".to_string()
                } else {
                    v.to_string()
                }
            };
            if let Some(l) = mem.limit {
                self.write("memory.max", &fmt(l))?;
            }
            if let Some(s) = mem.swap {
                // OCI's swap is memory+swap; v2 limits swap alone.
                let v = match (s, mem.limit) {
                    (s, _) if s < 0 => "max".to_string(),
                    (s, Some(l)) if l >= 0 => (s - l).max(0).to_string(),
                    (s, _) => s.to_string(),
                };
                self.write("memory.swap.max", &v)?;
            }
            if let Some(r) = mem.reservation {
                self.write("memory.low", &fmt(r))?;
            }
            if mem.kernel.is_some() || mem.kernel_tcp.is_some() {
                tracing::warn!(
                    "linux.resources.memory.kernel/kernelTCP have no cgroup v2 equivalent and are ignored"
                );
            }
            if mem.disable_oom_killer == Some(true) {
                return Err(Error::config(
                    "linux.resources.memory.disableOOMKiller",
                    "cgroup v2 cannot disable the OOM killer",
                ));
            }
        }
        if let Some(cpu) = &res.cpu {
            if let Some(s) = cpu.shares {
                self.write("cpu.weight", &shares_to_weight(s).to_string())?;
            }
            if cpu.quota.is_some() || cpu.period.is_some() {
                let quota = match cpu.quota {
                    Some(q) if q > 0 => q.to_string(),
                    _ => "max".into(),
                };
                let period = cpu.period.unwrap_or(100_000);
                self.write("cpu.max", &format!("{quota} {period}"))?;
            }
            if let Some(c) = &cpu.cpus {
                self.write("cpuset.cpus", c)?;
            }
            if let Some(m) = &cpu.mems {
                self.write("cpuset.mems", m)?;
            }
            if cpu.realtime_runtime.is_some() || cpu.realtime_period.is_some() {
                return Err(Error::config(
                    "linux.resources.cpu.realtimeRuntime",
                    "realtime scheduling limits are not available on cgroup v2",
                ));
            }
        }
        if let Some(p) = &res.pids {
            let v = if p.limit > 0 {
                p.limit.to_string()
            } else {
                "max".into()
            };
            self.write("pids.max", &v)?;
        }
        if let Some(b) = &res.block_io {
            if let Some(w) = b.weight {
                self.write("io.weight", &format!("default {}", blkio_to_io_weight(w)))?;
            }
            for wd in &b.weight_device {
                if let Some(w) = wd.weight {
                    self.write(
                        "io.weight",
                        &format!("{}:{} {}", wd.major, wd.minor, blkio_to_io_weight(w)),
                    )?;
                }
            }
            for (key, list) in [
                ("rbps", &b.throttle_read_bps_device),
                ("wbps", &b.throttle_write_bps_device),
                ("riops", &b.throttle_read_iops_device),
                ("wiops", &b.throttle_write_iops_device),
            ] {
                for t in list {
                    self.write(
                        "io.max",
                        &format!("{}:{} {key}={}", t.major, t.minor, t.rate),
                    )?;
                }
            }
        }
        for h in &res.hugepage_limits {
            self.write(
                &format!("hugetlb.{}.max", h.page_size),
                &h.limit.to_string(),
            )?;
        }
        for (key, value) in &res.unified {
            if key.contains('/') || key.starts_with('.') || !key.contains('.') {
                return Err(Error::config(
                    format!("linux.resources.unified[{key:?}]"),
                    "must name a cgroup interface file such as memory.high",
                ));
            }
            self.write(key, value)?;
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        ebpf::attach(self.dir(), rules)
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        write_file(self.dir(), "cgroup.procs", &pid.to_string())
    }

    fn procs(&self) -> Result<Vec<i32>> {
        if !self.dir().exists() {
            return Ok(Vec::new());
        }
        read_procs(self.dir())
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let want = if frozen { "1" } else { "0" };
        self.write("cgroup.freeze", want)?;
        for _ in 0..1000 {
            let events = parse_flat_keyed(&read_file(self.dir(), "cgroup.events")?);
            if events.get("frozen").copied().unwrap_or(0).to_string() == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(Error::Cgroup {
            op: format!("waiting for cgroup.events to say frozen {want}"),
            path: self.dir().to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        })
    }

    fn is_frozen(&self) -> Result<bool> {
        match read_file(self.dir(), "cgroup.freeze") {
            Ok(v) => Ok(v.trim() == "1"),
            Err(_) => Ok(false),
        }
    }

    fn destroy(&self) -> Result<()> {
        remove_dir(self.dir())
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    fn stats(&self) -> Result<Stats> {
        let dir = self.dir();
        let mut s = Stats::default();
        let cpu = parse_flat_keyed(&read_file(dir, "cpu.stat").unwrap_or_default());
        let get = |k: &str| cpu.get(k).copied().unwrap_or(0);
        s.cpu.usage.total = get("usage_usec") * 1000;
        s.cpu.usage.user = get("user_usec") * 1000;
        s.cpu.usage.kernel = get("system_usec") * 1000;
        s.cpu.throttling.periods = get("nr_periods");
        s.cpu.throttling.throttled_periods = get("nr_throttled");
        s.cpu.throttling.throttled_time = get("throttled_usec") * 1000;
        let read = |f: &str| read_file(dir, f).unwrap_or_default();
        s.memory.usage.usage = parse_u64(&read("memory.current"));
        s.memory.usage.max = parse_u64(&read("memory.peak"));
        s.memory.usage.limit = parse_u64(&read("memory.max"));
        s.memory.swap.usage = parse_u64(&read("memory.swap.current"));
        s.memory.swap.limit = parse_u64(&read("memory.swap.max"));
        s.memory.raw = parse_flat_keyed(&read("memory.stat"));
        s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
        let events = parse_flat_keyed(&read("memory.events"));
        s.memory.usage.failcnt = events.get("max").copied().unwrap_or(0);
        s.pids.current = parse_u64(&read("pids.current"));
        s.pids.limit = parse_u64(&read("pids.max"));
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Cpu, Memory, Pids};

    /// A directory tree that looks like a cgroup2 mount to the code under test.
    fn fake_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        root
    }

    fn fake_cgroup(root: &Path, rel: &str) -> V2Cgroup {
        let leaf = root.join(rel);
        let cg = V2Cgroup::new(CgroupPaths {
            unified: Some(leaf.clone()),
            unified_root: Some(root.to_path_buf()),
            v2: true,
            ..CgroupPaths::default()
        });
        cg.create().unwrap();
        // The kernel would create the interface files; the fake makes the ones we write.
        for f in [
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "cpu.weight",
            "cpu.max",
            "pids.max",
            "cgroup.procs",
            "cgroup.freeze",
        ] {
            std::fs::write(leaf.join(f), "").unwrap();
        }
        cg
    }

    #[test]
    fn create_enables_controllers_down_the_tree() {
        let root = fake_root();
        fake_cgroup(root.path(), "a/b/c");
        for level in ["", "a", "a/b"] {
            let sc =
                std::fs::read_to_string(root.path().join(level).join("cgroup.subtree_control"))
                    .unwrap();
            assert_eq!(sc, "+cpu +cpuset +io +memory +pids", "level {level:?}");
        }
        assert!(!root.path().join("a/b/c/cgroup.subtree_control").exists());
    }

    #[test]
    fn limits_are_written_in_v2_units() {
        let root = fake_root();
        let cg = fake_cgroup(root.path(), "c1");
        let res = Resources {
            memory: Some(Memory {
                limit: Some(64 << 20),
                swap: Some(96 << 20),
                ..Memory::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                ..Cpu::default()
            }),
            pids: Some(Pids { limit: 10 }),
            ..Resources::default()
        };
        cg.apply(&res).unwrap();
        let read = |f: &str| std::fs::read_to_string(root.path().join("c1").join(f)).unwrap();
        assert_eq!(read("memory.max"), (64u64 << 20).to_string());
        assert_eq!(read("memory.swap.max"), (32u64 << 20).to_string());
        assert_eq!(read("cpu.weight"), "39");
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("pids.max"), "10");
    }

    #[test]
    fn missing_controller_file_is_a_clear_error() {
        let root = fake_root();
        let cg = fake_cgroup(root.path(), "c1");
        let res = Resources {
            hugepage_limits: vec![crate::spec::HugepageLimit {
                page_size: "2MB".into(),
                limit: 1,
            }],
            ..Resources::default()
        };
        let msg = cg.apply(&res).unwrap_err().to_string();
        assert!(
            msg.contains("hugetlb.2MB.max") && msg.contains("not enabled"),
            "{msg}"
        );
    }

    #[test]
    fn unified_keys_are_checked() {
        let root = fake_root();
        let cg = fake_cgroup(root.path(), "c1");
        let mut res = Resources::default();
        res.unified.insert("../escape".into(), "1".into());
        assert!(cg.apply(&res).is_err());
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }
}
