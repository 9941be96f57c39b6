//! The flags `run` and `create` share, and how they become the body of
//! `POST /containers/create` (docker's `parse()` in cli/command/container/opts.go).

use std::path::PathBuf;

use clap::Args;
use engine_api::containers::{
    Config, CreateRequest, EmptyObject, HostConfig, PortBinding, RestartPolicy,
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
    /// Publish a container's port(s) to the host ([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
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
                _ => binds.push(v.clone()),
            }
        }
        if !binds.is_empty() {
            host.binds = Some(binds);
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
        for spec in &self.publish {
            let (port, binding) = parse_publish(spec)?;
            config.exposed_ports.insert(port.clone(), EmptyObject {});
            host.port_bindings
                .entry(port)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
        if self.tty
            && let Some((rows, cols)) = crate::tty::size(crate::tty::STDOUT)
        {
            host.console_size = [u64::from(rows), u64::from(cols)];
        }
        Ok(CreateRequest {
            config,
            host_config: host,
            networking_config: Default::default(),
        })
    }
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

fn restart_policy(text: &str) -> Result<RestartPolicy> {
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

/// `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` → ("80/tcp", binding).
fn parse_publish(spec: &str) -> Result<(String, PortBinding)> {
    let invalid = || Error::InvalidArgument(format!("invalid port format for -p: {spec}"));
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p),
        None => (spec, "tcp"),
    };
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(invalid());
    }
    // An IPv6 address comes bracketed: [::1]:8080:80.
    let (ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, r) = r.split_once("]:").ok_or_else(invalid)?;
        (ip.to_owned(), r.to_owned())
    } else {
        (String::new(), rest.to_owned())
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host_port, ctr) = match parts.as_slice() {
        [c] => (ip, "", *c),
        [h, c] if ip.is_empty() => (String::new(), *h, *c),
        [h, c] => (ip, *h, *c),
        [i, h, c] if ip.is_empty() => ((*i).to_owned(), *h, *c),
        _ => return Err(invalid()),
    };
    let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0);
    if ctr.contains('-') || host_port.contains('-') {
        return Err(Error::NotImplemented(format!("port ranges in -p {spec}")));
    }
    if !port_ok(ctr) || (!host_port.is_empty() && !port_ok(host_port)) {
        return Err(invalid());
    }
    Ok((
        format!("{ctr}/{proto}"),
        PortBinding {
            host_ip: ip,
            host_port: host_port.to_owned(),
        },
    ))
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

    #[test]
    fn published_ports() {
        let (p, b) = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p, "80/udp");
        assert_eq!(
            (b.host_ip.as_str(), b.host_port.as_str()),
            ("127.0.0.1", "8080")
        );
        let (p, b) = parse_publish("80").unwrap();
        assert_eq!((p.as_str(), b.host_port.as_str()), ("80/tcp", ""));
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("80/icmp").is_err());
    }
}
