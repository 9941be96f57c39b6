//! The flags `run` and `create` share, and how they become the body of
//! `POST /containers/create` (docker's `parse()` in cli/command/container/opts.go).

use std::path::PathBuf;

use clap::Args;
use engine_api::containers::{
    Config, CreateRequest, EmptyObject, EndpointIpamConfig, EndpointSettings, HostConfig,
    NetworkingConfig, PortBinding, RestartPolicy,
};

use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::units;

#[derive(Debug, Args, Default)]
pub struct ContainerOpts {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Bind mount a volume (HOST:CONTAINER[:ro])
    #[arg(short = 'v', long = "volume")]
    pub volumes: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mounts: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    pub labels: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Memory limit (e.g. 64m)
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Connect a container to a network (none, host, bridge, default)
    #[arg(long = "network", visible_alias = "net")]
    pub network: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias", value_name = "ALIAS")]
    pub network_aliases: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "IPV4")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "IPV6")]
    pub ip6: Option<String>,
    /// Publish a container's port(s) to the host ([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "PORT[-END][/PROTO]")]
    pub expose: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Restart policy to apply when a container exits (no, always, on-failure[:N], unless-stopped)
    #[arg(long)]
    pub restart: Option<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<i64>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Ulimit options (name=soft[:hard])
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])
    #[arg(long)]
    pub device: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS])
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// Security Options (no-new-privileges, seccomp=unconfined|FILE)
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Sysctl options (KEY=VALUE)
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Logging driver for the container (json-file)
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options (KEY=VALUE)
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// The image to create the container from
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The command and its arguments
    #[arg(value_name = "COMMAND")]
    pub args: Vec<String>,
}

impl ContainerOpts {
    /// The image as docker's messages name it (`busybox:latest`); fails on a malformed
    /// reference before anything is sent, as docker does.
    pub fn image_reference(&self) -> Result<Reference> {
        Reference::parse(&self.image).map(Reference::with_default_tag)
    }

    /// Builds the create request. `attach` is false for `run -d`: nothing will be
    /// attached, so stdin is not closed when a client goes away.
    pub fn to_request(&self, attach: bool) -> Result<CreateRequest> {
        let mut config = Config {
            image: self.image.clone(),
            tty: self.tty,
            open_stdin: self.interactive,
            attach_stdin: attach && self.interactive,
            attach_stdout: attach,
            attach_stderr: attach,
            hostname: self.hostname.clone().unwrap_or_default(),
            user: self.user.clone().unwrap_or_default(),
            working_dir: self.workdir.clone().unwrap_or_default(),
            env: environment(&self.env_file, &self.env)?,
            labels: super::key_values(&self.labels),
            stop_signal: self.stop_signal.clone().unwrap_or_default(),
            stop_timeout: self.stop_timeout,
            ..Default::default()
        };
        // Stdin closes when the attached client goes (docker: OpenStdin && AttachStdin).
        config.stdin_once = config.open_stdin && config.attach_stdin;
        if !self.args.is_empty() {
            config.cmd = Some(self.args.clone());
        }
        if let Some(ep) = &self.entrypoint {
            // docker passes the flag as one word; an empty one clears the image's.
            config.entrypoint = Some(vec![ep.clone()]);
        }

        let mut host = HostConfig {
            network_mode: self.network.clone().unwrap_or_else(|| "default".to_owned()),
            publish_all_ports: self.publish_all,
            auto_remove: self.rm,
            privileged: self.privileged,
            readonly_rootfs: self.read_only,
            ..Default::default()
        };
        if self.init {
            host.init = Some(true);
        }
        if let Some(m) = &self.memory {
            host.memory = units::ram_in_bytes(m).map_err(|e| {
                Error::InvalidArgument(format!(
                    "invalid argument \"{m}\" for \"-m, --memory\" flag: {e}"
                ))
            })?;
        }
        if let Some(c) = &self.cpus {
            host.nano_cpus = units::nano_cpus(c).map_err(Error::InvalidArgument)?;
        }
        if let Some(p) = self.pids_limit
            && p != 0
        {
            host.pids_limit = Some(p);
        }
        let mut binds = Vec::new();
        for v in &self.volumes {
            let parts: Vec<&str> = v.split(':').collect();
            match parts.as_slice() {
                [""] => {
                    return Err(Error::InvalidArgument(format!(
                        "invalid spec: {v}: empty section between colons"
                    )));
                }
                [target] => {
                    config.volumes.insert((*target).to_owned(), EmptyObject {});
                }
                [src, dst, ..] if src.is_empty() || dst.is_empty() || parts.len() > 3 => {
                    return Err(Error::InvalidArgument(format!("invalid spec: {v}")));
                }
                [src, rest @ ..] => binds.push(
                    std::iter::once(absolute_if_relative(src))
                        .chain(rest.iter().map(|s| s.to_string()))
                        .collect::<Vec<_>>()
                        .join(":"),
                ),
                [] => {}
            }
        }
        if !binds.is_empty() {
            host.binds = Some(binds);
        }
        for m in &self.mounts {
            host.mounts.push(parse_mount(m).map_err(|e| {
                Error::InvalidArgument(format!(
                    "invalid argument \"{m}\" for \"--mount\" flag: {e}"
                ))
            })?);
        }
        if let Some(r) = &self.restart {
            if self.rm && r != "no" {
                return Err(Error::InvalidArgument(
                    "Conflicting options: --restart and --rm".into(),
                ));
            }
            host.restart_policy = restart_policy(r)?;
        }
        if !self.cap_add.is_empty() {
            host.cap_add = Some(self.cap_add.clone());
        }
        if !self.cap_drop.is_empty() {
            host.cap_drop = Some(self.cap_drop.clone());
        }
        if !self.add_host.is_empty() {
            host.extra_hosts = Some(self.add_host.clone());
        }
        host.dns = self.dns.clone();
        self.resource_and_security_options(&mut host)?;
        for spec in &self.publish {
            for (port, binding) in parse_publish(spec)? {
                config.exposed_ports.insert(port.clone(), EmptyObject {});
                host.port_bindings
                    .entry(port)
                    .or_insert_with(|| Some(Vec::new()))
                    .get_or_insert_with(Vec::new)
                    .push(binding);
            }
        }
        for spec in &self.expose {
            for port in parse_expose(spec)? {
                config.exposed_ports.insert(port, EmptyObject {});
            }
        }
        let networking_config = self.networking_config()?;
        if self.tty
            && let Some((rows, cols)) = crate::tty::size(crate::tty::STDOUT)
        {
            host.console_size = [u64::from(rows), u64::from(cols)];
        }
        Ok(CreateRequest {
            config,
            host_config: host,
            networking_config,
        })
    }

    /// `--ulimit`, `--cpu-shares`, `--cpuset-cpus`, `--device`, `--tmpfs`, `--shm-size`,
    /// `--security-opt`, `--group-add`, `--sysctl`, `--log-driver`, `--log-opt`, as the
    /// docker CLI turns them into the HostConfig.
    fn resource_and_security_options(&self, host: &mut HostConfig) -> Result<()> {
        let flag = |name: &str, value: &str, e: String| {
            Error::InvalidArgument(format!(
                "invalid argument \"{value}\" for \"--{name}\" flag: {e}"
            ))
        };
        let mut ulimits = Vec::new();
        for u in &self.ulimit {
            ulimits.push(parse_ulimit(u).map_err(|e| flag("ulimit", u, e))?);
        }
        if !ulimits.is_empty() {
            host.ulimits = Some(ulimits);
        }
        host.cpu_shares = self.cpu_shares.unwrap_or(0);
        host.cpuset_cpus = self.cpuset_cpus.clone().unwrap_or_default();
        for d in &self.device {
            host.devices
                .push(parse_device(d).map_err(|e| flag("device", d, e))?);
        }
        if !self.tmpfs.is_empty() {
            let mut map = std::collections::BTreeMap::new();
            for t in &self.tmpfs {
                let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
                if !path.starts_with('/') {
                    return Err(flag("tmpfs", t, "path must be absolute".into()));
                }
                map.insert(path.to_owned(), opts.to_owned());
            }
            host.tmpfs = Some(map);
        }
        if let Some(s) = &self.shm_size {
            host.shm_size = units::ram_in_bytes(s).map_err(|e| flag("shm-size", s, e))?;
        }
        let mut security = Vec::new();
        for opt in &self.security_opt {
            security.push(security_opt(opt)?);
        }
        if !security.is_empty() {
            host.security_opt = Some(security);
        }
        if !self.group_add.is_empty() {
            host.group_add = Some(self.group_add.clone());
        }
        if !self.sysctl.is_empty() {
            let mut map = std::collections::BTreeMap::new();
            for s in &self.sysctl {
                let Some((k, v)) = s.split_once('=') else {
                    return Err(flag("sysctl", s, "sysctl must be KEY=VALUE".into()));
                };
                map.insert(k.to_owned(), v.to_owned());
            }
            host.sysctls = Some(map);
        }
        if let Some(d) = &self.log_driver {
            host.log_config.kind = d.clone();
        }
        for o in &self.log_opt {
            let Some((k, v)) = o.split_once('=') else {
                return Err(flag("log-opt", o, "must be KEY=VALUE".into()));
            };
            host.log_config.config.insert(k.to_owned(), v.to_owned());
        }
        Ok(())
    }

    /// The endpoint of the container's network, as docker's `parseNetworkOpts` builds it:
    /// `--ip`, `--ip6` and `--network-alias` apply to the `--network` network. Without
    /// `--network` docker always sends an entry for `default`; with one, the entry is
    /// left out when it would be empty (the daemon makes the endpoint anyway).
    fn networking_config(&self) -> Result<NetworkingConfig> {
        let target = self.network.as_deref().unwrap_or("default");
        if target.trim().is_empty() {
            return Err(Error::InvalidArgument("no name set for network".into()));
        }
        let mut ep = EndpointSettings::default();
        if !self.network_aliases.is_empty() {
            if !is_user_defined(target) {
                return Err(Error::InvalidArgument(
                    "network-scoped aliases are only supported for user-defined networks".into(),
                ));
            }
            ep.aliases = Some(self.network_aliases.clone());
        }
        let ip = self.ip.clone().unwrap_or_default();
        let ip6 = self.ip6.clone().unwrap_or_default();
        if !ip.is_empty() || !ip6.is_empty() {
            ep.ipam_config = Some(EndpointIpamConfig {
                ipv4_address: ip,
                ipv6_address: ip6,
            });
        }
        let mut config = NetworkingConfig::default();
        if self.network.is_none() || ep != EndpointSettings::default() {
            config.endpoints_config.insert(target.to_owned(), ep);
        }
        Ok(config)
    }
}

const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `name=soft[:hard]`; without a hard limit it equals the soft one.
fn parse_ulimit(text: &str) -> std::result::Result<engine_api::containers::Ulimit, String> {
    let (name, limits) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {text}"))?;
    if !ULIMITS.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let number = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("invalid ulimit value: {s}"))
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((s, h)) => (number(s)?, number(h)?),
        None => (number(limits)?, number(limits)?),
    };
    if soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(engine_api::containers::Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

fn is_device_permissions(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

/// `HOST[:CONTAINER][:PERMISSIONS]`, docker's `parseDevice`.
fn parse_device(text: &str) -> std::result::Result<engine_api::containers::DeviceMapping, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (src, dst, perms) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, p] if is_device_permissions(p) => (*src, *src, *p),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, p] if is_device_permissions(p) => (*src, *dst, *p),
        _ => return Err(format!("invalid device specification: {text}")),
    };
    if src.is_empty() || !dst.starts_with('/') {
        return Err(format!("invalid device specification: {text}"));
    }
    Ok(engine_api::containers::DeviceMapping {
        path_on_host: src.to_owned(),
        path_in_container: dst.to_owned(),
        cgroup_permissions: perms.to_owned(),
    })
}

/// One `--security-opt`: `seccomp=FILE` sends the profile's JSON, compacted, as the
/// docker CLI does (the daemon never reads client files).
fn security_opt(opt: &str) -> Result<String> {
    let Some((key, value)) = opt.split_once(['=', ':']) else {
        return Ok(opt.to_owned());
    };
    if key != "seccomp" || value == "unconfined" || value == "builtin" {
        return Ok(opt.to_owned());
    }
    let text = std::fs::read(value).map_err(|e| {
        Error::InvalidArgument(format!("opening seccomp profile ({value}) failed: {e}"))
    })?;
    let json: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        Error::InvalidArgument(format!(
            "compacting json for seccomp profile ({value}) failed: {e}"
        ))
    })?;
    Ok(format!("seccomp={json}"))
}

/// docker's CLI makes a host path starting with `.` absolute (`-v ./data:/data`, `--mount
/// source=./data`); anything else (absolute paths, volume names) is sent as typed.
fn absolute_if_relative(src: &str) -> String {
    if !src.starts_with('.') {
        return src.to_owned();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return src.to_owned();
    };
    // Go's filepath.Abs: joined to the working directory, then cleaned lexically.
    let mut parts: Vec<String> = Vec::new();
    for p in cwd.to_string_lossy().split('/').chain(src.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p.to_owned()),
        }
    }
    format!("/{}", parts.join("/"))
}

/// One `--mount` value (docker's `opts.MountOpt.Set`): comma-separated `key=value`
/// fields, read as CSV; the type defaults to `volume`.
fn parse_mount(value: &str) -> std::result::Result<engine_api::containers::Mount, String> {
    use engine_api::containers::{BindOptions, Mount, TmpfsOptions, VolumeDriver, VolumeOptions};
    let mut m = Mount {
        kind: "volume".into(),
        ..Default::default()
    };
    let mut volume: Option<VolumeOptions> = None;
    let mut bind: Option<BindOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    let bool_of = |key: &str, v: &str| -> std::result::Result<bool, String> {
        match v {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(format!("invalid value for {key}: {v}")),
        }
    };
    for field in csv_fields(value)? {
        let Some((key, val)) = field.split_once('=') else {
            match field.to_ascii_lowercase().as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => volume.get_or_insert_with(Default::default).no_copy = true,
                "bind-nonrecursive" => {
                    bind.get_or_insert_with(Default::default).non_recursive = true
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "type" => m.kind = val.to_ascii_lowercase(),
            "source" | "src" => m.source = absolute_if_relative(val),
            "target" | "dst" | "destination" => m.target = val.to_owned(),
            "readonly" | "ro" => m.read_only = bool_of(&key, val)?,
            "consistency" => m.consistency = val.to_ascii_lowercase(),
            "bind-propagation" => {
                bind.get_or_insert_with(Default::default).propagation = val.to_ascii_lowercase()
            }
            "bind-nonrecursive" => {
                bind.get_or_insert_with(Default::default).non_recursive = bool_of(&key, val)?
            }
            "volume-subpath" => {
                volume.get_or_insert_with(Default::default).subpath = val.to_owned()
            }
            "volume-nocopy" => {
                volume.get_or_insert_with(Default::default).no_copy = bool_of(&key, val)
                    .map_err(|_| format!("invalid value for volume-nocopy: {val}"))?
            }
            "volume-label" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                if !k.is_empty() {
                    volume
                        .get_or_insert_with(Default::default)
                        .labels
                        .insert(k.to_owned(), v.to_owned());
                }
            }
            "volume-driver" | "volume-opt" => {
                let d = volume
                    .get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(VolumeDriver::default);
                if key == "volume-driver" {
                    d.name = val.to_owned();
                } else {
                    let (k, v) = val.split_once('=').unwrap_or((val, ""));
                    if !k.is_empty() {
                        d.options.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
            "tmpfs-size" => {
                let size = units::ram_in_bytes(val)
                    .map_err(|_| format!("invalid value for {key}: {val}"))?;
                tmpfs.get_or_insert_with(Default::default).size_bytes = Some(size);
            }
            "tmpfs-mode" => {
                let mode = u32::from_str_radix(val, 8)
                    .map_err(|_| format!("invalid value for {key}: {val}"))?;
                tmpfs.get_or_insert_with(Default::default).mode = Some(mode);
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.kind.is_empty() {
        return Err("type is required".into());
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    for (set, prefix, kind) in [
        (volume.is_some(), "volume", "volume"),
        (bind.is_some(), "bind", "bind"),
        (tmpfs.is_some(), "tmpfs", "tmpfs"),
    ] {
        if set && m.kind != kind {
            return Err(format!(
                "cannot mix '{prefix}-*' options with mount type '{}'",
                m.kind
            ));
        }
    }
    m.volume_options = volume;
    m.bind_options = bind;
    m.tmpfs_options = tmpfs;
    Ok(m)
}

/// The fields of one CSV record (Go's `encoding/csv`): commas separate, double quotes
/// group, `""` inside quotes is a quote.
fn csv_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("parse error: extraneous or missing \" in quoted-field".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// docker's `NetworkMode.IsUserDefined` on Linux: anything but the built-in modes.
fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// `--env-file` lines first, then `-e` flags; `NAME` alone takes our value of NAME.
pub(crate) fn environment(env_files: &[PathBuf], flags: &[String]) -> Result<Vec<String>> {
    let mut env = Vec::new();
    for file in env_files {
        let text = std::fs::read_to_string(file).map_err(|source| Error::File {
            context: format!("open {}", file.display()),
            source,
        })?;
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            env.push(resolve_env(line)?);
        }
    }
    for e in flags {
        env.push(resolve_env(e)?);
    }
    Ok(env)
}

fn resolve_env(item: &str) -> Result<String> {
    let (key, value) = match item.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (item, None),
    };
    if key.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "invalid environment variable: {item}"
        )));
    }
    Ok(match value {
        Some(_) => item.to_owned(),
        None => match std::env::var(key) {
            Ok(v) => format!("{key}={v}"),
            Err(_) => item.to_owned(),
        },
    })
}

pub fn restart_policy(text: &str) -> Result<RestartPolicy> {
    let (name, count) = match text.split_once(':') {
        Some((n, c)) => (
            n,
            c.parse::<i64>().map_err(|_| {
                Error::InvalidArgument(format!(
                    "invalid restart policy format: maximum retry count must be an integer: {c}"
                ))
            })?,
        ),
        None => (text, 0),
    };
    match name {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        _ => {
            return Err(Error::InvalidArgument(format!(
                "invalid restart policy format: unknown policy '{name}'"
            )));
        }
    }
    if count != 0 && name != "on-failure" {
        return Err(Error::InvalidArgument(format!(
            "invalid restart policy format: maximum retry count can only be used with 'on-failure': {text}"
        )));
    }
    Ok(RestartPolicy {
        name: name.to_owned(),
        maximum_retry_count: count,
    })
}

/// `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` (or the long `published=8080,target=80`
/// form) → one ("80/tcp", binding) per container port, with the checks and messages of
/// docker's port-spec parser (go-connections `nat.ParsePortSpec`). A container port range
/// maps onto an equally long host range; one container port with a host range leaves the
/// daemon to pick a free host port in it (`"HostPort": "8000-8010"`).
fn parse_publish(spec: &str) -> Result<Vec<(String, PortBinding)>> {
    let spec = long_publish_syntax(spec)?;
    let fail = |m: String| Err(Error::InvalidArgument(m));
    let parts: Vec<&str> = spec.split(':').collect();
    let n = parts.len();
    let (ip, host_port, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container) = split_proto_port(container);
    let ip = match ip.strip_prefix('[') {
        Some(inner) => match inner.strip_suffix(']') {
            Some(inner) => inner.to_owned(),
            None => {
                return fail(format!(
                    "invalid IP address {ip}: address {ip}:: missing ']' in address"
                ));
            }
        },
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return fail(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return fail(format!("no port specified: {spec}<empty>"));
    }
    let Ok((start, end)) = port_range(container) else {
        return fail(format!("invalid containerPort: {container}"));
    };
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        let Ok(r) = port_range(host_port) else {
            return fail(format!("invalid hostPort: {host_port}"));
        };
        (host_start, host_end) = r;
        if end - start != host_end - host_start && end != start {
            return fail(format!(
                "invalid ranges specified for container and host Ports: {container} and {host_port}"
            ));
        }
    }
    let proto_lower = proto.to_ascii_lowercase();
    if !matches!(proto_lower.as_str(), "tcp" | "udp" | "sctp") {
        return fail(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = if host_port.is_empty() {
            String::new()
        } else {
            (host_start + i).to_string()
        };
        if start == end && host_start != host_end {
            hp = format!("{hp}-{host_end}");
        }
        out.push((
            format!("{}/{proto_lower}", start + i),
            PortBinding {
                host_ip: ip.clone(),
                host_port: hp,
            },
        ));
    }
    Ok(out)
}

/// docker's `convertToStandardNotation`: `published=8080,target=80[,protocol=udp]` →
/// `8080:80/udp`; anything without `=` is already standard.
fn long_publish_syntax(spec: &str) -> Result<String> {
    if !spec.contains('=') {
        return Ok(spec.to_owned());
    }
    let mut params = std::collections::BTreeMap::from([("protocol", "tcp")]);
    for param in spec.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                )));
            }
        }
    }
    let get = |k| params.get(k).copied().unwrap_or("");
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// go-connections' `SplitProtoPort`: `80/udp` → ("udp", "80"); no protocol means tcp.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        Some(proto) => (proto, port),
    }
}

/// go-connections' `ParsePortRange`: `80` or `8000-8010`, with its error text.
fn port_range(ports: &str) -> std::result::Result<(u16, u16), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let Some((first, rest)) = ports.split_once('-') else {
        let p = super::port::go_parse_u16(ports)?;
        return Ok((p, p));
    };
    // Like Go's strings.Split, anything after a second `-` is ignored.
    let second = rest.split('-').next().unwrap_or("");
    let start = super::port::go_parse_u16(first)?;
    let end = super::port::go_parse_u16(second)?;
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

/// `--expose PORT[-END][/PROTO]` → every port of the range, as docker adds them to
/// `ExposedPorts` (the protocol is not checked there, as in docker).
fn parse_expose(spec: &str) -> Result<Vec<String>> {
    if spec.contains(':') {
        return Err(Error::InvalidArgument(format!(
            "invalid port format for --expose: {spec}"
        )));
    }
    let (proto, port) = split_proto_port(spec);
    let (start, end) = port_range(port).map_err(|e| {
        Error::InvalidArgument(format!(
            "invalid range format for --expose: {spec}, error: {e}"
        ))
    })?;
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(image: &str) -> ContainerOpts {
        ContainerOpts {
            image: image.into(),
            ..Default::default()
        }
    }

    #[test]
    fn run_flags_shape_the_request() {
        let mut o = opts("busybox");
        o.interactive = true;
        o.tty = true;
        o.rm = true;
        o.init = true;
        o.memory = Some("64m".into());
        o.cpus = Some("0.5".into());
        o.pids_limit = Some(20);
        o.env = vec!["A=1".into(), "MYCLI_TEST_SURELY_UNSET".into()];
        o.labels = vec!["a=b".into(), "flag".into()];
        o.volumes = vec!["/host:/ctr:ro".into(), "/anon".into()];
        o.entrypoint = Some(String::new());
        o.args = vec!["sh".into()];
        let r = o.to_request(true).unwrap();
        assert!(r.config.open_stdin && r.config.attach_stdin && r.config.stdin_once);
        assert_eq!(r.host_config.memory, 64 << 20);
        assert_eq!(r.host_config.nano_cpus, 500_000_000);
        assert_eq!(r.host_config.pids_limit, Some(20));
        assert_eq!(r.host_config.init, Some(true));
        assert!(r.host_config.auto_remove);
        assert_eq!(r.host_config.network_mode, "default");
        assert_eq!(r.config.env, ["A=1", "MYCLI_TEST_SURELY_UNSET"]);
        assert_eq!(r.config.labels["flag"], "");
        assert_eq!(
            r.host_config.binds.as_deref(),
            Some(&["/host:/ctr:ro".to_owned()][..])
        );
        assert!(r.config.volumes.contains_key("/anon"));
        assert_eq!(r.config.entrypoint, Some(vec![String::new()]));
        let detached = o.to_request(false).unwrap();
        assert!(!detached.config.attach_stdin && !detached.config.stdin_once);
        assert!(!detached.config.attach_stdout);
    }

    #[test]
    fn volumes_and_mounts_like_dockers_cli() {
        let mut o = opts("busybox");
        o.volumes = vec![
            "data:/data".into(),
            "./rel:/r:ro".into(),
            "../up:/u".into(),
            "/abs:/a".into(),
        ];
        o.mounts = vec![
            "type=volume,source=cache,target=/cache,readonly,volume-nocopy,volume-label=a=b"
                .into(),
            "target=/anon".into(),
            "type=bind,src=/h,dst=/h,bind-propagation=rshared".into(),
            "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1777".into(),
            "type=volume,src=v,dst=/o,volume-driver=local,volume-opt=type=tmpfs,\"volume-opt=o=size=1m,uid=5\"".into(),
        ];
        let r = o.to_request(true).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let parent = cwd.parent().unwrap();
        assert_eq!(
            r.host_config.binds.unwrap(),
            [
                "data:/data".to_owned(),
                format!("{}/rel:/r:ro", cwd.display()),
                format!("{}/up:/u", parent.display()),
                "/abs:/a".to_owned(),
            ]
        );
        let m = serde_json::to_value(&r.host_config.mounts).unwrap();
        assert_eq!(
            m,
            serde_json::json!([
                {"Type":"volume","Source":"cache","Target":"/cache","ReadOnly":true,
                 "VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"}}},
                {"Type":"volume","Source":"","Target":"/anon","ReadOnly":false},
                {"Type":"bind","Source":"/h","Target":"/h","ReadOnly":false,
                 "BindOptions":{"Propagation":"rshared"}},
                {"Type":"tmpfs","Source":"","Target":"/t","ReadOnly":false,
                 "TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}},
                {"Type":"volume","Source":"v","Target":"/o","ReadOnly":false,
                 "VolumeOptions":{"DriverConfig":{"Name":"local",
                    "Options":{"type":"tmpfs","o":"size=1m,uid=5"}}}}
            ])
        );
        for (bad, msg) in [
            ("type=volume", "target is required"),
            ("target=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
            (
                "target=/x,wat",
                "invalid field 'wat' must be a key=value pair",
            ),
            (
                "type=bind,target=/x,volume-nocopy",
                "cannot mix 'volume-*' options with mount type 'bind'",
            ),
            ("target=/x,ro=maybe", "invalid value for ro: maybe"),
        ] {
            let mut o = opts("busybox");
            o.mounts = vec![bad.into()];
            let e = o.to_request(true).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("invalid argument \"{bad}\" for \"--mount\" flag: {msg}")
            );
        }
    }

    #[test]
    fn bad_flags_are_refused() {
        let mut o = opts("busybox");
        o.memory = Some("lots".into());
        assert!(o.to_request(true).is_err());
        let mut o = opts("busybox");
        o.rm = true;
        o.restart = Some("always".into());
        assert_eq!(
            o.to_request(true).unwrap_err().to_string(),
            "Conflicting options: --restart and --rm"
        );
    }

    /// (port, host ip, host port) triples, for compact expectations.
    fn publish(spec: &str) -> Vec<(String, String, String)> {
        parse_publish(spec)
            .unwrap()
            .into_iter()
            .map(|(p, b)| (p, b.host_ip, b.host_port))
            .collect()
    }

    fn t(p: &str, ip: &str, hp: &str) -> (String, String, String) {
        (p.into(), ip.into(), hp.into())
    }

    #[test]
    fn published_ports() {
        // Each expectation is what docker 28 sent for the same -p.
        assert_eq!(
            publish("127.0.0.1:8080:80/udp"),
            [t("80/udp", "127.0.0.1", "8080")]
        );
        assert_eq!(publish("8080:80/udp"), [t("80/udp", "", "8080")]);
        assert_eq!(publish("127.0.0.1::80"), [t("80/tcp", "127.0.0.1", "")]);
        assert_eq!(publish("80"), [t("80/tcp", "", "")]);
        assert_eq!(publish(":80"), [t("80/tcp", "", "")]);
        assert_eq!(publish("0"), [t("0/tcp", "", "")]);
        assert_eq!(publish("80/UDP"), [t("80/udp", "", "")]);
        assert_eq!(
            publish("8000-8001:80-81"),
            [t("80/tcp", "", "8000"), t("81/tcp", "", "8001")]
        );
        assert_eq!(publish("8000-8010:80"), [t("80/tcp", "", "8000-8010")]);
        assert_eq!(publish("80-81"), [t("80/tcp", "", ""), t("81/tcp", "", "")]);
        assert_eq!(publish("[::1]:8080:80"), [t("80/tcp", "::1", "8080")]);
        assert_eq!(publish("::1:8080:80"), [t("80/tcp", "::1", "8080")]);
        assert_eq!(
            publish("published=8080,target=80"),
            [t("80/tcp", "", "8080")]
        );
        assert_eq!(publish("target=53,protocol=udp"), [t("53/udp", "", "")]);
    }

    #[test]
    fn bad_publish_specs_fail_like_docker() {
        let e = |s: &str| parse_publish(s).unwrap_err().to_string();
        assert_eq!(e("x:80"), "invalid hostPort: x");
        assert_eq!(e("1.2.3.4:80"), "invalid hostPort: 1.2.3.4");
        assert_eq!(e("80/icmp"), "invalid proto: icmp");
        assert_eq!(
            e("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
        assert_eq!(e("70000"), "invalid containerPort: 70000");
        assert_eq!(e("foo"), "invalid containerPort: foo");
        assert_eq!(e("80-"), "invalid containerPort: 80-");
        assert_eq!(e("81-80"), "invalid containerPort: 81-80");
        assert_eq!(e(""), "no port specified: <empty>");
        assert_eq!(e("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(
            e("published=8080,nope"),
            "invalid publish opts format (should be name=value but got 'nope')"
        );
    }

    #[test]
    fn exposed_ports() {
        assert_eq!(parse_expose("90").unwrap(), ["90/tcp"]);
        assert_eq!(
            parse_expose("7000-7001/udp").unwrap(),
            ["7000/udp", "7001/udp"]
        );
        // docker does not check the protocol of --expose.
        assert_eq!(parse_expose("80/foo").unwrap(), ["80/foo"]);
        let e = |s: &str| parse_expose(s).unwrap_err().to_string();
        assert_eq!(e("80:90"), "invalid port format for --expose: 80:90");
        assert_eq!(
            e("x"),
            r#"invalid range format for --expose: x, error: strconv.ParseUint: parsing "x": invalid syntax"#
        );
        assert_eq!(
            e(""),
            "invalid range format for --expose: , error: empty string specified for ports"
        );
        assert_eq!(
            e("90-80"),
            "invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80"
        );
    }

    /// Parses `run` flags the way the command line does.
    fn run_opts(args: &[&str]) -> ContainerOpts {
        use clap::Parser;
        let mut argv = vec!["mycli", "run"];
        argv.extend_from_slice(args);
        argv.push("busybox");
        let argv =
            crate::commands::separate_command_args(argv.into_iter().map(String::from).collect());
        match crate::commands::Cli::try_parse_from(argv).unwrap().command {
            Some(crate::commands::Command::Run(r)) => r.opts,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn network_flags_shape_the_request_like_docker() {
        let o = run_opts(&[
            "-p",
            "127.0.0.1:8080:80",
            "-P",
            "--expose",
            "90",
            "--network",
            "web",
            "--ip",
            "10.1.0.5",
            "--network-alias",
            "w",
        ]);
        let v = serde_json::to_value(o.to_request(false).unwrap()).unwrap();
        assert_eq!(
            v["ExposedPorts"],
            serde_json::json!({"80/tcp": {}, "90/tcp": {}})
        );
        let h = &v["HostConfig"];
        assert_eq!(
            h["PortBindings"],
            serde_json::json!({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]})
        );
        assert_eq!(h["PublishAllPorts"], true);
        assert_eq!(h["NetworkMode"], "web");
        // docker 28 sent exactly these fields (plus "GwPriority":0, which we lack).
        assert_eq!(
            v["NetworkingConfig"],
            serde_json::json!({"EndpointsConfig": {"web": {
                "IPAMConfig": {"IPv4Address": "10.1.0.5"}, "Links": null, "Aliases": ["w"],
                "MacAddress": "", "DriverOpts": null, "NetworkID": "", "EndpointID": "",
                "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null}}})
        );
    }

    #[test]
    fn endpoints_config_entries_follow_docker() {
        let endpoints = |args: &[&str]| {
            let r = run_opts(args).to_request(false).unwrap();
            serde_json::to_value(r.networking_config.endpoints_config).unwrap()
        };
        // No --network: always an empty entry for "default".
        let v = endpoints(&[]);
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["default"]
        );
        assert_eq!(v["default"]["IPAMConfig"], serde_json::Value::Null);
        // A network and nothing for it: no entry, as docker 28 sends.
        assert_eq!(endpoints(&["--network", "web2"]), serde_json::json!({}));
        // --ip goes to whatever network it is, the daemon judges it.
        assert_eq!(
            endpoints(&["--ip", "10.1.1.6"])["default"]["IPAMConfig"],
            serde_json::json!({"IPv4Address": "10.1.1.6"})
        );
        assert_eq!(
            endpoints(&["--net", "none", "--ip", "1.2.3.4", "--ip6", "fd00::4"])["none"]["IPAMConfig"],
            serde_json::json!({"IPv4Address": "1.2.3.4", "IPv6Address": "fd00::4"})
        );
        assert_eq!(
            endpoints(&[
                "--network",
                "web",
                "--net-alias",
                "a",
                "--network-alias",
                "b"
            ])["web"]["Aliases"],
            serde_json::json!(["a", "b"])
        );
        for network in [None, Some("bridge"), Some("host"), Some("container:c1")] {
            let mut args = vec!["--network-alias", "w"];
            if let Some(n) = network {
                args.extend(["--network", n]);
            }
            assert_eq!(
                run_opts(&args).to_request(false).unwrap_err().to_string(),
                "network-scoped aliases are only supported for user-defined networks"
            );
        }
    }

    #[test]
    fn ranges_and_expose_merge_into_exposed_ports() {
        let o = run_opts(&[
            "-p",
            "8080:80/udp",
            "-p",
            "127.0.0.1::80",
            "-p",
            "80",
            "-p",
            "8000-8001:80-81",
            "--expose",
            "7000-7001/udp",
        ]);
        let v = serde_json::to_value(o.to_request(false).unwrap()).unwrap();
        // docker 28 sent these for the same flags.
        assert_eq!(
            v["ExposedPorts"],
            serde_json::json!({"7000/udp": {}, "7001/udp": {}, "80/tcp": {}, "80/udp": {},
                "81/tcp": {}})
        );
        assert_eq!(
            v["HostConfig"]["PortBindings"],
            serde_json::json!({
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}, {"HostIp": "", "HostPort": ""},
                           {"HostIp": "", "HostPort": "8000"}],
                "80/udp": [{"HostIp": "", "HostPort": "8080"}],
                "81/tcp": [{"HostIp": "", "HostPort": "8001"}]})
        );
        assert_eq!(v["HostConfig"]["PublishAllPorts"], false);
    }
}
