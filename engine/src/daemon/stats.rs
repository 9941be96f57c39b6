//! A container's resource usage read from its cgroup and its network namespace, in the
//! shape of Docker's `StatsJSON`. Both cgroup layouts are read: v1 (one hierarchy per
//! controller: `cpuacct`, `cpu`, `memory`, `pids`, `blkio`; this host's kind, hybrid
//! with an unused unified mount) and v2 (one unified tree), chosen by what the cgroup
//! filesystem root holds. The root is a parameter so the parsing is tested on a fake tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_api::stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats,
    ThrottlingData,
};

/// Go's zero time, what Docker reports as `read`/`preread` when there is no sample.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// `USER_HZ`: `cpuacct.stat` and `/proc/stat` count in these ticks (Docker assumes 100
/// too, as every Linux build since 2.6 uses).
const CLOCK_TICKS: u64 = 100;
const NANOS_PER_TICK: u64 = 1_000_000_000 / CLOCK_TICKS;

/// A cgroup filesystem mount (normally `/sys/fs/cgroup`).
#[derive(Debug, Clone)]
pub struct CgroupFs {
    root: PathBuf,
}

/// The resource part of one sample (the rest comes from the container's record).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
}

impl Default for CgroupFs {
    fn default() -> Self {
        CgroupFs::new("/sys/fs/cgroup")
    }
}

impl CgroupFs {
    pub fn new(root: impl Into<PathBuf>) -> CgroupFs {
        CgroupFs { root: root.into() }
    }

    /// v1 when the root carries per-controller hierarchies (a `memory` one at least).
    fn is_v1(&self) -> bool {
        self.root.join("memory").is_dir()
    }

    /// The directory of `cgroup` (a spec's `cgroupsPath`, `/parent/id`) in `controller`'s
    /// hierarchy (v1) or in the unified tree (v2).
    fn dir(&self, controller: &str, cgroup: &str) -> PathBuf {
        let rel = cgroup.trim_start_matches('/');
        if self.is_v1() {
            self.root.join(controller).join(rel)
        } else {
            self.root.join(rel)
        }
    }

    fn read(&self, controller: &str, cgroup: &str, file: &str) -> Option<String> {
        std::fs::read_to_string(self.dir(controller, cgroup).join(file)).ok()
    }

    fn read_u64(&self, controller: &str, cgroup: &str, file: &str) -> u64 {
        self.read(controller, cgroup, file)
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the container's cgroup exists (it goes with the task).
    pub fn exists(&self, cgroup: &str) -> bool {
        !cgroup.is_empty() && self.dir("memory", cgroup).is_dir()
    }

    /// The PIDs in the cgroup (host PID namespace), from `cgroup.procs` of the pids,
    /// then the memory hierarchy (v1), or the unified tree (v2).
    pub fn procs(&self, cgroup: &str) -> std::io::Result<Vec<u32>> {
        let mut last = None;
        for controller in ["pids", "memory", "cpu"] {
            match std::fs::read_to_string(self.dir(controller, cgroup).join("cgroup.procs")) {
                Ok(text) => {
                    return Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)))
    }

    /// Reads everything Docker reports for `cgroup`; files that are missing read as 0.
    /// `machine_memory` stands in for "no limit", as Docker's daemon does.
    pub fn sample(&self, cgroup: &str, machine_memory: u64) -> Sample {
        let mut s = if self.is_v1() {
            self.sample_v1(cgroup)
        } else {
            self.sample_v2(cgroup)
        };
        if s.memory.limit == 0 || (machine_memory > 0 && s.memory.limit > machine_memory) {
            s.memory.limit = machine_memory;
        }
        s
    }

    fn sample_v1(&self, cg: &str) -> Sample {
        let mut cpu = CpuStats::default();
        cpu.cpu_usage.total_usage = self.read_u64("cpuacct", cg, "cpuacct.usage");
        cpu.cpu_usage.percpu_usage = self
            .read("cpuacct", cg, "cpuacct.usage_percpu")
            .map(|t| {
                t.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let stat = keyed(&self.read("cpuacct", cg, "cpuacct.stat").unwrap_or_default());
        cpu.cpu_usage.usage_in_usermode = stat.get("user").copied().unwrap_or(0) * NANOS_PER_TICK;
        cpu.cpu_usage.usage_in_kernelmode =
            stat.get("system").copied().unwrap_or(0) * NANOS_PER_TICK;
        let throttle = keyed(&self.read("cpu", cg, "cpu.stat").unwrap_or_default());
        cpu.throttling_data = ThrottlingData {
            periods: throttle.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: throttle.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: throttle.get("throttled_time").copied().unwrap_or(0),
        };
        let memory = MemoryStats {
            usage: self.read_u64("memory", cg, "memory.usage_in_bytes"),
            max_usage: self.read_u64("memory", cg, "memory.max_usage_in_bytes"),
            stats: keyed(&self.read("memory", cg, "memory.stat").unwrap_or_default()),
            failcnt: self.read_u64("memory", cg, "memory.failcnt"),
            limit: self.read_u64("memory", cg, "memory.limit_in_bytes"),
        };
        let bytes = self
            .read("blkio", cg, "blkio.throttle.io_service_bytes_recursive")
            .map(|t| blkio_v1(&t));
        let ios = self
            .read("blkio", cg, "blkio.throttle.io_serviced_recursive")
            .map(|t| blkio_v1(&t));
        Sample {
            cpu,
            memory,
            pids: self.pids(cg),
            blkio: BlkioStats {
                io_service_bytes_recursive: bytes,
                io_serviced_recursive: ios,
                ..Default::default()
            },
        }
    }

    fn sample_v2(&self, cg: &str) -> Sample {
        let stat = keyed(&self.read("cpu", cg, "cpu.stat").unwrap_or_default());
        let us = |k: &str| stat.get(k).copied().unwrap_or(0);
        let cpu = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: us("usage_usec") * 1000,
                percpu_usage: Vec::new(),
                usage_in_kernelmode: us("system_usec") * 1000,
                usage_in_usermode: us("user_usec") * 1000,
            },
            throttling_data: ThrottlingData {
                periods: us("nr_periods"),
                throttled_periods: us("nr_throttled"),
                throttled_time: us("throttled_usec") * 1000,
            },
            ..Default::default()
        };
        let memory = MemoryStats {
            usage: self.read_u64("memory", cg, "memory.current"),
            stats: keyed(&self.read("memory", cg, "memory.stat").unwrap_or_default()),
            // "max" does not parse: no limit (the machine's memory stands in).
            limit: self.read_u64("memory", cg, "memory.max"),
            ..Default::default()
        };
        let (bytes, ios) = self
            .read("io", cg, "io.stat")
            .map(|t| io_v2(&t))
            .unwrap_or_default();
        Sample {
            cpu,
            memory,
            pids: self.pids(cg),
            blkio: BlkioStats {
                io_service_bytes_recursive: Some(bytes),
                io_serviced_recursive: Some(ios),
                ..Default::default()
            },
        }
    }

    fn pids(&self, cg: &str) -> PidsStats {
        PidsStats {
            current: self.read_u64("pids", cg, "pids.current"),
            // "max" does not parse: unlimited, reported as 0.
            limit: self.read_u64("pids", cg, "pids.max"),
        }
    }
}

/// `key value` lines (`memory.stat`, `cpu.stat`, `cpuacct.stat`).
fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// v1 `blkio.throttle.*`: `MAJ:MIN Op VALUE` lines, then `Total N` (dropped).
fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, value) = (f.next()?, f.next()?, f.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...`, as Docker maps it: bytes
/// and operations, each as `read` and `write` entries.
fn io_v2(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "read"),
                "wbytes" => (&mut bytes, "write"),
                "rios" => (&mut ios, "read"),
                "wios" => (&mut ios, "write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// The host's CPU time in nanoseconds and its number of online CPUs, from `/proc/stat`
/// (Docker's `getSystemCPUUsage`).
pub fn system_cpu(proc_stat: &str) -> (u64, u32) {
    let mut total = 0;
    let mut cpus = 0;
    for line in proc_stat.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                // user nice system idle iowait irq softirq steal (guest time is in user).
                total =
                    f.take(8).filter_map(|v| v.parse::<u64>().ok()).sum::<u64>() * NANOS_PER_TICK;
            }
            Some(k) if k.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn machine_memory(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The interfaces of `/proc/<pid>/net/dev`, loopback left out (as Docker lists only the
/// container's endpoints).
pub fn net_dev(text: &str) -> BTreeMap<String, NetworkStats> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            if v.len() < 12 {
                return None;
            }
            Some((
                name.to_owned(),
                NetworkStats {
                    rx_bytes: v[0],
                    rx_packets: v[1],
                    rx_errors: v[2],
                    rx_dropped: v[3],
                    tx_bytes: v[8],
                    tx_packets: v[9],
                    tx_errors: v[10],
                    tx_dropped: v[11],
                },
            ))
        })
        .collect()
}

/// Reads `/proc/<pid>/net/dev`; `None` when the process is gone.
pub fn networks_of(pid: u32) -> Option<BTreeMap<String, NetworkStats>> {
    let path = Path::new("/proc").join(pid.to_string()).join("net/dev");
    std::fs::read_to_string(path).ok().map(|t| net_dev(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn v1_hierarchies_read_like_dockers() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let cg = "/ns/abc";
        write(r, "cpuacct/ns/abc/cpuacct.usage", "5000\n");
        write(r, "cpuacct/ns/abc/cpuacct.usage_percpu", "2000 3000 \n");
        write(r, "cpuacct/ns/abc/cpuacct.stat", "user 3\nsystem 1\n");
        write(
            r,
            "cpu/ns/abc/cpu.stat",
            "nr_periods 4\nnr_throttled 2\nthrottled_time 99\n",
        );
        write(r, "memory/ns/abc/memory.usage_in_bytes", "8192\n");
        write(r, "memory/ns/abc/memory.max_usage_in_bytes", "9000\n");
        write(
            r,
            "memory/ns/abc/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        write(
            r,
            "memory/ns/abc/memory.stat",
            "cache 4096\ntotal_inactive_file 100\n",
        );
        write(r, "memory/ns/abc/cgroup.procs", "10\n11\n");
        write(r, "pids/ns/abc/pids.current", "2\n");
        write(r, "pids/ns/abc/pids.max", "max\n");
        write(r, "pids/ns/abc/cgroup.procs", "10\n11\n");
        write(
            r,
            "blkio/ns/abc/blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 512\n8:0 Write 1024\n8:0 Total 1536\nTotal 1536\n",
        );
        let fs = CgroupFs::new(r);
        assert!(fs.exists(cg));
        assert_eq!(fs.procs(cg).unwrap(), [10, 11]);
        let s = fs.sample(cg, 1 << 30);
        assert_eq!(s.cpu.cpu_usage.total_usage, 5000);
        assert_eq!(s.cpu.cpu_usage.percpu_usage, [2000, 3000]);
        assert_eq!(s.cpu.cpu_usage.usage_in_usermode, 30_000_000);
        assert_eq!(s.cpu.cpu_usage.usage_in_kernelmode, 10_000_000);
        assert_eq!(s.cpu.throttling_data.throttled_periods, 2);
        assert_eq!(s.memory.usage, 8192);
        assert_eq!(s.memory.max_usage, 9000);
        assert_eq!(s.memory.limit, 1 << 30, "no limit: the machine's memory");
        assert_eq!(s.memory.stats["total_inactive_file"], 100);
        assert_eq!(
            s.pids,
            PidsStats {
                current: 2,
                limit: 0
            }
        );
        let bytes = s.blkio.io_service_bytes_recursive.unwrap();
        assert_eq!(bytes.len(), 3);
        assert_eq!((bytes[1].op.as_str(), bytes[1].value), ("Write", 1024));
        assert!(!fs.exists("/ns/gone"));
    }

    #[test]
    fn v2_unified_tree_reads_like_dockers() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(
            r,
            "ns/abc/cpu.stat",
            "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
        );
        write(r, "ns/abc/memory.current", "4096\n");
        write(r, "ns/abc/memory.max", "1048576\n");
        write(r, "ns/abc/memory.stat", "anon 1\ninactive_file 2\n");
        write(r, "ns/abc/pids.current", "1\n");
        write(r, "ns/abc/pids.max", "100\n");
        write(r, "ns/abc/cgroup.procs", "42\n");
        write(
            r,
            "ns/abc/io.stat",
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
        );
        let fs = CgroupFs::new(r);
        assert_eq!(fs.procs("/ns/abc").unwrap(), [42]);
        let s = fs.sample("/ns/abc", 1 << 30);
        assert_eq!(s.cpu.cpu_usage.total_usage, 7000);
        assert_eq!(s.cpu.cpu_usage.usage_in_usermode, 5000);
        assert_eq!(s.memory.usage, 4096);
        assert_eq!(s.memory.limit, 1_048_576);
        assert_eq!(
            s.pids,
            PidsStats {
                current: 1,
                limit: 100
            }
        );
        let bytes = s.blkio.io_service_bytes_recursive.unwrap();
        assert_eq!((bytes[0].op.as_str(), bytes[0].value), ("read", 10));
        assert_eq!((bytes[1].op.as_str(), bytes[1].value), ("write", 20));
        assert_eq!(s.blkio.io_serviced_recursive.unwrap()[1].value, 2);
    }

    #[test]
    fn host_files_parse() {
        let (total, cpus) = system_cpu(
            "cpu  10 0 5 85 0 0 0 0 0 0\ncpu0 5 0 2 43 0 0 0 0 0 0\ncpu1 5 0 3 42 0 0 0 0 0 0\nintr 1\n",
        );
        assert_eq!(total, 100 * NANOS_PER_TICK);
        assert_eq!(cpus, 2);
        assert_eq!(
            machine_memory("MemTotal:       16384 kB\nMemFree: 1 kB\n"),
            16384 * 1024
        );
        let nets = net_dev(
            "Inter-|   Receive |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    1500      10    1    2    0     0          0         0      700       5    0    3    0     0       0          0\n",
        );
        assert_eq!(nets.len(), 1);
        let e = &nets["eth0"];
        assert_eq!(
            (e.rx_bytes, e.rx_packets, e.rx_errors, e.rx_dropped),
            (1500, 10, 1, 2)
        );
        assert_eq!((e.tx_bytes, e.tx_packets, e.tx_dropped), (700, 5, 3));
    }
}
