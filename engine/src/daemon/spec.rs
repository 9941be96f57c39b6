//! The OCI runtime spec (`config.json`) of a Docker container: the image's config and the
//! create request merged with Docker's rules, on top of Docker's hardened defaults
//! (reduced capabilities, masked and read-only `/proc` and `/sys` paths, the default
//! seccomp profile, a device allow-list, private namespaces).
//!
//! runtime-spec: config.md, config-linux.md. Defaults follow moby's `oci/defaults.go` and
//! `daemon/oci_linux.go`.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use engine_api::containers::{Config, HostConfig, MountPoint};
use serde_json::{Value, json};

use crate::daemon::seccomp;

/// The OCI runtime-spec version the spec claims.
const OCI_VERSION: &str = "1.1.0";

/// Where `--init` puts the init binary inside the container.
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/myinit";

/// `PATH` when neither the image nor the request sets one (moby's `DefaultPathEnv`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `/dev/shm`'s size when `ShmSize` is not given: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// Docker refuses memory limits below this (6 MiB): a container cannot start below it.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// CFS period used to express `NanoCpus` (100 ms, as Docker).
const CPU_PERIOD: i64 = 100_000;

/// The capabilities a container gets by default (moby `oci.DefaultCapabilities`).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
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
];

/// Every capability the kernel knows, in number order: what `CapAdd: ["ALL"]` means and
/// what names `CapAdd`/`CapDrop` accept.
const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Paths hidden from the container: they leak host information or reach hardware.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the container may read but not write: writing them changes the host.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// What is needed to build a container's spec.
pub struct SpecInput<'a> {
    /// The 64-hex container ID.
    pub id: &'a str,
    pub config: &'a Config,
    pub host_config: &'a HostConfig,
    /// The image's config: entrypoint, cmd, env, working dir.
    pub image: &'a myimages::RuntimeConfig,
    /// The user to run as, already resolved against the image's /etc/passwd and /etc/group.
    pub user: &'a myimages::ResolvedUser,
    /// Holds `hostname`, `hosts` and `resolv.conf` (see `etc_files::write`).
    pub etc_dir: &'a Path,
    /// The host's init binary, bind-mounted read-only at /sbin/myinit with `Init`.
    pub init_path: &'a Path,
    /// The parent cgroup, e.g. `/myengine`: the cgroups path is `<parent>/<id>`.
    pub cgroup_parent: &'a str,
    /// The network namespace to join; `None`: a new one (unless the mode is `host`).
    pub netns_path: Option<&'a Path>,
}

/// A volume as the spec mounts it: its data directory bound at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBind {
    /// Cleaned, absolute.
    pub destination: String,
    pub source: PathBuf,
    pub read_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither the request nor the image gives a command (Docker's message).
    #[error("no command specified")]
    NoCommand,
    /// A malformed or contradictory request (HTTP 400).
    #[error("{0}")]
    InvalidArgument(String),
    /// A valid request for something not implemented yet (HTTP 400/501 at the edge).
    #[error("{0} is not supported yet")]
    NotSupported(String),
    /// Preparing a host path (creating a bind source, reading a device) failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SpecError {
    fn invalid(msg: impl Into<String>) -> SpecError {
        SpecError::InvalidArgument(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, SpecError>;

/// The process arguments with Docker's merging rules (moby `mergeAndVerifyConfig`):
/// a request entrypoint replaces the image's; the image's cmd is used only when the
/// request has no cmd and no non-empty entrypoint; `Entrypoint: [""]` (the CLI's
/// `--entrypoint ""`) clears the entrypoint without bringing back the image's cmd.
pub fn command(config: &Config, image: &myimages::RuntimeConfig) -> Result<Vec<String>> {
    let mut entrypoint = config.entrypoint.clone();
    let mut cmd = config.cmd.clone().unwrap_or_default();
    if entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if cmd.is_empty() {
            cmd = image.cmd.clone();
        }
        if entrypoint.is_none() {
            entrypoint = Some(image.entrypoint.clone());
        }
    }
    let mut entrypoint = entrypoint.unwrap_or_default();
    if entrypoint.len() == 1 && entrypoint[0].is_empty() {
        entrypoint.clear();
    }
    entrypoint.extend(cmd);
    if entrypoint.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(entrypoint)
}

/// The container's hostname: the request's, else the first 12 characters of the ID; with
/// the host's network (or UTS) namespace, the host's.
pub fn hostname(id: &str, config: &Config, host_config: &HostConfig) -> Result<String> {
    if uses_host_uts(host_config) {
        let host = host_hostname();
        if !config.hostname.is_empty() && config.hostname != host {
            return Err(SpecError::invalid(
                "conflicting options: hostname and the network mode (host)",
            ));
        }
        return Ok(host);
    }
    if !config.hostname.is_empty() {
        validate_hostname(&config.hostname)?;
        return Ok(config.hostname.clone());
    }
    Ok(id.chars().take(12).collect())
}

/// A hostname the kernel and /etc/hosts can take: dot-separated labels of ASCII
/// letters, digits and `-`, none empty, longer than 63 characters, or starting or
/// ending with `-` (RFC 1123, as Docker checks it).
pub fn validate_hostname(name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.len() > 255 || !name.split('.').all(label_ok) {
        return Err(SpecError::invalid(format!(
            "invalid hostname format: {name}"
        )));
    }
    Ok(())
}

/// A terminal size the runtime can set (its fields are 16 bits wide).
pub fn validate_console_size(size: [u64; 2]) -> Result<()> {
    if size.iter().any(|&v| v > u64::from(u16::MAX)) {
        return Err(SpecError::invalid(format!(
            "invalid console size {}x{}: each dimension must be at most {}",
            size[0],
            size[1],
            u16::MAX
        )));
    }
    Ok(())
}

fn uses_host_uts(hc: &HostConfig) -> bool {
    hc.network_mode == "host" || hc.uts_mode == "host"
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_default()
}

/// Env entries merged as Docker does: entries in `over` replace those in `base` with the
/// same key in place, new keys are appended, and a bare `KEY` removes the key.
fn merge_env(base: &mut Vec<String>, over: &[String]) {
    for e in over {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        let pos = base
            .iter()
            .position(|b| b.split_once('=').map_or(b.as_str(), |(k, _)| k) == key);
        match (pos, e.contains('=')) {
            (Some(i), true) => base[i] = e.clone(),
            (None, true) => base.push(e.clone()),
            (Some(i), false) => {
                base.remove(i);
            }
            (None, false) => {}
        }
    }
}

/// The process environment: PATH, HOSTNAME, TERM (with a TTY) first, then the image's
/// env, then the request's; later entries win by key (moby `CreateDaemonEnvironment`).
pub fn environment(
    config: &Config,
    image: &myimages::RuntimeConfig,
    hostname: &str,
) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if config.tty {
        env.push("TERM=xterm".into());
    }
    merge_env(&mut env, &image.env);
    merge_env(&mut env, &config.env);
    env
}

/// The capability set after `CapAdd`/`CapDrop` (moby `TweakCapabilities`): `ALL` in
/// `CapAdd` starts from every capability, `ALL` in `CapDrop` from none.
pub fn capabilities(host_config: &HostConfig) -> Result<Vec<String>> {
    let norm = |list: &Option<Vec<String>>| -> Result<Vec<String>> {
        list.iter()
            .flatten()
            .map(|c| {
                let up = c.trim().to_ascii_uppercase();
                if up == "ALL" {
                    return Ok(up);
                }
                let name = if up.starts_with("CAP_") {
                    up
                } else {
                    format!("CAP_{up}")
                };
                if ALL_CAPABILITIES.contains(&name.as_str()) {
                    Ok(name)
                } else {
                    Err(SpecError::invalid(format!("unknown capability: {c:?}")))
                }
            })
            .collect()
    };
    let add = norm(&host_config.cap_add)?;
    let drop = norm(&host_config.cap_drop)?;
    let all = |l: &[String]| l.iter().any(|c| c == "ALL");
    let mut caps: Vec<String> = if all(&add) {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else if all(&drop) {
        Vec::new()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    };
    if !all(&drop) {
        caps.retain(|c| !drop.contains(c));
    }
    if !all(&add) {
        for c in add {
            if !caps.contains(&c) {
                caps.push(c);
            }
        }
    }
    Ok(caps)
}

/// One `HostConfig.Binds` entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The host path of a bind mount; empty for a volume.
    pub source: PathBuf,
    /// `None`: a host path. `Some(name)`: a volume (`NAME:/dst`), anonymous when the
    /// name is empty (a lone `/dst`).
    pub volume: Option<String>,
    pub destination: String,
    pub read_only: bool,
    /// `rprivate` unless the mode names another propagation.
    pub propagation: String,
    /// The mode as written after the last colon (what inspect shows).
    pub mode: String,
    /// `nocopy`: a new volume is not filled with the image's content.
    pub no_copy: bool,
}

/// Parses docker's `-v` syntax (moby's linux `ParseMountRaw`): `/dst` (an anonymous
/// volume), `SRC:/dst` or `SRC:/dst:MODE`, where SRC is an absolute host path or a
/// volume name and MODE is a comma-separated list of `ro`/`rw`, a propagation
/// (`[r]shared`, `[r]slave`, `[r]private`), SELinux `z`/`Z` (accepted, without effect
/// here), `copy`/`nocopy`, and the ignored `consistent`/`cached`/`delegated`. Volume
/// names are checked when the volume is made.
pub fn parse_bind(spec: &str) -> Result<Bind> {
    let bad =
        |why: &str| SpecError::invalid(format!("invalid volume specification: '{spec}': {why}"));
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] => ("", *d, ""),
        // `/dst:ro`: a mode where the destination should be (moby refuses it too).
        [_, m] if valid_mode(m) => return Err(bad("a volume without a source takes no mode")),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(bad("too many colons")),
    };
    if dst.is_empty() || (parts.len() > 1 && src.is_empty()) {
        return Err(bad("empty path"));
    }
    if !dst.starts_with('/') {
        return Err(bad("the container path must be absolute"));
    }
    if clean_path(dst) == "/" {
        return Err(bad("cannot mount over the container's root"));
    }
    let volume = (!src.starts_with('/')).then(|| src.to_owned());
    let mut bind = Bind {
        source: if volume.is_some() {
            PathBuf::new()
        } else {
            PathBuf::from(clean_path(src))
        },
        volume,
        destination: clean_path(dst),
        read_only: false,
        propagation: "rprivate".into(),
        mode: mode.to_owned(),
        no_copy: false,
    };
    let (mut rw_seen, mut prop_seen, mut copy_seen) = (false, false, false);
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" | "rw" => {
                if std::mem::replace(&mut rw_seen, true) {
                    return Err(bad("more than one of ro/rw"));
                }
                bind.read_only = m == "ro";
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                if std::mem::replace(&mut prop_seen, true) {
                    return Err(bad("more than one propagation mode"));
                }
                bind.propagation = m.into();
            }
            "copy" | "nocopy" => {
                if std::mem::replace(&mut copy_seen, true) {
                    return Err(bad("more than one of copy/nocopy"));
                }
                bind.no_copy = m == "nocopy";
            }
            "z" | "Z" | "consistent" | "cached" | "delegated" => {}
            other => return Err(bad(&format!("unknown mode {other:?}"))),
        }
    }
    Ok(bind)
}

/// Whether `mode` reads as a `-v` mode (so `/a:ro` is a mode, not a destination).
fn valid_mode(mode: &str) -> bool {
    mode.split(',').all(|m| {
        matches!(
            m,
            "ro" | "rw"
                | "z"
                | "Z"
                | "shared"
                | "rshared"
                | "slave"
                | "rslave"
                | "private"
                | "rprivate"
                | "copy"
                | "nocopy"
                | "consistent"
                | "cached"
                | "delegated"
        )
    })
}

/// The user's mounts as inspect and the list show them (`Mounts`), in Docker's shape:
/// `-v` binds with the mode as typed, `--mount` binds and tmpfs. What does not parse
/// (never accepted at create) is left out.
pub fn mount_points(hc: &HostConfig) -> Vec<MountPoint> {
    let binds = hc.binds.iter().flatten().filter_map(|spec| {
        let bind = parse_bind(spec).ok().filter(|b| b.volume.is_none())?;
        Some(MountPoint {
            kind: "bind".into(),
            source: bind.source.display().to_string(),
            destination: bind.destination,
            mode: spec.splitn(3, ':').nth(2).unwrap_or("").to_owned(),
            rw: !bind.read_only,
            propagation: bind.propagation,
            ..Default::default()
        })
    });
    let mounts = hc.mounts.iter().filter_map(|m| {
        let (source, propagation) = match m.kind.as_str() {
            "bind" => (
                clean_path(&m.source),
                m.bind_options
                    .as_ref()
                    .map(|o| o.propagation.clone())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "rprivate".into()),
            ),
            "tmpfs" => (String::new(), String::new()),
            _ => return None,
        };
        Some(MountPoint {
            kind: m.kind.clone(),
            source,
            destination: clean_path(&m.target),
            rw: !m.read_only,
            propagation,
            ..Default::default()
        })
    });
    binds.chain(mounts).collect()
}

/// `/a//b/./c/` → `/a/b/c`, without touching the filesystem (`..` is kept out: a
/// destination is resolved inside the root by the runtime).
pub(crate) fn clean_path(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Value {
    json!({ "destination": dest, "type": typ, "source": source, "options": options })
}

fn bind_mount(dest: &str, source: &Path, read_only: bool, propagation: &str) -> Value {
    let mut opts = vec!["rbind", propagation];
    if read_only {
        opts.push("ro");
    }
    json!({
        "destination": dest,
        "type": "bind",
        "source": source.to_string_lossy(),
        "options": opts,
    })
}

/// The user's mounts: `Binds`, `Mounts` (bind, tmpfs and volume), `Tmpfs`, and the
/// anonymous volumes of `Config.Volumes` that nothing else mounts.
fn user_mounts(hc: &HostConfig, volumes: &[VolumeBind]) -> Result<Vec<Value>> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut used = vec![false; volumes.len()];
    // The volume the daemon resolved for `dest` (one each, in the order asked for).
    let mut volume_at = |dest: &str| -> Result<Value> {
        let i = (0..volumes.len())
            .find(|&i| !used[i] && volumes[i].destination == dest)
            .ok_or_else(|| SpecError::invalid(format!("no volume resolved for {dest}")))?;
        used[i] = true;
        let v = &volumes[i];
        Ok(bind_mount(dest, &v.source, v.read_only, "rprivate"))
    };
    for b in hc.binds.iter().flatten() {
        let bind = parse_bind(b)?;
        if bind.volume.is_some() {
            out.push((bind.destination.clone(), volume_at(&bind.destination)?));
            continue;
        }
        // Docker creates a missing host directory for -v (not for --mount).
        if !bind.source.exists() {
            std::fs::create_dir_all(&bind.source).map_err(|e| SpecError::Io {
                what: "creating bind source",
                path: bind.source.clone(),
                source: e,
            })?;
        }
        let v = bind_mount(
            &bind.destination,
            &bind.source,
            bind.read_only,
            &bind.propagation,
        );
        out.push((bind.destination, v));
    }
    for m in &hc.mounts {
        let target = clean_path(&m.target);
        if !m.target.starts_with('/') || target == "/" {
            return Err(SpecError::invalid(format!(
                "invalid mount config: invalid mount path: '{}' mount path must be absolute",
                m.target
            )));
        }
        match m.kind.as_str() {
            "bind" => {
                if !m.source.starts_with('/') {
                    return Err(SpecError::invalid(format!(
                        "invalid mount config for type \"bind\": invalid mount path: '{}' mount path must be absolute",
                        m.source
                    )));
                }
                let src = PathBuf::from(clean_path(&m.source));
                if !src.exists() {
                    return Err(SpecError::invalid(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        src.display()
                    )));
                }
                let prop = m
                    .bind_options
                    .as_ref()
                    .map(|o| o.propagation.as_str())
                    .filter(|p| !p.is_empty())
                    .unwrap_or("rprivate");
                if !matches!(
                    prop,
                    "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
                ) {
                    return Err(SpecError::invalid(format!(
                        "invalid mount config: invalid propagation mode {prop:?}"
                    )));
                }
                let mut v = bind_mount(&target, &src, m.read_only, prop);
                if m.bind_options.as_ref().is_some_and(|o| o.non_recursive) {
                    v["options"][0] = json!("bind");
                }
                out.push((target, v));
            }
            "tmpfs" => {
                let mut opts = vec!["nosuid".to_string(), "nodev".into(), "noexec".into()];
                if let Some(t) = &m.tmpfs_options {
                    if let Some(size) = t.size_bytes.filter(|s| *s > 0) {
                        opts.push(format!("size={size}"));
                    }
                    if let Some(mode) = t.mode {
                        opts.push(format!("mode={mode:o}"));
                    }
                }
                if m.read_only {
                    opts.push("ro".into());
                }
                let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
                out.push((target.clone(), mount(&target, "tmpfs", "tmpfs", &opts)));
            }
            "volume" => out.push((target.clone(), volume_at(&target)?)),
            "npipe" | "cluster" | "image" => {
                return Err(SpecError::NotSupported(format!(
                    "mounts of type {:?}",
                    m.kind
                )));
            }
            other => {
                return Err(SpecError::invalid(format!(
                    "invalid mount config: mount type unknown: {other:?}"
                )));
            }
        }
    }
    for (dest, data) in hc.tmpfs.iter().flatten() {
        let target = clean_path(dest);
        if !dest.starts_with('/') || target == "/" {
            return Err(SpecError::invalid(format!(
                "invalid tmpfs mount path {dest:?}: it must be absolute"
            )));
        }
        // Docker's defaults for --tmpfs, overridable by the given options.
        let mut opts = vec!["noexec", "nosuid", "nodev"];
        opts.extend(data.split(',').filter(|o| !o.is_empty()));
        out.push((target.clone(), mount(&target, "tmpfs", "tmpfs", &opts)));
    }
    for (v, _) in volumes.iter().zip(used).filter(|(_, used)| !used) {
        let m = bind_mount(&v.destination, &v.source, v.read_only, "rprivate");
        out.push((v.destination.clone(), m));
    }
    let mut seen = std::collections::HashSet::new();
    for (dest, _) in &out {
        if !seen.insert(dest.clone()) {
            return Err(SpecError::invalid(format!("Duplicate mount point: {dest}")));
        }
    }
    // Parents before children, so a mount inside another one is not hidden by it.
    out.sort_by_key(|(d, _)| d.split('/').filter(|s| !s.is_empty()).count());
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// A `devices` entry and its cgroup rule for one `--device HOST[:CONTAINER[:PERMS]]`.
fn device(d: &engine_api::containers::DeviceMapping) -> Result<(Value, Value)> {
    let host = Path::new(&d.path_on_host);
    let meta = std::fs::metadata(host).map_err(|e| {
        SpecError::invalid(format!(
            "error gathering device information while adding custom device {:?}: {e}",
            d.path_on_host
        ))
    })?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        "c"
    } else if ft.is_block_device() {
        "b"
    } else if ft.is_dir() {
        return Err(SpecError::NotSupported(format!(
            "adding the device directory {:?}",
            d.path_on_host
        )));
    } else {
        return Err(SpecError::invalid(format!(
            "{:?} is not a device node",
            d.path_on_host
        )));
    };
    let perms = if d.cgroup_permissions.is_empty() {
        "rwm"
    } else {
        d.cgroup_permissions.as_str()
    };
    if perms.is_empty() || !perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(SpecError::invalid(format!(
            "invalid device permissions {perms:?}: only r, w and m"
        )));
    }
    let dest = if d.path_in_container.is_empty() {
        &d.path_on_host
    } else {
        &d.path_in_container
    };
    let rdev = meta.rdev();
    let (major, minor) = (libc::major(rdev) as i64, libc::minor(rdev) as i64);
    let node = json!({
        "path": dest, "type": typ, "major": major, "minor": minor,
        "fileMode": meta.mode() & 0o7777, "uid": meta.uid(), "gid": meta.gid(),
    });
    let rule =
        json!({ "allow": true, "type": typ, "major": major, "minor": minor, "access": perms });
    Ok((node, rule))
}

/// Parses a device cgroup rule, `c 1:3 rwm`, `b *:* m`, `a`.
fn device_cgroup_rule(rule: &str) -> Result<Value> {
    let bad = || SpecError::invalid(format!("invalid device cgroup rule {rule:?}"));
    let parts: Vec<&str> = rule.split_whitespace().collect();
    let [typ, nums, access] = parts.as_slice() else {
        return Err(bad());
    };
    if !matches!(*typ, "a" | "b" | "c")
        || access.is_empty()
        || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
    {
        return Err(bad());
    }
    let (maj, min) = nums.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Value> {
        if s == "*" {
            Ok(Value::Null)
        } else {
            s.parse::<i64>().map(|n| json!(n)).map_err(|_| bad())
        }
    };
    let mut v = json!({ "allow": true, "type": typ, "access": access });
    let (maj, min) = (num(maj)?, num(min)?);
    if !maj.is_null() {
        v["major"] = maj;
    }
    if !min.is_null() {
        v["minor"] = min;
    }
    Ok(v)
}

/// Docker's device cgroup defaults (moby `DefaultLinuxSpec`): deny everything, allow the
/// basic character devices, and refuse /dev/fuse explicitly. The runtime appends the rest
/// of its own allow-list (ptmx, pts, full), as runc does.
fn default_device_rules() -> Vec<Value> {
    let allow = |major: i64, minor: i64| json!({ "allow": true, "type": "c", "major": major, "minor": minor, "access": "rwm" });
    vec![
        json!({ "allow": false, "access": "rwm" }),
        allow(1, 5), // zero
        allow(1, 3), // null
        allow(1, 9), // urandom
        allow(1, 8), // random
        allow(5, 0), // tty
        allow(5, 1), // console
        json!({ "allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm" }), // fuse
    ]
}

fn resources(hc: &HostConfig) -> Result<Value> {
    let mut r = json!({ "devices": default_device_rules() });
    let mut memory = serde_json::Map::new();
    if hc.memory < 0 || hc.memory_reservation < 0 || hc.memory_swap < -1 {
        return Err(SpecError::invalid("memory limits must not be negative"));
    }
    if hc.memory > 0 {
        if hc.memory < MIN_MEMORY {
            return Err(SpecError::invalid("Minimum memory limit allowed is 6MB"));
        }
        memory.insert("limit".into(), json!(hc.memory));
        // Docker: swap (memory + swap, as the v1 memsw limit counts) defaults to twice the
        // memory; -1 is unlimited.
        let swap = match hc.memory_swap {
            0 => hc.memory.checked_mul(2).ok_or_else(|| {
                SpecError::invalid(format!("memory limit {} is too large", hc.memory))
            })?,
            -1 => -1,
            s if s < hc.memory => {
                return Err(SpecError::invalid(
                    "Minimum memoryswap limit should be larger than memory limit, see usage",
                ));
            }
            s => s,
        };
        memory.insert("swap".into(), json!(swap));
    } else if hc.memory_swap > 0 {
        return Err(SpecError::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if hc.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(hc.memory_reservation));
    }
    if let Some(s) = hc.memory_swappiness.filter(|s| *s != -1) {
        if !(0..=100).contains(&s) {
            return Err(SpecError::invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
        memory.insert("swappiness".into(), json!(s));
    }
    if let Some(true) = hc.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if !memory.is_empty() {
        r["memory"] = Value::Object(memory);
    }

    let mut cpu = serde_json::Map::new();
    if hc.nano_cpus != 0 {
        if hc.cpu_quota != 0 || hc.cpu_period != 0 {
            return Err(SpecError::invalid(
                "Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set",
            ));
        }
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if hc.nano_cpus < 0 || hc.nano_cpus > ncpu * 1_000_000_000 {
            return Err(SpecError::invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        let quota = hc.nano_cpus * CPU_PERIOD / 1_000_000_000;
        // The kernel refuses quotas under 1 ms.
        cpu.insert("quota".into(), json!(quota.max(1000)));
        cpu.insert("period".into(), json!(CPU_PERIOD));
    }
    if hc.cpu_period > 0 {
        cpu.insert("period".into(), json!(hc.cpu_period));
    }
    if hc.cpu_quota > 0 {
        cpu.insert("quota".into(), json!(hc.cpu_quota));
    }
    if hc.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(hc.cpu_shares));
    }
    if !hc.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(hc.cpuset_cpus));
    }
    if !hc.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(hc.cpuset_mems));
    }
    if !cpu.is_empty() {
        r["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = hc.pids_limit.filter(|p| *p > 0) {
        r["pids"] = json!({ "limit": p });
    }
    if hc.blkio_weight > 0 {
        if !(10..=1000).contains(&hc.blkio_weight) {
            return Err(SpecError::invalid(
                "Range of blkio weight is from 10 to 1000",
            ));
        }
        r["blockIO"] = json!({ "weight": hc.blkio_weight });
    }
    Ok(r)
}

/// A namespace mode (`PidMode`, `IpcMode`, `UTSMode`, …): `Some(true)` for a new
/// namespace, `Some(false)` for the host's.
fn private_ns(field: &str, mode: &str, private: &[&str]) -> Result<bool> {
    if mode == "host" {
        return Ok(false);
    }
    if mode.is_empty() || private.contains(&mode) {
        return Ok(true);
    }
    if mode.starts_with("container:") {
        return Err(SpecError::NotSupported(format!("{field} {mode:?}")));
    }
    Err(SpecError::invalid(format!("invalid {field}: {mode}")))
}

/// The seccomp filter a container asks for.
enum Seccomp {
    Default,
    Unconfined,
    /// A profile's JSON, as the docker CLI sends the file given to `seccomp=FILE`.
    Custom(String),
}

fn security_options(hc: &HostConfig) -> Result<(Seccomp, bool)> {
    let (mut seccomp, mut no_new_privs) = (Seccomp::Default, false);
    for opt in hc.security_opt.iter().flatten() {
        let (k, v) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        match (k, v) {
            ("seccomp", "unconfined") => seccomp = Seccomp::Unconfined,
            ("seccomp", "") => {
                return Err(SpecError::invalid(format!(
                    "invalid --security-opt: {opt:?}"
                )));
            }
            ("seccomp", profile) => seccomp = Seccomp::Custom(profile.to_owned()),
            ("no-new-privileges", "" | "true") => no_new_privs = true,
            ("no-new-privileges", "false") => no_new_privs = false,
            // No AppArmor or SELinux here: accept only what asks for nothing.
            ("apparmor", "unconfined") | ("label", "disable") => {}
            ("apparmor" | "label", _) => {
                return Err(SpecError::NotSupported(format!("security option {opt:?}")));
            }
            _ => {
                return Err(SpecError::invalid(format!(
                    "invalid --security-opt: {opt:?}"
                )));
            }
        }
    }
    Ok((seccomp, no_new_privs))
}

/// Builds the OCI spec of a container without volumes.
pub fn build(input: &SpecInput) -> Result<Value> {
    build_with_volumes(input, &[])
}

/// Builds the container's OCI spec with its volumes, resolved to host directories (see
/// `daemon::volumes`): those named by `Binds` and `Mounts`, and the anonymous ones of
/// `Config.Volumes`.
pub fn build_with_volumes(input: &SpecInput, volumes: &[VolumeBind]) -> Result<Value> {
    let (config, hc) = (input.config, input.host_config);
    if hc.privileged {
        return Err(SpecError::NotSupported("privileged mode".into()));
    }
    if !hc.userns_mode.is_empty() && hc.userns_mode != "host" {
        return Err(SpecError::NotSupported(format!(
            "UsernsMode {:?}",
            hc.userns_mode
        )));
    }
    if !hc.cgroup.is_empty() {
        return Err(SpecError::NotSupported(format!("Cgroup {:?}", hc.cgroup)));
    }

    let mut args = command(config, input.image)?;
    let hostname = hostname(input.id, config, hc)?;
    let env = environment(config, input.image, &hostname);
    let cwd = [
        config.working_dir.as_str(),
        input.image.working_dir.as_str(),
    ]
    .into_iter()
    .find(|d| !d.is_empty())
    .unwrap_or("/");
    if !cwd.starts_with('/') {
        return Err(SpecError::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    let init = hc.init.unwrap_or(false);
    if init {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }

    // Namespaces.
    let mut namespaces = Vec::new();
    if private_ns("PidMode", &hc.pid_mode, &[])? {
        namespaces.push(json!({ "type": "pid" }));
    }
    let ipc_private = private_ns("IpcMode", &hc.ipc_mode, &["private", "shareable", "none"])?;
    if ipc_private {
        namespaces.push(json!({ "type": "ipc" }));
    }
    let host_uts = uses_host_uts(hc);
    if !host_uts {
        if !hc.uts_mode.is_empty() {
            return Err(SpecError::invalid(format!(
                "invalid UTSMode: {}",
                hc.uts_mode
            )));
        }
        namespaces.push(json!({ "type": "uts" }));
    }
    namespaces.push(json!({ "type": "mount" }));
    match hc.network_mode.as_str() {
        "host" => {}
        m if m.starts_with("container:") => match input.netns_path {
            Some(p) => namespaces.push(json!({ "type": "network", "path": p })),
            None => {
                return Err(SpecError::invalid(format!(
                    "NetworkMode {m:?}: no namespace to join"
                )));
            }
        },
        _ => match input.netns_path {
            Some(p) => namespaces.push(json!({ "type": "network", "path": p })),
            None => namespaces.push(json!({ "type": "network" })),
        },
    }
    // A private cgroup namespace, as Docker on cgroup v2 (and newer Docker everywhere):
    // myrunc (like runc) moves the init into its cgroups before unsharing, so the
    // container sees its own cgroups as `/` in /proc/self/cgroup, and /sys/fs/cgroup is
    // its own cgroups either way. Docker's v1 default ("host") only leaks host paths.
    if private_ns("CgroupnsMode", &hc.cgroupns_mode, &["private"])? {
        namespaces.push(json!({ "type": "cgroup" }));
    }

    // Mounts: Docker's defaults, minus those the user replaces, then /etc files, init,
    // then the user's.
    let user = user_mounts(hc, volumes)?;
    let user_dests: Vec<&str> = user
        .iter()
        .filter_map(|m| m["destination"].as_str())
        .collect();
    let shm_size = if hc.shm_size > 0 {
        hc.shm_size
    } else {
        DEFAULT_SHM_SIZE
    };
    let shm_opt = format!("size={shm_size}");
    let mut defaults = vec![
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
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
    ];
    if hc.ipc_mode != "none" {
        defaults.push(mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt],
        ));
    }
    let ro = hc.readonly_rootfs;
    for (name, dest) in [
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
        ("resolv.conf", "/etc/resolv.conf"),
    ] {
        defaults.push(bind_mount(dest, &input.etc_dir.join(name), ro, "rprivate"));
    }
    if init {
        defaults.push(json!({
            "destination": INIT_PATH_IN_CONTAINER,
            "type": "bind",
            "source": input.init_path.to_string_lossy(),
            "options": ["bind", "ro"],
        }));
    }
    defaults.retain(|m| !user_dests.contains(&m["destination"].as_str().unwrap_or("")));
    let mut mounts = defaults;
    mounts.extend(user);

    // Devices.
    let mut res = resources(hc)?;
    let mut devices = Vec::new();
    for d in &hc.devices {
        let (node, rule) = device(d)?;
        devices.push(node);
        res["devices"]
            .as_array_mut()
            .expect("devices list")
            .push(rule);
    }
    for r in hc.device_cgroup_rules.iter().flatten() {
        let rule = device_cgroup_rule(r)?;
        res["devices"]
            .as_array_mut()
            .expect("devices list")
            .push(rule);
    }

    // Process.
    let caps = capabilities(hc)?;
    let (seccomp_opt, no_new_privs) = security_options(hc)?;
    let mut gids = input.user.additional_gids.clone();
    // Names were resolved in the image's /etc/group into the user's GIDs already.
    for g in hc.group_add.iter().flatten() {
        let Ok(gid) = g.parse::<u32>() else {
            continue;
        };
        if !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    let mut rlimits = Vec::new();
    for u in hc.ulimits.iter().flatten() {
        if u.soft > u.hard || u.soft < 0 {
            return Err(SpecError::invalid(format!(
                "ulimit {}: soft limit {} must not exceed hard limit {}",
                u.name, u.soft, u.hard
            )));
        }
        if u.name.is_empty() || !u.name.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(SpecError::invalid(format!(
                "invalid ulimit name {:?}",
                u.name
            )));
        }
        rlimits.push(json!({
            "type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()),
            "soft": u.soft, "hard": u.hard,
        }));
    }
    let mut process = json!({
        "terminal": config.tty,
        "user": {
            "uid": input.user.uid,
            "gid": input.user.gid,
            "additionalGids": gids,
        },
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {
            "bounding": caps,
            "effective": caps,
            "permitted": caps,
        },
        "noNewPrivileges": no_new_privs,
    });
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    if config.tty {
        validate_console_size(hc.console_size)?;
        let [h, w] = hc.console_size;
        if h > 0 && w > 0 {
            process["consoleSize"] = json!({ "height": h, "width": w });
        }
    }
    // Only when asked: writing a lower score than the runtime's needs CAP_SYS_RESOURCE.
    if hc.oom_score_adj != 0 {
        if !(-1000..=1000).contains(&hc.oom_score_adj) {
            return Err(SpecError::invalid(format!(
                "Invalid value {}, range for oom score adj is [-1000, 1000]",
                hc.oom_score_adj
            )));
        }
        process["oomScoreAdj"] = json!(hc.oom_score_adj);
    }

    let mut linux = json!({
        "namespaces": namespaces,
        "resources": res,
        "cgroupsPath": format!("{}/{}", input.cgroup_parent.trim_end_matches('/'), input.id),
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
    });
    if !devices.is_empty() {
        linux["devices"] = json!(devices);
    }
    if let Some(masked) = &hc.masked_paths {
        linux["maskedPaths"] = json!(masked);
    }
    if let Some(ro) = &hc.readonly_paths {
        linux["readonlyPaths"] = json!(ro);
    }
    if let Some(sysctls) = hc.sysctls.as_ref().filter(|s| !s.is_empty()) {
        linux["sysctl"] = json!(sysctls);
    }
    match &seccomp_opt {
        Seccomp::Default => linux["seccomp"] = seccomp::default_profile(&caps),
        Seccomp::Unconfined => {}
        Seccomp::Custom(text) => {
            linux["seccomp"] = seccomp::custom_profile(text, &caps).map_err(SpecError::invalid)?;
        }
    }

    let mut spec = json!({
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": { "path": "rootfs", "readonly": hc.readonly_rootfs },
        "mounts": mounts,
        "linux": linux,
    });
    if !host_uts {
        spec["hostname"] = json!(hostname);
        if !config.domainname.is_empty() {
            spec["domainname"] = json!(config.domainname);
        }
    }
    let annotations: BTreeMap<String, String> = hc.annotations.clone().unwrap_or_default();
    if !annotations.is_empty() {
        spec["annotations"] = json!(annotations);
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::containers::{DeviceMapping, Mount};

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn image() -> myimages::RuntimeConfig {
        myimages::RuntimeConfig {
            entrypoint: vec![],
            cmd: vec!["sh".into()],
            env: vec![format!("PATH={DEFAULT_PATH}"), "A=image".into()],
            ..Default::default()
        }
    }

    fn root() -> myimages::ResolvedUser {
        myimages::ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![0],
        }
    }

    fn spec_of(config: &Config, hc: &HostConfig) -> Result<Value> {
        spec_with(config, hc, &image(), None)
    }

    fn spec_with(
        config: &Config,
        hc: &HostConfig,
        image: &myimages::RuntimeConfig,
        netns: Option<&Path>,
    ) -> Result<Value> {
        build(&SpecInput {
            id: ID,
            config,
            host_config: hc,
            image,
            user: &root(),
            etc_dir: Path::new("/var/lib/myengine/containers/x"),
            init_path: Path::new("/usr/local/bin/myinit"),
            cgroup_parent: "/myengine",
            netns_path: netns,
        })
    }

    fn strs(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    fn cfg(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> Config {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Config {
            entrypoint: entrypoint.map(v),
            cmd: cmd.map(v),
            ..Default::default()
        }
    }

    #[test]
    fn args_follow_dockers_merge_rules() {
        let img = myimages::RuntimeConfig {
            entrypoint: vec!["/ep".into()],
            cmd: vec!["img-cmd".into()],
            ..Default::default()
        };
        let c = |e, c| command(&cfg(e, c), &img);
        assert_eq!(c(None, None).unwrap(), ["/ep", "img-cmd"]);
        assert_eq!(c(None, Some(&["x"])).unwrap(), ["/ep", "x"]);
        // An entrypoint from the request drops the image's cmd.
        assert_eq!(c(Some(&["/mine"]), None).unwrap(), ["/mine"]);
        assert_eq!(c(Some(&["/mine"]), Some(&["a"])).unwrap(), ["/mine", "a"]);
        // An empty list clears the entrypoint but keeps the image's cmd.
        assert_eq!(c(Some(&[]), None).unwrap(), ["img-cmd"]);
        assert_eq!(c(Some(&[]), Some(&["y"])).unwrap(), ["y"]);
        // The CLI's --entrypoint "": no entrypoint and no image cmd.
        assert_eq!(c(Some(&[""]), Some(&["z"])).unwrap(), ["z"]);
        assert!(matches!(c(Some(&[""]), None), Err(SpecError::NoCommand)));
        let empty = myimages::RuntimeConfig::default();
        let err = command(&cfg(None, None), &empty).unwrap_err();
        assert_eq!(err.to_string(), "no command specified");
    }

    #[test]
    fn env_merges_with_later_entries_winning() {
        let config = Config {
            env: vec!["A=request".into(), "B=1".into(), "PATH=/x".into()],
            tty: true,
            ..Default::default()
        };
        let s = spec_of(&config, &HostConfig::default()).unwrap();
        assert_eq!(
            strs(&s["process"]["env"]),
            [
                "PATH=/x",
                "HOSTNAME=0123456789ab",
                "TERM=xterm",
                "A=request",
                "B=1"
            ]
        );
        // No PATH anywhere: the default; a bare key removes the variable.
        let img = myimages::RuntimeConfig {
            cmd: vec!["sh".into()],
            env: vec!["X=1".into()],
            ..Default::default()
        };
        let config = Config {
            env: vec!["X".into(), "HOSTNAME=mine".into()],
            ..Default::default()
        };
        let s = spec_with(&config, &HostConfig::default(), &img, None).unwrap();
        assert_eq!(
            strs(&s["process"]["env"]),
            [format!("PATH={DEFAULT_PATH}"), "HOSTNAME=mine".into()]
        );
    }

    #[test]
    fn cwd_hostname_root_and_cgroups_path() {
        let s = spec_of(&Config::default(), &HostConfig::default()).unwrap();
        assert_eq!(s["process"]["cwd"], "/");
        assert_eq!(s["hostname"], "0123456789ab");
        assert_eq!(s["root"], json!({ "path": "rootfs", "readonly": false }));
        assert_eq!(s["linux"]["cgroupsPath"], format!("/myengine/{ID}"));
        assert_eq!(s["process"]["terminal"], false);
        assert_eq!(s["process"]["user"]["additionalGids"], json!([0]));

        let img = myimages::RuntimeConfig {
            working_dir: "/img".into(),
            ..image()
        };
        let s = spec_with(&Config::default(), &HostConfig::default(), &img, None).unwrap();
        assert_eq!(s["process"]["cwd"], "/img");
        let config = Config {
            working_dir: "/req".into(),
            hostname: "web".into(),
            domainname: "example.org".into(),
            ..Default::default()
        };
        let s = spec_with(&config, &HostConfig::default(), &img, None).unwrap();
        assert_eq!(s["process"]["cwd"], "/req");
        assert_eq!(s["hostname"], "web");
        assert_eq!(s["domainname"], "example.org");
        let config = Config {
            working_dir: "rel".into(),
            ..Default::default()
        };
        assert!(spec_of(&config, &HostConfig::default()).is_err());
    }

    #[test]
    fn init_prefixes_args_and_binds_the_binary() {
        let hc = HostConfig {
            init: Some(true),
            ..Default::default()
        };
        let s = spec_of(&cfg(None, Some(&["top", "-b"])), &hc).unwrap();
        assert_eq!(
            strs(&s["process"]["args"]),
            ["/sbin/myinit", "--", "top", "-b"]
        );
        let m = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/sbin/myinit")
            .unwrap();
        assert_eq!(m["source"], "/usr/local/bin/myinit");
        assert_eq!(m["options"], json!(["bind", "ro"]));
        let s = spec_of(&Config::default(), &HostConfig::default()).unwrap();
        assert_eq!(strs(&s["process"]["args"]), ["sh"]);
        assert!(!s["mounts"].to_string().contains("myinit"));
    }

    #[test]
    fn default_mounts_and_etc_files() {
        let hc = HostConfig {
            shm_size: 1 << 20,
            readonly_rootfs: true,
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        let dests: Vec<String> = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/hostname",
                "/etc/hosts",
                "/etc/resolv.conf"
            ]
        );
        let shm = &s["mounts"][6];
        assert!(strs(&shm["options"]).contains(&"size=1048576".to_string()));
        let hosts = &s["mounts"][8];
        assert_eq!(hosts["source"], "/var/lib/myengine/containers/x/hosts");
        assert_eq!(hosts["options"], json!(["rbind", "rprivate", "ro"]));
        assert_eq!(s["root"]["readonly"], true);
        let s = spec_of(&Config::default(), &HostConfig::default()).unwrap();
        assert!(strs(&s["mounts"][6]["options"]).contains(&"size=67108864".to_string()));
        assert_eq!(s["mounts"][8]["options"], json!(["rbind", "rprivate"]));
    }

    #[test]
    fn inspect_mounts_show_binds_and_mounts_in_dockers_shape() {
        let hc = HostConfig {
            binds: Some(vec!["/h:/c:ro".into(), "/h2:/c2".into()]),
            mounts: vec![
                Mount {
                    kind: "bind".into(),
                    source: "/s".into(),
                    target: "/t".into(),
                    ..Default::default()
                },
                Mount {
                    kind: "tmpfs".into(),
                    target: "/tmp".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let m = serde_json::to_value(mount_points(&hc)).unwrap();
        assert_eq!(
            m,
            json!([
                {"Type": "bind", "Source": "/h", "Destination": "/c", "Mode": "ro", "RW": false, "Propagation": "rprivate"},
                {"Type": "bind", "Source": "/h2", "Destination": "/c2", "Mode": "", "RW": true, "Propagation": "rprivate"},
                {"Type": "bind", "Source": "/s", "Destination": "/t", "Mode": "", "RW": true, "Propagation": "rprivate"},
                {"Type": "tmpfs", "Source": "", "Destination": "/tmp", "Mode": "", "RW": true, "Propagation": ""},
            ])
        );
    }

    #[test]
    fn binds_parse_and_mount() {
        let b = parse_bind("/h//a/:/c/d:ro,rshared").unwrap();
        assert_eq!(
            b,
            Bind {
                source: "/h/a".into(),
                volume: None,
                destination: "/c/d".into(),
                read_only: true,
                propagation: "rshared".into(),
                mode: "ro,rshared".into(),
                no_copy: false,
            }
        );
        assert!(!parse_bind("/h:/c").unwrap().read_only);
        assert!(!parse_bind("/h:/c:rw,z").unwrap().read_only);
        // Volumes: named, anonymous, with modes.
        let v = parse_bind("data:/srv//d/:ro,nocopy").unwrap();
        assert_eq!(v.volume.as_deref(), Some("data"));
        assert_eq!(v.destination, "/srv/d");
        assert!(v.read_only && v.no_copy);
        assert_eq!(v.mode, "ro,nocopy");
        let v = parse_bind("/anon").unwrap();
        assert_eq!(v.volume.as_deref(), Some(""));
        assert_eq!(v.destination, "/anon");
        assert!(!v.read_only && !v.no_copy && v.mode.is_empty());
        // Names are the volume store's to check; `./x` reads as a (bad) name here.
        assert_eq!(parse_bind("./x:/c").unwrap().volume.as_deref(), Some("./x"));
        for bad in [
            "/h:c",
            "vol:c",
            "c",
            "/h:/",
            "/",
            "/h:ro",
            "/h:rw,z",
            "/h:/c:ro,rw",
            "/h:/c:copy,nocopy",
            "/h:/c:bogus",
            "/a:/b:ro:x",
            ":/c",
            "",
        ] {
            let e = parse_bind(bad).unwrap_err().to_string();
            assert!(e.contains("invalid volume specification"), "{bad}: {e}");
        }

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("made/by/bind");
        let hc = HostConfig {
            binds: Some(vec![
                format!("{}:/data/sub:ro", missing.display()),
                format!("{}:/data", dir.path().display()),
            ]),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        assert!(missing.is_dir(), "a missing bind source is created");
        let mounts = s["mounts"].as_array().unwrap();
        let n = mounts.len();
        // Parents first.
        assert_eq!(mounts[n - 2]["destination"], "/data");
        assert_eq!(mounts[n - 1]["destination"], "/data/sub");
        assert_eq!(mounts[n - 1]["options"], json!(["rbind", "rprivate", "ro"]));
        assert_eq!(mounts[n - 1]["type"], "bind");

        let hc = HostConfig {
            binds: Some(vec!["/tmp:/x".into(), "/var:/x/".into()]),
            ..Default::default()
        };
        let e = spec_of(&Config::default(), &hc).unwrap_err().to_string();
        assert_eq!(e, "Duplicate mount point: /x");
    }

    #[test]
    fn user_mounts_replace_defaults_and_mounts_and_tmpfs_work() {
        let dir = tempfile::tempdir().unwrap();
        let hc = HostConfig {
            mounts: vec![Mount {
                kind: "bind".into(),
                source: dir.path().to_string_lossy().into(),
                target: "/etc/resolv.conf".into(),
                read_only: true,
                ..Default::default()
            }],
            tmpfs: Some([("/run".to_string(), "size=1m".to_string())].into()),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        let resolv: Vec<&Value> = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] == "/etc/resolv.conf")
            .collect();
        assert_eq!(resolv.len(), 1);
        assert_eq!(resolv[0]["source"], dir.path().to_string_lossy().as_ref());
        let run = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/run")
            .unwrap();
        assert_eq!(run["type"], "tmpfs");
        assert!(strs(&run["options"]).contains(&"size=1m".to_string()));

        let hc = HostConfig {
            mounts: vec![Mount {
                kind: "bind".into(),
                source: "/no/such/dir/anywhere".into(),
                target: "/x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = spec_of(&Config::default(), &hc).unwrap_err().to_string();
        assert!(e.contains("bind source path does not exist"), "{e}");
        let hc = HostConfig {
            mounts: vec![Mount {
                kind: "volume".into(),
                target: "/x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = spec_of(&Config::default(), &hc).unwrap_err();
        assert!(e.to_string().contains("no volume resolved for /x"), "{e}");
    }

    fn spec_with_volumes(hc: &HostConfig, volumes: &[VolumeBind]) -> Result<Value> {
        let input = SpecInput {
            id: ID,
            config: &Config::default(),
            host_config: hc,
            image: &image(),
            user: &root(),
            etc_dir: Path::new("/var/lib/myengine/containers/x"),
            init_path: Path::new("/usr/local/bin/myinit"),
            cgroup_parent: "/myengine",
            netns_path: None,
        };
        build_with_volumes(&input, volumes)
    }

    #[test]
    fn volumes_mount_their_data_directories() {
        let vb = |dest: &str, src: &str, ro: bool| VolumeBind {
            destination: dest.into(),
            source: src.into(),
            read_only: ro,
        };
        let hc = HostConfig {
            binds: Some(vec!["data:/data:ro".into(), "/tmp:/host".into()]),
            mounts: vec![Mount {
                kind: "volume".into(),
                source: "other".into(),
                target: "/data/other".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let volumes = [
            vb("/data", "/v/data/_data", true),
            vb("/data/other", "/v/other/_data", false),
            // From Config.Volumes: mounted after the others, parents first.
            vb("/cache", "/v/anon/_data", false),
        ];
        let s = spec_with_volumes(&hc, &volumes).unwrap();
        let find = |dest: &str| {
            s["mounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["destination"] == dest)
                .cloned()
                .unwrap_or_else(|| panic!("no mount at {dest}"))
        };
        assert_eq!(find("/data")["source"], "/v/data/_data");
        assert_eq!(find("/data")["options"], json!(["rbind", "rprivate", "ro"]));
        assert_eq!(find("/data/other")["source"], "/v/other/_data");
        assert_eq!(find("/cache")["type"], "bind");
        assert_eq!(find("/host")["source"], "/tmp");
        let dests: Vec<&str> = s["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["destination"].as_str())
            .collect();
        let pos = |d: &str| dests.iter().position(|x| *x == d).unwrap();
        assert!(pos("/data") < pos("/data/other"));

        // A volume and a bind on one destination clash, as in docker.
        let hc = HostConfig {
            binds: Some(vec!["data:/x".into(), "/tmp:/x".into()]),
            ..Default::default()
        };
        let e = spec_with_volumes(&hc, &[vb("/x", "/v/data/_data", false)]).unwrap_err();
        assert_eq!(e.to_string(), "Duplicate mount point: /x");
        // Inspect leaves volume binds to the volume code (it knows their names).
        let hc = HostConfig {
            binds: Some(vec!["data:/x".into(), "/tmp:/y".into()]),
            ..Default::default()
        };
        let m = mount_points(&hc);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].destination, "/y");
    }

    fn ns_types(s: &Value) -> Vec<String> {
        s["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn network_modes() {
        for mode in ["", "none", "default", "bridge"] {
            let hc = HostConfig {
                network_mode: mode.into(),
                ..Default::default()
            };
            let s = spec_of(&Config::default(), &hc).unwrap();
            assert_eq!(
                ns_types(&s),
                ["pid", "ipc", "uts", "mount", "network", "cgroup"],
                "{mode:?}"
            );
            assert!(s["linux"]["namespaces"][4].get("path").is_none());
        }
        let hc = HostConfig {
            network_mode: "bridge".into(),
            ..Default::default()
        };
        let s = spec_with(
            &Config::default(),
            &hc,
            &image(),
            Some(Path::new("/run/myengine/netns/x")),
        )
        .unwrap();
        assert_eq!(s["linux"]["namespaces"][4]["path"], "/run/myengine/netns/x");

        let hc = HostConfig {
            network_mode: "host".into(),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        assert_eq!(ns_types(&s), ["pid", "ipc", "mount", "cgroup"]);
        // The host's hostname, and no sethostname by the runtime.
        assert!(s.get("hostname").is_none());
        let host = host_hostname();
        assert!(strs(&s["process"]["env"]).contains(&format!("HOSTNAME={host}")));
        let config = Config {
            hostname: "other-than-the-host".into(),
            ..Default::default()
        };
        assert!(spec_of(&config, &hc).is_err());

        let hc = HostConfig {
            network_mode: "container:abc".into(),
            ..Default::default()
        };
        let e = spec_of(&Config::default(), &hc).unwrap_err().to_string();
        assert!(e.contains("no namespace to join"), "{e}");

        let hc = HostConfig {
            pid_mode: "host".into(),
            ipc_mode: "host".into(),
            cgroupns_mode: "host".into(),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        assert_eq!(ns_types(&s), ["uts", "mount", "network"]);
        assert!(!s["mounts"].to_string().is_empty());
    }

    #[test]
    fn huge_memory_and_console_sizes_are_refused_not_overflowed() {
        let hc = HostConfig {
            memory: i64::MAX,
            ..Default::default()
        };
        let e = spec_of(&Config::default(), &hc).unwrap_err();
        assert!(matches!(e, SpecError::InvalidArgument(_)), "{e}");

        let tty = Config {
            tty: true,
            ..Default::default()
        };
        let hc = HostConfig {
            console_size: [70_000, 80],
            ..Default::default()
        };
        let e = spec_of(&tty, &hc).unwrap_err();
        assert!(matches!(e, SpecError::InvalidArgument(_)), "{e}");
        assert!(validate_console_size([65_535, 65_535]).is_ok());
        assert!(validate_console_size([24, 65_536]).is_err());
    }

    #[test]
    fn hostnames_are_checked_like_docker() {
        let with = |h: &str| Config {
            hostname: h.into(),
            ..Default::default()
        };
        let hc = HostConfig::default();
        for good in ["web", "a-b.example.com", "x1", &"a".repeat(63)] {
            assert_eq!(
                hostname("0123456789abcdef", &with(good), &hc).unwrap(),
                good
            );
        }
        for bad in [
            "a\nb",
            "-web",
            "web-",
            "a..b",
            "we b",
            "héllo",
            "under_score",
            &"a".repeat(64),
        ] {
            let e = hostname("0123456789abcdef", &with(bad), &hc).unwrap_err();
            assert!(e.to_string().contains("invalid hostname"), "{bad}: {e}");
        }
    }

    #[test]
    fn resources_follow_docker() {
        let hc = HostConfig {
            memory: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: Some(100),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        let r = &s["linux"]["resources"];
        assert_eq!(r["memory"]["limit"], 64 << 20);
        assert_eq!(r["memory"]["swap"], 128 << 20);
        assert_eq!(r["cpu"]["quota"], 50_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["pids"]["limit"], 100);

        let hc = HostConfig {
            memory: 64 << 20,
            memory_swap: -1,
            pids_limit: Some(0),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        let r = &s["linux"]["resources"];
        assert_eq!(r["memory"]["swap"], -1);
        assert!(r.get("pids").is_none());
        assert!(r.get("cpu").is_none());

        let s = spec_of(&Config::default(), &HostConfig::default()).unwrap();
        let r = &s["linux"]["resources"];
        assert!(r.get("memory").is_none());
        assert_eq!(r["devices"][0], json!({ "allow": false, "access": "rwm" }));
        assert_eq!(r["devices"].as_array().unwrap().len(), 8);

        for bad in [
            HostConfig {
                memory: 1 << 20,
                ..Default::default()
            },
            HostConfig {
                memory: 64 << 20,
                memory_swap: 32 << 20,
                ..Default::default()
            },
            HostConfig {
                memory_swap: 64 << 20,
                ..Default::default()
            },
            HostConfig {
                nano_cpus: 1_000_000_000,
                cpu_quota: 5000,
                ..Default::default()
            },
            HostConfig {
                nano_cpus: 1_000_000_000_000,
                ..Default::default()
            },
        ] {
            assert!(
                matches!(
                    spec_of(&Config::default(), &bad),
                    Err(SpecError::InvalidArgument(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn capabilities_and_hardening() {
        let s = spec_of(&Config::default(), &HostConfig::default()).unwrap();
        let caps = &s["process"]["capabilities"];
        assert_eq!(strs(&caps["bounding"]), DEFAULT_CAPABILITIES);
        assert_eq!(caps["effective"], caps["bounding"]);
        assert_eq!(caps["permitted"], caps["bounding"]);
        assert!(caps.get("inheritable").is_none());
        assert!(caps.get("ambient").is_none());
        assert_eq!(strs(&s["linux"]["maskedPaths"]), MASKED_PATHS);
        assert_eq!(strs(&s["linux"]["readonlyPaths"]), READONLY_PATHS);
        assert_eq!(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert!(s["process"].get("rlimits").is_none());
        assert!(s["process"].get("oomScoreAdj").is_none());

        let hc = HostConfig {
            cap_add: Some(vec!["sys_admin".into()]),
            cap_drop: Some(vec!["CAP_NET_RAW".into(), "mknod".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        let b = strs(&s["process"]["capabilities"]["bounding"]);
        assert!(b.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(!b.contains(&"CAP_NET_RAW".to_string()));
        assert!(!b.contains(&"CAP_MKNOD".to_string()));
        assert_eq!(s["process"]["noNewPrivileges"], true);
        // The seccomp profile follows the capabilities.
        assert!(s["linux"]["seccomp"].to_string().contains("\"unshare\""));

        let hc = HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(vec!["CAP_KILL".into()]),
            security_opt: Some(vec!["seccomp=unconfined".into()]),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        assert_eq!(
            strs(&s["process"]["capabilities"]["bounding"]),
            ["CAP_KILL"]
        );
        assert!(s["linux"].get("seccomp").is_none());
        let hc = HostConfig {
            cap_add: Some(vec!["ALL".into()]),
            cap_drop: Some(vec!["SYS_ADMIN".into()]),
            ..Default::default()
        };
        let caps = capabilities(&hc).unwrap();
        assert_eq!(caps.len(), ALL_CAPABILITIES.len() - 1);
        let hc = HostConfig {
            cap_add: Some(vec!["CAP_FLY".into()]),
            ..Default::default()
        };
        assert!(capabilities(&hc).is_err());
        let hc = HostConfig {
            privileged: true,
            ..Default::default()
        };
        assert!(matches!(
            spec_of(&Config::default(), &hc),
            Err(SpecError::NotSupported(_))
        ));
    }

    #[test]
    fn devices_ulimits_and_groups() {
        let hc = HostConfig {
            devices: vec![DeviceMapping {
                path_on_host: "/dev/null".into(),
                path_in_container: "/dev/mynull".into(),
                cgroup_permissions: "rw".into(),
            }],
            device_cgroup_rules: Some(vec!["c 42:* rmw".into()]),
            ulimits: Some(vec![engine_api::containers::Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }]),
            group_add: Some(vec!["10".into()]),
            ..Default::default()
        };
        let s = spec_of(&Config::default(), &hc).unwrap();
        assert_eq!(
            s["linux"]["devices"][0],
            json!({"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                   "fileMode": 0o666, "uid": 0, "gid": 0})
        );
        let rules = s["linux"]["resources"]["devices"].as_array().unwrap();
        assert_eq!(
            rules[rules.len() - 2],
            json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"})
        );
        assert_eq!(
            rules[rules.len() - 1],
            json!({"allow": true, "type": "c", "major": 42, "access": "rmw"})
        );
        assert_eq!(
            s["process"]["rlimits"],
            json!([{ "type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048 }])
        );
        assert_eq!(s["process"]["user"]["additionalGids"], json!([0, 10]));
        assert!(device_cgroup_rule("x 1:2 r").is_err());
        assert!(device_cgroup_rule("c 1:2").is_err());
        assert!(device_cgroup_rule("c a:2 r").is_err());
    }
}
