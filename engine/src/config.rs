//! The daemon's flags (dockerd's names), checked and turned into a [`Config`] once.

use std::path::{Path, PathBuf};

use clap::Parser;

/// The containerd namespace every object of ours lives in.
pub const NAMESPACE: &str = "myengine";

#[derive(Debug, Parser)]
#[command(
    name = "myengined",
    version,
    about = "A Docker Engine API daemon on containerd"
)]
pub struct Flags {
    /// Daemon socket(s) to listen on (unix:///path); may be given several times.
    #[arg(short = 'H', long = "host", value_name = "ADDRESS")]
    pub hosts: Vec<String>,
    /// containerd's gRPC socket.
    #[arg(long, default_value = "/run/containerd/containerd.sock")]
    pub containerd: PathBuf,
    /// Persistent state: the container store, container dirs, logs.
    #[arg(long, default_value = "/var/lib/myengine")]
    pub data_root: PathBuf,
    /// Runtime state: FIFOs of stdin and execs.
    #[arg(long, default_value = "/run/myengine")]
    pub exec_root: PathBuf,
    /// Group owning the API socket(s) (name or gid).
    #[arg(short = 'G', long, default_value = "docker")]
    pub group: String,
    /// The init binary bind-mounted for `--init` (default: myinit beside this binary, else on PATH).
    #[arg(long)]
    pub init_path: Option<PathBuf>,
    /// debug, info, warn, error (overridden by RUST_LOG).
    #[arg(short = 'l', long, default_value = "info")]
    pub log_level: String,
    /// containerd namespace to use.
    #[arg(long, default_value = NAMESPACE, hide = true)]
    pub namespace: String,
}

/// What the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// UNIX socket paths to serve on.
    pub hosts: Vec<PathBuf>,
    pub containerd: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    /// The sockets' group; None when the group does not exist (dockerd warns and keeps root).
    pub group: Option<u32>,
    pub init_path: PathBuf,
    pub namespace: String,
    /// This program, started by the shim as the json-file logging program.
    pub engine_exe: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid host {0:?}: only unix:///path is supported")]
    Host(String),
    #[error("{what} must be an absolute path, got {path:?}")]
    Relative { what: &'static str, path: PathBuf },
}

impl Config {
    pub fn from_flags(flags: &Flags) -> Result<Config, ConfigError> {
        let hosts = if flags.hosts.is_empty() {
            vec![PathBuf::from("/var/run/docker.sock")]
        } else {
            flags
                .hosts
                .iter()
                .map(|h| parse_host(h))
                .collect::<Result<_, _>>()?
        };
        for (what, path) in [
            ("--data-root", &flags.data_root),
            ("--exec-root", &flags.exec_root),
        ] {
            if !path.is_absolute() {
                return Err(ConfigError::Relative {
                    what,
                    path: path.clone(),
                });
            }
        }
        let engine_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("myengined"));
        let init_path = flags
            .init_path
            .clone()
            .unwrap_or_else(|| default_init_path(&engine_exe));
        Ok(Config {
            hosts,
            containerd: flags.containerd.clone(),
            data_root: flags.data_root.clone(),
            exec_root: flags.exec_root.clone(),
            group: lookup_group(&flags.group),
            init_path,
            namespace: flags.namespace.clone(),
            engine_exe,
        })
    }
}

/// `unix:///path` or a bare absolute path.
pub fn parse_host(host: &str) -> Result<PathBuf, ConfigError> {
    let path = host.strip_prefix("unix://").unwrap_or(host);
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(ConfigError::Host(host.to_owned()))
    }
}

/// myinit beside our own binary (how the workspace installs them), else on PATH.
fn default_init_path(exe: &Path) -> PathBuf {
    if let Some(dir) = exe.parent() {
        let beside = dir.join("myinit");
        if beside.exists() {
            return beside;
        }
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("myinit");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("/usr/local/bin/myinit")
}

/// A group name or number, from /etc/group.
fn lookup_group(group: &str) -> Option<u32> {
    if let Ok(gid) = group.parse() {
        return Some(gid);
    }
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == group).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse() {
        assert_eq!(
            parse_host("unix:///tmp/d.sock").unwrap(),
            PathBuf::from("/tmp/d.sock")
        );
        assert!(parse_host("tcp://0.0.0.0:2375").is_err());
        let flags = Flags::parse_from(["myengined", "-H", "unix:///a", "-H", "/b"]);
        let c = Config::from_flags(&flags).unwrap();
        assert_eq!(c.hosts, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(c.namespace, NAMESPACE);
        let c = Config::from_flags(&Flags::parse_from(["myengined"])).unwrap();
        assert_eq!(c.hosts, [PathBuf::from("/var/run/docker.sock")]);
        assert_eq!(lookup_group("0"), Some(0));
        assert_eq!(lookup_group("root"), Some(0));
        assert_eq!(lookup_group("no-such-group-here"), None);
    }
}
