//! The OCI runtime spec a client builds for a new container, as containerd 1.6's Go
//! client builds it for ctr: `oci.WithDefaultSpec` + `oci.WithDefaultUnixDevices`, then
//! one option per flag, in ctr's order.
//!
//! Facts from containerd v1.6.20 `oci/spec.go` (populateDefaultUnixSpec), `oci/mounts.go`
//! (defaultMounts) and `oci/spec_opts.go`; checked against the spec ctr 1.6.20 stores
//! (tests/data/ctr-1.6.20-run-spec.json). Field order and `omitempty` follow the Go
//! structs of runtime-spec 1.0.2, so `containers info` prints alike for both clients.
//!
//! One deliberate difference: the default `PATH` is set (ctr leaves the environment
//! empty with `--rootfs`, so `sh` is not found, only `/bin/sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};

/// The runtime-spec version containerd 1.6 writes.
pub const OCI_VERSION: &str = "1.0.2-dev";
/// containerd's `defaultUnixEnv`, which images also get.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The root path of a container whose rootfs is mounted by the runtime (images).
pub const DEFAULT_ROOTFS_PATH: &str = "rootfs";

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Spec {
    #[serde(rename = "ociVersion")]
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<Root>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux: Option<Linux>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(skip_serializing_if = "is_false")]
    pub terminal: bool,
    pub user: User,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    pub cwd: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<Rlimit>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_new_privileges: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Capabilities {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounding: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effective: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inheritable: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permitted: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ambient: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Root {
    pub path: String,
    #[serde(skip_serializing_if = "is_false")]
    pub readonly: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroups_path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Namespace>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rootfs_propagation: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked_paths: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readonly_paths: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Resources {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access: String,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Memory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Default)]
pub struct Cpu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an image contributes to a container's spec (filled in by `images`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: String,
    /// The image's user, resolved against its /etc/passwd (`None`: root).
    pub user: Option<User>,
}

/// Where the container's root filesystem comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RootfsSource {
    /// A directory given by the client (`--rootfs`); an absolute path.
    Directory(PathBuf),
    /// An image's snapshot, mounted by the runtime at the bundle's `rootfs`.
    Image(ImageConfig),
}

/// Everything the flags say about the spec.
#[derive(Debug, Clone)]
pub struct SpecOptions {
    pub namespace: String,
    pub id: String,
    pub rootfs: RootfsSource,
    pub args: Vec<String>,
    /// `--env-file` lines, then `--env` values.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub tty: bool,
    pub read_only: bool,
    pub mounts: Vec<Mount>,
    pub annotations: BTreeMap<String, String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub cpus: f64,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: i64,
    pub cpu_period: u64,
    pub join_namespaces: Vec<Namespace>,
    pub allow_new_privs: bool,
    pub cgroup: Option<String>,
    pub memory_limit: Option<u64>,
    pub rootfs_propagation: Option<String>,
    /// `--label` values, which ctr also writes as annotations.
    pub labels: BTreeMap<String, String>,
}

impl SpecOptions {
    /// Options with nothing but the defaults, for container `id` in `namespace`.
    pub fn new(namespace: &str, id: &str, rootfs: RootfsSource) -> SpecOptions {
        SpecOptions {
            namespace: namespace.to_owned(),
            id: id.to_owned(),
            rootfs,
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            tty: false,
            read_only: false,
            mounts: Vec::new(),
            annotations: BTreeMap::new(),
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            cpus: 0.0,
            cpu_shares: None,
            cpu_quota: -1,
            cpu_period: 0,
            join_namespaces: Vec::new(),
            allow_new_privs: false,
            cgroup: None,
            memory_limit: None,
            rootfs_propagation: None,
            labels: BTreeMap::new(),
        }
    }
}

fn default_caps() -> Vec<String> {
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    .map(String::from)
    .to_vec()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn default_mounts() -> Vec<Mount> {
    let mount = |destination: &str, kind: &str, source: &str, options: &[&str]| Mount {
        destination: destination.into(),
        kind: kind.into(),
        source: source.into(),
        options: strings(options),
    };
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
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
            "/run",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
    ]
}

/// `oci.WithDefaultUnixDevices`: the character devices every container may use.
fn default_device_rules() -> Vec<DeviceRule> {
    let allow = |major: i64, minor: Option<i64>| DeviceRule {
        allow: true,
        kind: "c".into(),
        major: Some(major),
        minor,
        access: "rwm".into(),
    };
    vec![
        allow(1, Some(3)), // /dev/null
        allow(1, Some(8)), // /dev/random
        allow(1, Some(7)), // /dev/full
        allow(5, Some(0)), // /dev/tty
        allow(1, Some(5)), // /dev/zero
        allow(1, Some(9)), // /dev/urandom
        allow(5, Some(1)), // /dev/console
        allow(136, None),  // /dev/pts/*
        allow(5, Some(2)), // /dev/ptmx
    ]
}

/// `oci.populateDefaultUnixSpec` plus `WithDefaultUnixDevices`.
pub fn default_spec(namespace: &str, id: &str) -> Spec {
    let mut devices = vec![DeviceRule {
        allow: false,
        kind: String::new(),
        major: None,
        minor: None,
        access: "rwm".into(),
    }];
    devices.extend(default_device_rules());
    Spec {
        version: OCI_VERSION.into(),
        process: Some(Process {
            user: User::default(),
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: default_caps(),
                effective: default_caps(),
                permitted: default_caps(),
                ..Capabilities::default()
            }),
            rlimits: vec![Rlimit {
                kind: "RLIMIT_NOFILE".into(),
                hard: 1024,
                soft: 1024,
            }],
            no_new_privileges: true,
            ..Process::default()
        }),
        root: Some(Root {
            path: DEFAULT_ROOTFS_PATH.into(),
            readonly: false,
        }),
        mounts: default_mounts(),
        annotations: BTreeMap::new(),
        linux: Some(Linux {
            resources: Some(Resources {
                devices,
                ..Resources::default()
            }),
            cgroups_path: format!("/{namespace}/{id}"),
            namespaces: ["pid", "ipc", "uts", "mount", "network"]
                .iter()
                .map(|kind| Namespace {
                    kind: (*kind).into(),
                    path: String::new(),
                })
                .collect(),
            masked_paths: strings(&[
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
            ]),
            readonly_paths: strings(&[
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ]),
            ..Linux::default()
        }),
    }
}

/// containerd's `replaceOrAppendEnvValues`: `K=V` sets K in place or appends it; a bare
/// `K` removes K.
pub fn replace_or_append_env(env: &mut Vec<String>, overrides: &[String]) {
    for value in overrides {
        match value.split_once('=') {
            Some((key, _)) => match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
                Some(existing) => existing.clone_from(value),
                None => env.push(value.clone()),
            },
            None => env.retain(|e| e.split('=').next() != Some(value.as_str())),
        }
    }
}

/// Builds the spec for `options`, applying ctr's options in ctr's order.
pub fn build(options: &SpecOptions) -> Result<Spec> {
    let mut spec = default_spec(&options.namespace, &options.id);
    let process = spec.process.get_or_insert_with(Process::default);
    // Deliberately unlike ctr with --rootfs: a usable PATH (images bring their own).
    replace_or_append_env(&mut process.env, &[DEFAULT_PATH_ENV.to_owned()]);
    replace_or_append_env(&mut process.env, &options.env);
    spec.mounts.extend(options.mounts.iter().cloned());
    let root = spec.root.get_or_insert(Root {
        path: String::new(),
        readonly: false,
    });
    match &options.rootfs {
        RootfsSource::Directory(dir) => root.path = dir.display().to_string(),
        RootfsSource::Image(image) => {
            // oci.WithImageConfig: the image's environment (what the flags set wins, as
            // they come first in ctr), command, working directory and user.
            let process = spec.process.get_or_insert_with(Process::default);
            let mut env = image.env.clone();
            replace_or_append_env(&mut env, &options.env);
            process.env = env;
            if let Some(user) = &image.user {
                process.user = user.clone();
            }
            let args: Vec<String> = image
                .entrypoint
                .iter()
                .chain(image.cmd.iter())
                .cloned()
                .collect();
            if !args.is_empty() {
                process.args = args;
            }
            if !image.working_dir.is_empty() {
                process.cwd.clone_from(&image.working_dir);
            }
        }
    }
    let root = spec.root.get_or_insert(Root {
        path: String::new(),
        readonly: false,
    });
    if options.read_only {
        root.readonly = true;
    }
    let process = spec.process.get_or_insert_with(Process::default);
    if !options.args.is_empty() {
        process.args.clone_from(&options.args);
    }
    if let Some(cwd) = &options.cwd {
        process.cwd.clone_from(cwd);
    }
    if options.tty {
        process.terminal = true;
        process.env.push("TERM=xterm".into());
    }
    spec.annotations.extend(
        options
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    for cap in options.cap_add.iter().chain(options.cap_drop.iter()) {
        if !cap.starts_with("CAP_") {
            return Err(Error::Invalid {
                what: "capability",
                value: cap.clone(),
                reason: "capabilities must be specified with 'CAP_' prefix".into(),
            });
        }
    }
    let caps = process
        .capabilities
        .get_or_insert_with(Capabilities::default);
    for set in [&mut caps.bounding, &mut caps.effective, &mut caps.permitted] {
        for cap in &options.cap_add {
            if !set.contains(cap) {
                set.push(cap.clone());
            }
        }
        set.retain(|c| !options.cap_drop.contains(c));
    }
    let linux = spec.linux.get_or_insert_with(Linux::default);
    if options.cpus > 0.0 {
        let cpu = cpu(linux);
        cpu.quota = Some((options.cpus * 100_000.0) as i64);
        cpu.period = Some(100_000);
    }
    if let Some(shares) = options.cpu_shares.filter(|s| *s > 0) {
        cpu(linux).shares = Some(shares);
    }
    if options.cpu_quota != -1 || options.cpu_period != 0 {
        if options.cpus > 0.0 {
            return Err(Error::Usage(
                "cpus and quota/period should be used separately",
            ));
        }
        let cpu = cpu(linux);
        cpu.quota = Some(options.cpu_quota);
        cpu.period = Some(options.cpu_period);
    }
    for ns in &options.join_namespaces {
        match linux.namespaces.iter_mut().find(|n| n.kind == ns.kind) {
            Some(existing) => *existing = ns.clone(),
            None => linux.namespaces.push(ns.clone()),
        }
    }
    if options.allow_new_privs {
        spec.process
            .get_or_insert_with(Process::default)
            .no_new_privileges = false;
    }
    if let Some(cgroup) = &options.cgroup {
        linux.cgroups_path.clone_from(cgroup);
    }
    if let Some(limit) = options.memory_limit.filter(|l| *l > 0) {
        linux
            .resources
            .get_or_insert_with(Resources::default)
            .memory = Some(Memory {
            limit: Some(limit as i64),
        });
    }
    if let Some(propagation) = options
        .rootfs_propagation
        .as_ref()
        .filter(|p| !p.is_empty())
    {
        linux.rootfs_propagation.clone_from(propagation);
    }
    spec.annotations
        .extend(options.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(spec)
}

fn cpu(linux: &mut Linux) -> &mut Cpu {
    linux
        .resources
        .get_or_insert_with(Resources::default)
        .cpu
        .get_or_insert_with(Cpu::default)
}

/// ctr's `--mount` syntax: `type=bind,src=/a,dst=/b,options=rbind:ro`.
pub fn parse_mount(text: &str) -> Result<Mount> {
    let invalid = |reason: &str| Error::Invalid {
        what: "mount",
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut mount = Mount::default();
    for field in text.split(',') {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| invalid("expected key=val"))?;
        match key {
            "type" => mount.kind = value.into(),
            "source" | "src" => mount.source = value.into(),
            "destination" | "dst" => mount.destination = value.into(),
            "options" => mount.options = value.split(':').map(String::from).collect(),
            _ => return Err(invalid(&format!("mount option {key:?} not supported"))),
        }
    }
    Ok(mount)
}

/// `--with-ns TYPE:PATH`.
pub fn parse_join_namespace(text: &str) -> Result<Namespace> {
    const KINDS: [&str; 7] = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup"];
    let invalid = |reason: &str| Error::Invalid {
        what: "--with-ns",
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let parts: Vec<&str> = text.split(':').collect();
    let [kind, path] = parts.as_slice() else {
        return Err(invalid("the format is 'nstype:path'"));
    };
    if !KINDS.contains(kind) {
        return Err(invalid("not a Linux namespace type"));
    }
    Ok(Namespace {
        kind: (*kind).into(),
        path: (*path).into(),
    })
}

/// ctr's `LabelArgs`: `K=V`, or a bare `K` meaning `K=true`.
pub fn label_args(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) => (k.to_owned(), val.to_owned()),
            None => (v.clone(), "true".to_owned()),
        })
        .collect()
}

/// ctr's `AnnotationArgs`: `K=V` only.
pub fn annotation_args(values: &[String]) -> Result<BTreeMap<String, String>> {
    values
        .iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, val)| (k.to_owned(), val.to_owned()))
                .ok_or_else(|| Error::Invalid {
                    what: "annotation",
                    value: v.clone(),
                    reason: "expected key=value".into(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Json;

    /// The spec ctr 1.6.20 stores for `ctr -n probe run -d --rootfs R p5 /bin/sleep 100`.
    const CTR_RUN_SPEC: &str = include_str!("../tests/data/ctr-1.6.20-run-spec.json");

    fn run_options(root: &str) -> SpecOptions {
        let mut options =
            SpecOptions::new("probe", "p5", RootfsSource::Directory(PathBuf::from(root)));
        options.args = vec!["/bin/sleep".into(), "100".into()];
        options.cpu_shares = Some(1024);
        options
    }

    #[test]
    fn matches_the_spec_ctr_builds_except_for_path() {
        let root = "/work/main/target/tmp/busybox-rootfs";
        let ours = serde_json::to_vec(&build(&run_options(root)).unwrap()).unwrap();
        let mut ours = Json::parse(&ours).unwrap();
        let mut process = ours.get("process").unwrap().clone();
        assert_eq!(
            process.get("env"),
            Some(&Json::Array(vec![Json::str(DEFAULT_PATH_ENV)]))
        );
        process.remove("env");
        ours.set("process", process);
        let ctr = Json::parse(CTR_RUN_SPEC.as_bytes()).unwrap();
        assert_eq!(ours.indented("    "), ctr.indented("    "));
    }

    #[test]
    fn tty_env_cwd_and_labels_apply_in_ctrs_order() {
        let mut options = run_options("/r");
        options.tty = true;
        options.env = vec!["A=b".into(), "PATH=/bin".into()];
        options.cwd = Some("/tmp".into());
        options.labels = label_args(&["x=y".into(), "flag".into()]);
        options.read_only = true;
        let spec = build(&options).unwrap();
        let process = spec.process.unwrap();
        assert!(process.terminal);
        assert_eq!(process.env, ["PATH=/bin", "A=b", "TERM=xterm"]);
        assert_eq!(process.cwd, "/tmp");
        assert!(spec.root.unwrap().readonly);
        assert_eq!(
            spec.annotations.get("flag").map(String::as_str),
            Some("true")
        );
        assert_eq!(spec.annotations.get("x").map(String::as_str), Some("y"));
    }

    #[test]
    fn env_without_value_unsets() {
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        replace_or_append_env(&mut env, &["A".into(), "C=3".into(), "B=4".into()]);
        assert_eq!(env, ["B=4", "C=3"]);
    }

    #[test]
    fn capabilities_added_and_dropped_in_three_sets() {
        let mut options = run_options("/r");
        options.cap_add = vec!["CAP_SYS_ADMIN".into()];
        options.cap_drop = vec!["CAP_CHOWN".into()];
        let caps = build(&options)
            .unwrap()
            .process
            .unwrap()
            .capabilities
            .unwrap();
        for set in [&caps.bounding, &caps.effective, &caps.permitted] {
            assert!(set.contains(&"CAP_SYS_ADMIN".to_string()));
            assert!(!set.contains(&"CAP_CHOWN".to_string()));
        }
        assert!(caps.inheritable.is_empty());
        options.cap_add = vec!["SYS_ADMIN".into()];
        assert!(build(&options).is_err());
    }

    #[test]
    fn image_config_sets_command_env_and_cwd() {
        let image = ImageConfig {
            env: vec!["PATH=/opt/bin".into(), "X=1".into()],
            entrypoint: vec!["/entry".into()],
            cmd: vec!["arg".into()],
            working_dir: "/w".into(),
            user: Some(User {
                uid: 1,
                gid: 2,
                additional_gids: vec![2],
            }),
        };
        let mut options = SpecOptions::new("ns", "id", RootfsSource::Image(image));
        let spec = build(&options).unwrap();
        assert_eq!(spec.process.as_ref().unwrap().user.uid, 1);
        assert_eq!(spec.root.as_ref().unwrap().path, DEFAULT_ROOTFS_PATH);
        let process = spec.process.unwrap();
        assert_eq!(process.args, ["/entry", "arg"]);
        assert_eq!(process.env, ["PATH=/opt/bin", "X=1"]);
        assert_eq!(process.cwd, "/w");
        options.args = vec!["sh".into()];
        assert_eq!(build(&options).unwrap().process.unwrap().args, ["sh"]);
        // --env wins over the image's environment, as in ctr.
        options.env = vec!["X=2".into(), "Y=3".into()];
        let env = build(&options).unwrap().process.unwrap().env;
        assert_eq!(env, ["PATH=/opt/bin", "X=2", "Y=3"]);
    }

    #[test]
    fn mounts_and_namespaces_parse_like_ctr() {
        let m = parse_mount("type=bind,src=/tmp,dst=/host,options=rbind:ro").unwrap();
        assert_eq!(
            m,
            Mount {
                destination: "/host".into(),
                kind: "bind".into(),
                source: "/tmp".into(),
                options: vec!["rbind".into(), "ro".into()],
            }
        );
        assert!(parse_mount("type").is_err());
        assert!(parse_mount("bogus=1").is_err());
        let ns = parse_join_namespace("network:/proc/1/ns/net").unwrap();
        assert_eq!(ns.kind, "network");
        assert!(parse_join_namespace("net:/x").is_err());
        assert!(parse_join_namespace("network").is_err());
    }
}
