//! cgroup v1: one directory per hierarchy; on hybrid hosts also the unified directory.

use std::path::{Path, PathBuf};

use crate::cgroups::{
    Cgroup, CgroupPaths, Stats, create_dirs, devices, parse_flat_keyed, parse_u64, read_file,
    read_procs, remove_dir, v2, write_file,
};
use crate::error::{Error, Result};
use crate::spec::{DeviceRule, Resources};

pub struct V1Cgroup {
    paths: CgroupPaths,
}

impl V1Cgroup {
    pub fn new(paths: CgroupPaths) -> Self {
        V1Cgroup { paths }
    }

    /// The directory of the hierarchy that carries `controller`.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.paths
            .v1
            .iter()
            .find(|(name, _)| name.split(',').any(|c| c == controller))
            .map(|(_, p)| p.as_path())
    }

    fn need(&self, controller: &str) -> Result<&Path> {
        self.dir(controller).ok_or_else(|| {
            Error::Unsupported(format!(
                "the {controller} cgroup controller (not mounted on this host)"
            ))
        })
    }

    fn apply_memory(&self, res: &Resources) -> Result<()> {
        let Some(mem) = &res.memory else {
            return Ok(());
        };
        let dir = self.need("memory")?;
        let swap_file = dir.join("memory.memsw.limit_in_bytes");
        match (mem.limit, mem.swap) {
            (limit, Some(swap)) if swap_file.exists() => {
                // memsw must stay >= limit: try both orders, as one of them is always legal.
                let write_limit = || match limit {
                    Some(l) => write_file(dir, "memory.limit_in_bytes", &l.to_string()),
                    None => Ok(()),
                };
                let write_swap =
                    || write_file(dir, "memory.memsw.limit_in_bytes", &swap.to_string());
                if write_swap().and_then(|_| write_limit()).is_err() {
                    write_limit()?;
                    write_swap()?;
                }
            }
            (limit, swap) => {
                if let Some(l) = limit {
                    write_file(dir, "memory.limit_in_bytes", &l.to_string())?;
                }
                if let Some(s) = swap
                    && Some(s) != limit
                    && s != -1
                    && s != 0
                {
                    tracing::warn!(
                        "linux.resources.memory.swap ignored: this kernel has no swap accounting (memory.memsw.limit_in_bytes)"
                    );
                }
            }
        }
        if let Some(r) = mem.reservation {
            write_file(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
        }
        if mem.kernel.is_some() {
            tracing::warn!("linux.resources.memory.kernel is deprecated and ignored");
        }
        if let Some(t) = mem.kernel_tcp {
            write_file(dir, "memory.kmem.tcp.limit_in_bytes", &t.to_string())?;
        }
        if let Some(s) = mem.swappiness {
            if s > 100 {
                return Err(Error::config(
                    "linux.resources.memory.swappiness",
                    format!("{s} is above 100"),
                ));
            }
            write_file(dir, "memory.swappiness", &s.to_string())?;
        }
        if mem.disable_oom_killer == Some(true) {
            write_file(dir, "memory.oom_control", "1")?;
        }
        Ok(())
    }

    fn apply_cpu(&self, res: &Resources) -> Result<()> {
        let Some(cpu) = &res.cpu else {
            return Ok(());
        };
        if cpu.shares.is_some()
            || cpu.quota.is_some()
            || cpu.period.is_some()
            || cpu.realtime_runtime.is_some()
            || cpu.realtime_period.is_some()
        {
            let dir = self.need("cpu")?;
            if let Some(s) = cpu.shares {
                write_file(dir, "cpu.shares", &s.to_string())?;
            }
            if let Some(p) = cpu.period {
                write_file(dir, "cpu.cfs_period_us", &p.to_string())?;
            }
            if let Some(q) = cpu.quota {
                write_file(dir, "cpu.cfs_quota_us", &q.to_string())?;
            }
            if let Some(p) = cpu.realtime_period {
                write_file(dir, "cpu.rt_period_us", &p.to_string())?;
            }
            if let Some(r) = cpu.realtime_runtime {
                write_file(dir, "cpu.rt_runtime_us", &r.to_string())?;
            }
        }
        if cpu.cpus.is_some() || cpu.mems.is_some() {
            let dir = self.need("cpuset")?;
            if let Some(c) = &cpu.cpus {
                write_file(dir, "cpuset.cpus", c)?;
            }
            if let Some(m) = &cpu.mems {
                write_file(dir, "cpuset.mems", m)?;
            }
        }
        Ok(())
    }

    fn apply_blkio(&self, res: &Resources) -> Result<()> {
        let Some(b) = &res.block_io else {
            return Ok(());
        };
        let dir = self.need("blkio")?;
        let need_file = |file: &str| -> Result<()> {
            if dir.join(file).exists() {
                Ok(())
            } else {
                Err(Error::Unsupported(format!(
                    "linux.resources.blockIO: {file} (this kernel's blkio controller lacks it; it needs the BFQ I/O scheduler)"
                )))
            }
        };
        if let Some(w) = b.weight {
            need_file("blkio.weight")?;
            write_file(dir, "blkio.weight", &w.to_string())?;
        }
        if let Some(w) = b.leaf_weight {
            need_file("blkio.leaf_weight")?;
            write_file(dir, "blkio.leaf_weight", &w.to_string())?;
        }
        for wd in &b.weight_device {
            if let Some(w) = wd.weight {
                need_file("blkio.weight_device")?;
                write_file(
                    dir,
                    "blkio.weight_device",
                    &format!("{}:{} {w}", wd.major, wd.minor),
                )?;
            }
        }
        for (file, list) in [
            (
                "blkio.throttle.read_bps_device",
                &b.throttle_read_bps_device,
            ),
            (
                "blkio.throttle.write_bps_device",
                &b.throttle_write_bps_device,
            ),
            (
                "blkio.throttle.read_iops_device",
                &b.throttle_read_iops_device,
            ),
            (
                "blkio.throttle.write_iops_device",
                &b.throttle_write_iops_device,
            ),
        ] {
            for t in list {
                need_file(file)?;
                write_file(dir, file, &format!("{}:{} {}", t.major, t.minor, t.rate))?;
            }
        }
        Ok(())
    }

    fn apply_hugetlb(&self, res: &Resources) -> Result<()> {
        if res.hugepage_limits.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.dir("hugetlb") {
            for h in &res.hugepage_limits {
                write_file(
                    dir,
                    &format!("hugetlb.{}.limit_in_bytes", h.page_size),
                    &h.limit.to_string(),
                )?;
            }
            return Ok(());
        }
        // Hybrid hosts may carry hugetlb on the unified hierarchy only (this one does).
        if let (Some(unified), Some(root)) = (&self.paths.unified, &self.paths.unified_root) {
            v2::enable_controllers(root, unified, &["hugetlb"])?;
            for h in &res.hugepage_limits {
                write_file(
                    unified,
                    &format!("hugetlb.{}.max", h.page_size),
                    &h.limit.to_string(),
                )?;
            }
            return Ok(());
        }
        Err(Error::Unsupported(
            "the hugetlb cgroup controller (not mounted on this host)".into(),
        ))
    }

    /// A fresh cpuset cgroup starts with no CPUs or memory nodes; copy the parent's.
    fn init_cpuset(created: &[PathBuf]) -> Result<()> {
        for d in created {
            let Some(parent) = d.parent() else { continue };
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if read_file(d, file)?.trim().is_empty() {
                    let v = read_file(parent, file)?;
                    write_file(d, file, v.trim())?;
                }
            }
        }
        Ok(())
    }
}

impl Cgroup for V1Cgroup {
    fn create(&self) -> Result<Vec<PathBuf>> {
        let mut parents = Vec::new();
        let unified = self.paths.unified.iter().map(|u| ("unified", u));
        for (name, dir) in self
            .paths
            .v1
            .iter()
            .map(|(n, d)| (n.as_str(), d))
            .chain(unified)
        {
            let created = create_dirs(dir)?;
            if name.split(',').any(|c| c == "cpuset") {
                Self::init_cpuset(&created)?;
            }
            parents.extend(created.into_iter().filter(|d| d != dir));
        }
        Ok(parents)
    }

    fn apply(&self, res: &Resources) -> Result<()> {
        self.apply_memory(res)?;
        self.apply_cpu(res)?;
        if let Some(p) = &res.pids {
            let dir = self.need("pids")?;
            let v = if p.limit > 0 {
                p.limit.to_string()
            } else {
                "max".into()
            };
            write_file(dir, "pids.max", &v)?;
        }
        self.apply_blkio(res)?;
        self.apply_hugetlb(res)?;
        if !res.unified.is_empty() {
            return Err(Error::config(
                "linux.resources.unified",
                "needs a cgroup v2 host (this one uses cgroup v1 controllers)",
            ));
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        let Some(dir) = self.dir("devices") else {
            tracing::warn!("no devices cgroup on this host: device rules are not enforced");
            return Ok(());
        };
        for rule in rules {
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write_file(dir, file, &devices::v1_line(rule))?;
        }
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        for dir in self.paths.v1.values().chain(self.paths.unified.iter()) {
            write_file(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    fn procs(&self) -> Result<Vec<i32>> {
        let dir = ["pids", "freezer", "memory", "cpu", "devices"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.paths.v1.values().next().map(PathBuf::as_path))
            .or(self.paths.unified.as_deref());
        match dir {
            Some(d) if d.exists() => read_procs(d),
            _ => Ok(Vec::new()),
        }
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let dir = self.need("freezer")?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        for _ in 0..1000 {
            write_file(dir, "freezer.state", want)?;
            if read_file(dir, "freezer.state")?.trim() == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(Error::Cgroup {
            op: format!("waiting for freezer.state to become {want}"),
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        })
    }

    fn is_frozen(&self) -> Result<bool> {
        match self.dir("freezer") {
            Some(dir) if dir.exists() => Ok(read_file(dir, "freezer.state")?.trim() != "THAWED"),
            _ => Ok(false),
        }
    }

    fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        for dir in self.paths.v1.values().chain(self.paths.unified.iter()) {
            if let Err(e) = remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        if let Some(dir) = self.dir("cpuacct") {
            s.cpu.usage.total = parse_u64(&read_file(dir, "cpuacct.usage").unwrap_or_default());
            s.cpu.usage.percpu = read_file(dir, "cpuacct.usage_percpu")
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            // cpuacct.stat counts USER_HZ ticks; report nanoseconds like the other fields.
            let ticks = parse_flat_keyed(&read_file(dir, "cpuacct.stat").unwrap_or_default());
            let ns_per_tick = 1_000_000_000 / 100;
            s.cpu.usage.user = ticks.get("user").copied().unwrap_or(0) * ns_per_tick;
            s.cpu.usage.kernel = ticks.get("system").copied().unwrap_or(0) * ns_per_tick;
        }
        if let Some(dir) = self.dir("cpu") {
            let st = parse_flat_keyed(&read_file(dir, "cpu.stat").unwrap_or_default());
            s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
            s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
            s.cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
        }
        if let Some(dir) = self.dir("memory") {
            let get = |f: &str| parse_u64(&read_file(dir, f).unwrap_or_default());
            s.memory.usage.usage = get("memory.usage_in_bytes");
            s.memory.usage.max = get("memory.max_usage_in_bytes");
            s.memory.usage.limit = get("memory.limit_in_bytes");
            s.memory.usage.failcnt = get("memory.failcnt");
            s.memory.swap.usage = get("memory.memsw.usage_in_bytes");
            s.memory.swap.limit = get("memory.memsw.limit_in_bytes");
            s.memory.raw = parse_flat_keyed(&read_file(dir, "memory.stat").unwrap_or_default());
            s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        }
        if let Some(dir) = self.dir("pids") {
            s.pids.current = parse_u64(&read_file(dir, "pids.current").unwrap_or_default());
            s.pids.limit = parse_u64(&read_file(dir, "pids.max").unwrap_or_default());
        }
        Ok(s)
    }
}
