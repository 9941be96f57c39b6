//! The OCI runtime configuration (`config.json`): types, loading and validation.
//!
//! runtime-spec: config.md, config-linux.md. Unknown fields are ignored, as the spec
//! asks; fields we read are checked once here so the rest of the runtime can trust them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::capabilities;
use crate::error::{Error, Result};
use crate::namespaces::NamespaceType;
use crate::rlimits;

pub const OCI_VERSION: &str = "1.2.0";
/// The version `myrunc spec` writes: its template uses nothing newer, and older runtimes
/// (crun 1.8 among them) refuse versions they do not know.
pub const TEMPLATE_VERSION: &str = "1.0.2-dev";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub oci_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<Root>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<Linux>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    #[serde(default)]
    pub user: User,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux_label: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bounding: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effective: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inheritable: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub typ: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Root {
    pub path: PathBuf,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prestart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_runtime: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_container: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_container: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hook {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Namespace>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readonly_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<Personality>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct IdMapping {
    #[serde(rename = "containerID")]
    pub container_id: u32,
    #[serde(rename = "hostID")]
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub typ: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(rename = "type")]
    pub typ: String,
    pub path: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    #[serde(default, rename = "blockIO", skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hugepage_limits: Vec<HugepageLimit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unified: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<i64>,
    #[serde(default, rename = "kernelTCP", skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<u64>,
    #[serde(
        default,
        rename = "disableOOMKiller",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_oom_killer: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_runtime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mems: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pids {
    pub limit: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockIo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        rename = "throttleReadIOPSDevice",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        rename = "throttleWriteIOPSDevice",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syscalls: Vec<SeccompSyscall>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompSyscall {
    pub names: Vec<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SeccompArg>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompArg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Personality {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl Spec {
    /// Reads `config.json` from a bundle directory and validates it.
    pub fn load(bundle: &Path) -> Result<Spec> {
        let path = bundle.join("config.json");
        let data = std::fs::read(&path).map_err(|e| Error::io("reading", &path, e))?;
        let spec = Self::parse(&data, &path)?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn parse(data: &[u8], path: &Path) -> Result<Spec> {
        let de = &mut serde_json::Deserializer::from_slice(data);
        serde_path_to_error::deserialize(de).map_err(|source| Error::ParseConfig {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn linux(&self) -> &Linux {
        static EMPTY: std::sync::OnceLock<Linux> = std::sync::OnceLock::new();
        self.linux
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Linux::default))
    }

    pub fn namespace(&self, typ: NamespaceType) -> Option<&Namespace> {
        self.linux()
            .namespaces
            .iter()
            .find(|ns| NamespaceType::parse(&ns.typ).ok() == Some(typ))
    }

    /// Checks everything the runtime relies on, naming the offending field.
    pub fn validate(&self) -> Result<()> {
        let process = self
            .process
            .as_ref()
            .ok_or_else(|| Error::config("process", "is required to create a container"))?;
        validate_process(process, "process")?;
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| Error::config("root", "is required"))?;
        if root.path.as_os_str().is_empty() {
            return Err(Error::config("root.path", "must not be empty"));
        }
        let linux = self.linux();
        let mut seen = Vec::new();
        for (i, ns) in linux.namespaces.iter().enumerate() {
            let field = format!("linux.namespaces[{i}]");
            let typ = NamespaceType::parse(&ns.typ)
                .map_err(|reason| Error::config(format!("{field}.type"), reason))?;
            if seen.contains(&typ) {
                return Err(Error::config(
                    format!("{field}.type"),
                    format!("namespace {:?} is listed twice", ns.typ),
                ));
            }
            seen.push(typ);
            if let Some(path) = &ns.path
                && !path.is_absolute()
            {
                return Err(Error::config(format!("{field}.path"), "must be absolute"));
            }
        }
        if !seen.contains(&NamespaceType::Mount) {
            return Err(Error::config(
                "linux.namespaces",
                "a mount namespace is required (myrunc never sets up a root filesystem in the host's mount namespace)",
            ));
        }
        if (self.hostname.as_deref().is_some_and(|h| !h.is_empty())
            || self.domainname.as_deref().is_some_and(|h| !h.is_empty()))
            && !seen.contains(&NamespaceType::Uts)
        {
            return Err(Error::config(
                "hostname",
                "setting a hostname or domainname needs a uts namespace",
            ));
        }
        let has_userns = seen.contains(&NamespaceType::User);
        if !has_userns && (!linux.uid_mappings.is_empty() || !linux.gid_mappings.is_empty()) {
            return Err(Error::config(
                "linux.uidMappings",
                "id mappings need a user namespace",
            ));
        }
        if has_userns
            && self
                .namespace(NamespaceType::User)
                .is_some_and(|ns| ns.path.is_none())
            && (linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty())
        {
            return Err(Error::config(
                "linux.uidMappings",
                "a new user namespace needs uidMappings and gidMappings",
            ));
        }
        for (i, m) in self.mounts.iter().enumerate() {
            if !m.destination.starts_with('/') {
                return Err(Error::config(
                    format!("mounts[{i}].destination"),
                    format!("{:?} must be an absolute path", m.destination),
                ));
            }
        }
        for (i, d) in linux.devices.iter().enumerate() {
            if !matches!(d.typ.as_str(), "c" | "b" | "u" | "p") {
                return Err(Error::config(
                    format!("linux.devices[{i}].type"),
                    format!("unknown device type {:?} (want c, b, u or p)", d.typ),
                ));
            }
            if !d.path.starts_with("/dev/") {
                return Err(Error::config(
                    format!("linux.devices[{i}].path"),
                    format!("{:?} must be under /dev", d.path),
                ));
            }
        }
        crate::sysctl::validate(&linux.sysctl, &|t| seen.contains(&t))?;
        if let Some(p) = &linux.rootfs_propagation {
            crate::rootfs::propagation_flag(p).ok_or_else(|| {
                Error::config("linux.rootfsPropagation", format!("unknown value {p:?}"))
            })?;
        }
        if let Some(res) = &linux.resources {
            for (i, rule) in res.devices.iter().enumerate() {
                if let Some(t) = &rule.typ
                    && !matches!(t.as_str(), "a" | "c" | "b")
                {
                    return Err(Error::config(
                        format!("linux.resources.devices[{i}].type"),
                        format!("unknown device type {t:?} (want a, c or b)"),
                    ));
                }
                if let Some(a) = &rule.access
                    && (a.is_empty() || !a.chars().all(|c| matches!(c, 'r' | 'w' | 'm')))
                {
                    return Err(Error::config(
                        format!("linux.resources.devices[{i}].access"),
                        format!("{a:?} is not a combination of r, w and m"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks a process description (from config.json or `exec --process`).
pub fn validate_process(process: &Process, field: &str) -> Result<()> {
    if process.args.is_empty() || process.args[0].is_empty() {
        return Err(Error::config(
            format!("{field}.args"),
            "must name the program to run",
        ));
    }
    if !process.cwd.starts_with('/') {
        return Err(Error::config(
            format!("{field}.cwd"),
            format!("{:?} must be an absolute path", process.cwd),
        ));
    }
    if let Some(caps) = &process.capabilities {
        for (set, names) in [
            ("bounding", &caps.bounding),
            ("effective", &caps.effective),
            ("inheritable", &caps.inheritable),
            ("permitted", &caps.permitted),
            ("ambient", &caps.ambient),
        ] {
            for name in names {
                if capabilities::from_name(name).is_none() {
                    return Err(Error::config(
                        format!("{field}.capabilities.{set}"),
                        format!("unknown capability {name:?}"),
                    ));
                }
            }
        }
    }
    for (i, rl) in process.rlimits.iter().enumerate() {
        if rlimits::resource(&rl.typ).is_none() {
            return Err(Error::config(
                format!("{field}.rlimits[{i}].type"),
                format!("unknown rlimit {:?}", rl.typ),
            ));
        }
        if rl.soft > rl.hard {
            return Err(Error::config(
                format!("{field}.rlimits[{i}]"),
                format!("soft limit {} is above hard limit {}", rl.soft, rl.hard),
            ));
        }
    }
    for (i, kv) in process.env.iter().enumerate() {
        if !kv.contains('=') {
            return Err(Error::config(
                format!("{field}.env[{i}]"),
                format!("{kv:?} is not of the form KEY=VALUE"),
            ));
        }
    }
    Ok(())
}

/// The configuration `myrunc spec` writes: the same defaults as `runc spec`.
pub fn default_spec() -> Spec {
    let caps: Vec<String> = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mount = |dest: &str, typ: &str, src: &str, opts: &[&str]| Mount {
        destination: dest.into(),
        typ: Some(typ.into()),
        source: Some(src.into()),
        options: opts.iter().map(|s| s.to_string()).collect(),
    };
    let ns = |t: &str| Namespace {
        typ: t.into(),
        path: None,
    };
    Spec {
        oci_version: TEMPLATE_VERSION.into(),
        process: Some(Process {
            terminal: true,
            user: User::default(),
            args: vec!["sh".into()],
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                "TERM=xterm".into(),
            ],
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: caps.clone(),
                effective: caps.clone(),
                inheritable: Vec::new(),
                permitted: caps.clone(),
                ambient: Vec::new(),
            }),
            rlimits: vec![Rlimit {
                typ: "RLIMIT_NOFILE".into(),
                hard: 1024,
                soft: 1024,
            }],
            no_new_privileges: true,
            ..Process::default()
        }),
        root: Some(Root {
            path: "rootfs".into(),
            readonly: true,
        }),
        hostname: Some("myrunc".into()),
        mounts: vec![
            mount("/proc", "proc", "proc", &[]),
            mount(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            mount(
                "/dev/pts",
                "devpts",
                "devpts",
                &[
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            ),
            mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ),
            mount(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            mount(
                "/sys",
                "sysfs",
                "sysfs",
                &["nosuid", "noexec", "nodev", "ro"],
            ),
            mount(
                "/sys/fs/cgroup",
                "cgroup",
                "cgroup",
                &["nosuid", "noexec", "nodev", "relatime", "ro"],
            ),
        ],
        linux: Some(Linux {
            resources: Some(Resources {
                devices: vec![DeviceRule {
                    allow: false,
                    access: Some("rwm".into()),
                    ..DeviceRule::default()
                }],
                ..Resources::default()
            }),
            namespaces: ["pid", "network", "ipc", "uts", "mount", "cgroup"]
                .iter()
                .map(|t| ns(t))
                .collect(),
            masked_paths: [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            readonly_paths: [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ..Linux::default()
        }),
        ..Spec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Spec> {
        Spec::parse(json.as_bytes(), Path::new("config.json"))
    }

    #[test]
    fn default_spec_is_valid_and_round_trips() {
        let spec = default_spec();
        spec.validate().unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        let back = parse(&json).unwrap();
        back.validate().unwrap();
        assert_eq!(back.mounts.len(), spec.mounts.len());
        assert_eq!(back.process.unwrap().args, vec!["sh"]);
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = parse(r#"{"process":{"user":{"uid":"root"}}}"#).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("process.user.uid"), "{msg}");
    }

    #[test]
    fn missing_process_is_rejected() {
        let spec = parse(r#"{"root":{"path":"rootfs"}}"#).unwrap();
        let msg = spec.validate().unwrap_err().to_string();
        assert!(msg.contains("process"), "{msg}");
    }

    fn with(f: impl FnOnce(&mut Spec)) -> String {
        let mut spec = default_spec();
        f(&mut spec);
        spec.validate().unwrap_err().to_string()
    }

    #[test]
    fn validation_names_fields() {
        let msg = with(|s| s.process.as_mut().unwrap().args.clear());
        assert!(msg.contains("process.args"), "{msg}");
        let msg = with(|s| s.process.as_mut().unwrap().cwd = "relative".into());
        assert!(msg.contains("process.cwd"), "{msg}");
        let msg = with(|s| {
            s.linux.as_mut().unwrap().namespaces.push(Namespace {
                typ: "bogus".into(),
                path: None,
            })
        });
        assert!(msg.contains("linux.namespaces[6].type"), "{msg}");
        let msg = with(|s| {
            s.linux.as_mut().unwrap().namespaces.push(Namespace {
                typ: "pid".into(),
                path: None,
            })
        });
        assert!(msg.contains("twice"), "{msg}");
        let msg = with(|s| {
            s.process
                .as_mut()
                .unwrap()
                .capabilities
                .as_mut()
                .unwrap()
                .bounding
                .push("CAP_BOGUS".into())
        });
        assert!(msg.contains("CAP_BOGUS"), "{msg}");
        let msg = with(|s| s.process.as_mut().unwrap().rlimits[0].typ = "RLIMIT_BOGUS".into());
        assert!(msg.contains("rlimits[0].type"), "{msg}");
        let msg = with(|s| s.mounts[0].destination = "proc".into());
        assert!(msg.contains("mounts[0].destination"), "{msg}");
        let msg = with(|s| {
            s.linux
                .as_mut()
                .unwrap()
                .namespaces
                .retain(|n| n.typ != "uts")
        });
        assert!(msg.contains("uts"), "{msg}");
        let msg = with(|s| {
            s.linux
                .as_mut()
                .unwrap()
                .namespaces
                .retain(|n| n.typ != "mount")
        });
        assert!(msg.contains("mount namespace"), "{msg}");
        let msg = with(|s| s.linux.as_mut().unwrap().rootfs_propagation = Some("weird".into()));
        assert!(msg.contains("rootfsPropagation"), "{msg}");
        let msg = with(|s| s.process.as_mut().unwrap().env.push("NOEQUALS".into()));
        assert!(msg.contains("env[2]"), "{msg}");
    }
}
