//! Resource limits enforced through cgroups, checked from inside the container, with both
//! runtimes.

mod common;

use common::{Bundle, Runtime, cgroup_dirs_named, unique_id};
use serde_json::json;

/// The memory limit file as the container sees it (cgroup v1 here; v2 elsewhere).
const MEM_LIMIT: &str =
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max";
const PIDS_MAX: &str =
    "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max";

#[test]
fn memory_limit_is_set_and_enforced() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&["sh", "-c", MEM_LIMIT]);
        b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": 33554432}));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("mem"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        assert_eq!(out.trim(), "33554432", "{}", rt.name());

        // tail keeps the whole of an endless line in memory: the OOM killer ends it.
        let mut b = Bundle::new(&["tail", "/dev/zero"]);
        b.edit(|c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 33554432, "swap": 33554432})
        });
        let id = unique_id("oom");
        let (code, _, err) = rt.run_bundle(&b, &id);
        assert_eq!(
            code,
            137,
            "{}: expected SIGKILL from the OOM killer: {err}",
            rt.name()
        );
        assert!(cgroup_dirs_named(&id).is_empty());
    }
}

#[test]
fn pids_limit_is_set_and_enforced() {
    for rt in Runtime::both() {
        let script =
            format!("{PIDS_MAX}; for i in $(seq 20); do sleep 2 & done 2>&1 | grep -c fork; wait");
        let mut b = Bundle::new(&["sh", "-c", &script]);
        b.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": 10}));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("pids"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some("10"),
            "{}: {out}{err}",
            rt.name()
        );
        let failed: u32 = lines.get(1).and_then(|l| l.parse().ok()).unwrap_or(0);
        assert!(
            failed > 0,
            "{}: no fork failed under pids.max=10: {out}{err} (code {code})",
            rt.name()
        );
    }
}

#[test]
fn cpu_limits_are_written() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
        ]);
        b.edit(|c| {
            c["linux"]["resources"]["cpu"] =
                json!({"shares": 512, "quota": 50000, "period": 100000})
        });
        let (code, out, err) = rt.run_bundle(&b, &unique_id("cpu"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        assert_eq!(out, "512\n50000\n100000\n", "{}", rt.name());
    }
}

#[test]
fn update_changes_limits_of_a_running_container() {
    for rt in Runtime::both() {
        let b = Bundle::new(&["sleep", "100"]);
        let id = unique_id("upd");
        rt.create(&b, &id);
        rt.ok(&["start", &id]);
        rt.ok(&["update", "--pids-limit", "7", "--memory", "64m", &id]);
        let out = rt.ok(&["exec", &id, "sh", "-c", &format!("{PIDS_MAX}; {MEM_LIMIT}")]);
        assert_eq!(out, "7\n67108864\n", "{}", rt.name());
        rt.ok(&["delete", "-f", &id]);
    }
}
