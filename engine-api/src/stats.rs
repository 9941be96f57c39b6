//! The answers of the container operations that report on processes and resources:
//! `GET /containers/{id}/stats` (Docker's `StatsJSON`, snake_case as Docker spells it),
//! `GET /containers/{id}/top` and `POST /containers/prune`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// One sample of `GET /containers/{id}/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsJson {
    /// When this sample was taken (RFC 3339); Go's zero time for a stopped container.
    pub read: String,
    /// When the previous sample (`precpu_stats`) was taken.
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    /// Windows only; always 0 here, as Docker on Linux.
    pub num_procs: u32,
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    /// `/name`, with the slash.
    pub name: String,
    pub id: String,
    /// Per interface of the container's network namespace; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 when unlimited (`pids.max` is `max`).
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Block I/O; Docker sends `null` for the lists it has nothing for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioEntry>>,
    pub io_time_recursive: Option<Vec<BlkioEntry>>,
    pub sectors_recursive: Option<Vec<BlkioEntry>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// `read`, `write`, `sync`, `async`, `discard`, `total` (v1 capitalises them:
    /// `Read`; clients compare without case).
    pub op: String,
    pub value: u64,
}

/// Windows only; empty on Linux.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// The host's CPU time in nanoseconds (from `/proc/stat`), the denominator of CPU %.
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(skip_serializing_if = "is_zero32")]
    pub online_cpus: u32,
    pub throttling_data: ThrottlingData,
}

/// Nanoseconds of CPU time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// Per CPU (cgroup v1 only).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub percpu_usage: Vec<u64>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// cgroup v1 only.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    /// The controller's `memory.stat`, key by key.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// `GET /containers/{id}/top`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TopResponse {
    #[serde(deserialize_with = "null_default")]
    pub titles: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub processes: Vec<Vec<String>>,
}

/// `POST /containers/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerPruneResponse {
    /// `null` when nothing was removed, as Docker's.
    pub containers_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero32(v: &u32) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_read_and_write_with_dockers_names() {
        let text = r#"{"read":"2024-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z",
            "pids_stats":{"current":3},"blkio_stats":{"io_service_bytes_recursive":null},
            "num_procs":0,"storage_stats":{},
            "cpu_stats":{"cpu_usage":{"total_usage":10,"percpu_usage":null,
            "usage_in_kernelmode":1,"usage_in_usermode":9},"system_cpu_usage":100,
            "online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
            "precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},
            "throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
            "memory_stats":{"usage":4096,"stats":{"inactive_file":1},"limit":8192},
            "name":"/web","id":"abc","networks":{"eth0":{"rx_bytes":5}}}"#;
        let s: StatsJson = serde_json::from_str(text).unwrap();
        assert_eq!(s.pids_stats.current, 3);
        assert_eq!(s.cpu_stats.online_cpus, 2);
        assert_eq!(s.memory_stats.stats["inactive_file"], 1);
        assert_eq!(s.networks.as_ref().unwrap()["eth0"].rx_bytes, 5);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu_stats"]["system_cpu_usage"], 100);
        assert!(v["precpu_stats"].get("system_cpu_usage").is_none());
        assert!(v["blkio_stats"]["io_service_bytes_recursive"].is_null());
        assert_eq!(v["memory_stats"]["limit"], 8192);
    }

    #[test]
    fn prune_report_says_null_when_nothing_went() {
        let v = serde_json::to_value(ContainerPruneResponse::default()).unwrap();
        assert!(v["ContainersDeleted"].is_null());
        assert_eq!(v["SpaceReclaimed"], 0);
    }
}
