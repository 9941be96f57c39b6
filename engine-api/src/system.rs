//! `/version` and `/info`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Platform {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Component {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// `GET /version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Version {
    pub platform: Platform,
    pub components: Vec<Component>,
    pub version: String,
    pub api_version: String,
    #[serde(rename = "MinAPIVersion")]
    pub min_api_version: String,
    pub git_commit: String,
    pub go_version: String,
    pub os: String,
    pub arch: String,
    pub kernel_version: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub experimental: bool,
    pub build_time: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Commit {
    #[serde(rename = "ID")]
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginsInfo {
    pub volume: Vec<String>,
    pub network: Vec<String>,
    pub authorization: Option<Vec<String>>,
    pub log: Vec<String>,
}

/// Swarm is never active here; the CLI still reads the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwarmInfo {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_addr: String,
    /// `inactive`.
    pub local_node_state: String,
    pub control_available: bool,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RuntimeInfo {
    pub path: String,
}

/// `GET /info`, the fields `docker info` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Info {
    #[serde(rename = "ID")]
    pub id: String,
    pub containers: i64,
    pub containers_running: i64,
    pub containers_paused: i64,
    pub containers_stopped: i64,
    pub images: i64,
    pub driver: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub driver_status: Vec<[String; 2]>,
    pub plugins: PluginsInfo,
    pub memory_limit: bool,
    pub swap_limit: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    pub cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    pub cpu_set: bool,
    pub pids_limit: bool,
    pub oom_kill_disable: bool,
    #[serde(rename = "IPv4Forwarding")]
    pub ipv4_forwarding: bool,
    pub debug: bool,
    #[serde(rename = "NFd")]
    pub nfd: i64,
    pub n_goroutines: i64,
    pub system_time: String,
    pub logging_driver: String,
    pub cgroup_driver: String,
    pub cgroup_version: String,
    pub n_events_listener: i64,
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSVersion")]
    pub os_version: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    #[serde(rename = "NCPU")]
    pub ncpu: i64,
    pub mem_total: i64,
    pub index_server_address: String,
    pub docker_root_dir: String,
    pub name: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub labels: Vec<String>,
    pub experimental_build: bool,
    pub server_version: String,
    pub runtimes: BTreeMap<String, RuntimeInfo>,
    pub default_runtime: String,
    pub swarm: SwarmInfo,
    pub live_restore_enabled: bool,
    pub isolation: String,
    pub init_binary: String,
    pub containerd_commit: Commit,
    pub runc_commit: Commit,
    pub init_commit: Commit,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub security_options: Vec<String>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub warnings: Vec<String>,
}

/// A container as `GET /system/df` lists it: its list entry and its sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DiskUsageContainer {
    #[serde(flatten)]
    pub summary: crate::containers::Summary,
    /// Bytes in its writable layer.
    pub size_rw: i64,
    /// Its writable layer and its image.
    pub size_root_fs: i64,
}

/// The answer of `GET /system/df` (swagger: SystemDataUsageResponse).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DiskUsage {
    pub layers_size: i64,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub images: Vec<crate::images::ImageSummary>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub containers: Vec<DiskUsageContainer>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub volumes: Vec<crate::volumes::Volume>,
    /// We have no builder: always empty.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub build_cache: Vec<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_spelling() {
        let v = serde_json::to_value(Info::default()).unwrap();
        for key in [
            "ID",
            "NCPU",
            "OSType",
            "CPUShares",
            "IPv4Forwarding",
            "NGoroutines",
            "NFd",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["Swarm"]["NodeID"], "");
    }

    #[test]
    fn version_spelling() {
        let v = serde_json::to_value(Version::default()).unwrap();
        assert!(v.get("ApiVersion").is_some());
        assert!(v.get("MinAPIVersion").is_some());
    }
}
