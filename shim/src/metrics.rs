//! Task statistics: the runtime's `events --stats` JSON (runc's shape) turned into
//! containerd's cgroup v1 `Metrics`, which `ctr tasks metrics` and the engine decode.

use myproto::io::containerd::cgroups::v1 as cg;
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn entry(v: &Value) -> Option<cg::MemoryEntry> {
    Some(cg::MemoryEntry {
        limit: u(&v["limit"]),
        usage: u(&v["usage"]),
        max: u(&v["max"]),
        failcnt: u(&v["failcnt"]),
    })
}

pub fn from_runtime_stats(s: &Value) -> prost_types::Any {
    let raw = &s["memory"]["raw"];
    let metrics = cg::Metrics {
        pids: Some(cg::PidsStat {
            current: u(&s["pids"]["current"]),
            limit: u(&s["pids"]["limit"]),
        }),
        cpu: Some(cg::CpuStat {
            usage: Some(cg::CpuUsage {
                total: u(&s["cpu"]["usage"]["total"]),
                kernel: u(&s["cpu"]["usage"]["kernel"]),
                user: u(&s["cpu"]["usage"]["user"]),
                per_cpu: s["cpu"]["usage"]["percpu"]
                    .as_array()
                    .map(|a| a.iter().map(u).collect())
                    .unwrap_or_default(),
            }),
            throttling: Some(cg::Throttle {
                periods: u(&s["cpu"]["throttling"]["periods"]),
                throttled_periods: u(&s["cpu"]["throttling"]["throttledPeriods"]),
                throttled_time: u(&s["cpu"]["throttling"]["throttledTime"]),
            }),
        }),
        memory: Some(cg::MemoryStat {
            cache: u(&s["memory"]["cache"]),
            rss: u(&raw["rss"]),
            rss_huge: u(&raw["rss_huge"]),
            mapped_file: u(&raw["mapped_file"]),
            dirty: u(&raw["dirty"]),
            writeback: u(&raw["writeback"]),
            pg_fault: u(&raw["pgfault"]),
            pg_maj_fault: u(&raw["pgmajfault"]),
            inactive_anon: u(&raw["inactive_anon"]),
            active_anon: u(&raw["active_anon"]),
            inactive_file: u(&raw["inactive_file"]),
            active_file: u(&raw["active_file"]),
            unevictable: u(&raw["unevictable"]),
            total_cache: u(&raw["total_cache"]),
            total_rss: u(&raw["total_rss"]),
            usage: entry(&s["memory"]["usage"]),
            swap: entry(&s["memory"]["swap"]),
            kernel: entry(&s["memory"]["kernel"]),
            ..Default::default()
        }),
        ..Default::default()
    };
    myproto::type_url::pack(&metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_runc_stats() {
        let s = serde_json::json!({
            "cpu": {"usage": {"total": 5, "percpu": [2, 3], "kernel": 1, "user": 4}, "throttling": {}},
            "memory": {"cache": 7, "usage": {"limit": 100, "usage": 50, "max": 60, "failcnt": 1}, "raw": {"rss": 9}},
            "pids": {"current": 2, "limit": 10}
        });
        let any = from_runtime_stats(&s);
        assert_eq!(any.type_url, "io.containerd.cgroups.v1.Metrics");
        let m: cg::Metrics = myproto::type_url::unpack(&any).unwrap();
        assert_eq!(m.pids.unwrap().limit, 10);
        assert_eq!(m.cpu.unwrap().usage.unwrap().per_cpu, vec![2, 3]);
        let mem = m.memory.unwrap();
        assert_eq!((mem.cache, mem.rss, mem.usage.unwrap().usage), (7, 9, 50));
    }
}
