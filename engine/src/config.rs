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
    /// The default bridge's link name (ours, so it never meets Docker's docker0).
    #[arg(short = 'b', long = "bridge", default_value = DEFAULT_BRIDGE)]
    pub bridge: String,
    /// The default bridge's address and subnet (CIDR).
    #[arg(long, default_value = DEFAULT_BIP)]
    pub bip: String,
    /// MTU of bridges and container interfaces.
    #[arg(long, default_value_t = 1500)]
    pub mtu: u32,
    /// Manage our own iptables chains (forwarding, masquerade, published ports).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub iptables: bool,
    /// The published-port proxy (default: myproxy beside this binary, else on PATH).
    #[arg(long)]
    pub userland_proxy_path: Option<PathBuf>,
    /// Where user-defined networks get their subnets: `base=CIDR,size=PREFIXLEN`.
    #[arg(long, default_value = DEFAULT_ADDRESS_POOL)]
    pub default_address_pool: String,
    /// Prefix of our iptables chains; distinct prefixes let several engines share a host.
    #[arg(long, default_value = DEFAULT_CHAIN_PREFIX, hide = true)]
    pub chain_prefix: String,
}

/// The default bridge's link name.
pub const DEFAULT_BRIDGE: &str = "mybr0";
/// The default bridge network: away from Docker's 172.17.0.0/16.
pub const DEFAULT_BIP: &str = "10.210.0.1/16";
pub const DEFAULT_CHAIN_PREFIX: &str = "MYENGINE";
/// User-defined networks: /24s of a block away from Docker's pools.
pub const DEFAULT_ADDRESS_POOL: &str = "base=10.211.0.0/16,size=24";

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
    pub network: NetworkConfig,
}

/// The networking part of the configuration.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    pub bridge: String,
    /// The bridge's own address (the containers' gateway) and its prefix length.
    pub bip: std::net::Ipv4Addr,
    pub bip_prefix_len: u8,
    pub mtu: u32,
    pub iptables: bool,
    pub proxy_path: PathBuf,
    pub chain_prefix: String,
    /// The block user-defined networks come from, and their prefix length.
    pub pool_base: String,
    pub pool_size: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid host {0:?}: only unix:///path is supported")]
    Host(String),
    #[error("{what} must be an absolute path, got {path:?}")]
    Relative { what: &'static str, path: PathBuf },
    #[error("invalid {flag} {value:?}: {why}")]
    Network {
        flag: &'static str,
        value: String,
        why: String,
    },
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
            .unwrap_or_else(|| helper_path(&engine_exe, "myinit"));
        let network = network_config(flags, &engine_exe)?;
        Ok(Config {
            hosts,
            containerd: flags.containerd.clone(),
            data_root: flags.data_root.clone(),
            exec_root: flags.exec_root.clone(),
            group: lookup_group(&flags.group),
            init_path,
            namespace: flags.namespace.clone(),
            engine_exe,
            network,
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

fn network_config(flags: &Flags, engine_exe: &Path) -> Result<NetworkConfig, ConfigError> {
    let bad = |flag: &'static str, value: &str, why: &str| ConfigError::Network {
        flag,
        value: value.to_owned(),
        why: why.to_owned(),
    };
    let name = &flags.bridge;
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', ':']) {
        return Err(bad("--bridge", name, "a link name of 1 to 15 characters"));
    }
    let (ip, prefix) = flags
        .bip
        .split_once('/')
        .ok_or_else(|| bad("--bip", &flags.bip, "want ADDRESS/PREFIX"))?;
    let bip: std::net::Ipv4Addr = ip
        .parse()
        .map_err(|_| bad("--bip", &flags.bip, "not an IPv4 address"))?;
    let bip_prefix_len: u8 = prefix
        .parse()
        .ok()
        .filter(|p| (8..=30).contains(p))
        .ok_or_else(|| bad("--bip", &flags.bip, "the prefix must be 8 to 30"))?;
    if !(68..=65535).contains(&flags.mtu) {
        return Err(bad("--mtu", &flags.mtu.to_string(), "must be 68 to 65535"));
    }
    let prefix_ok = !flags.chain_prefix.is_empty()
        && flags.chain_prefix.len() <= 16
        && flags
            .chain_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !prefix_ok {
        return Err(bad(
            "--chain-prefix",
            &flags.chain_prefix,
            "1 to 16 letters, digits, - or _",
        ));
    }
    let mut base = None;
    let mut size = None;
    for part in flags.default_address_pool.split(',') {
        match part.split_once('=') {
            Some(("base", v)) => base = Some(v.to_owned()),
            Some(("size", v)) => size = v.parse::<u8>().ok(),
            _ => {}
        }
    }
    let pool_bad = |why: &str| bad("--default-address-pool", &flags.default_address_pool, why);
    let pool_base = base.ok_or_else(|| pool_bad("want base=CIDR,size=N"))?;
    let pool_size = size.ok_or_else(|| pool_bad("want base=CIDR,size=N"))?;
    let base_len: u8 = pool_base
        .split_once('/')
        .and_then(|(ip, len)| ip.parse::<std::net::Ipv4Addr>().ok().and(len.parse().ok()))
        .ok_or_else(|| pool_bad("the base must be an IPv4 CIDR"))?;
    if pool_size < base_len || pool_size > 30 {
        return Err(pool_bad("the size must be between the base's prefix length and 30"));
    }
    Ok(NetworkConfig {
        pool_base,
        pool_size,
        bridge: name.clone(),
        bip,
        bip_prefix_len,
        mtu: flags.mtu,
        iptables: flags.iptables,
        proxy_path: flags
            .userland_proxy_path
            .clone()
            .unwrap_or_else(|| helper_path(engine_exe, "myproxy")),
        chain_prefix: flags.chain_prefix.clone(),
    })
}

/// A helper program beside our own binary (how the workspace installs them), else on PATH.
fn helper_path(exe: &Path, program: &str) -> PathBuf {
    if let Some(dir) = exe.parent() {
        let beside = dir.join(program);
        if beside.exists() {
            return beside;
        }
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(program);
        if p.exists() {
            return p;
        }
    }
    Path::new("/usr/local/bin").join(program)
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
        assert_eq!(c.network.bridge, DEFAULT_BRIDGE);
        assert_eq!(c.network.bip.to_string(), "10.210.0.1");
        for bad in [
            vec!["--bip", "10.0.0.1"],
            vec!["--bip", "10.0.0.1/31"],
            vec!["--bridge", "a-name-far-too-long"],
            vec!["--mtu", "10"],
            vec!["--chain-prefix", "A B"],
            vec!["--default-address-pool", "base=10.0.0.0/16"],
            vec!["--default-address-pool", "base=10.0.0.0/16,size=8"],
        ] {
            let flags = Flags::parse_from(std::iter::once("myengined").chain(bad.clone()));
            assert!(Config::from_flags(&flags).is_err(), "{bad:?}");
        }
    }
}
