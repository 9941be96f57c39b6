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
    /// The daemon.json to read (default /etc/myengine/daemon.json, when it exists): the
    /// flags' settings under their long names; SIGHUP reloads log-level and log-opts.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Daemon socket(s) to listen on (unix:///path or tcp://HOST:PORT); may be given
    /// several times.
    #[arg(short = 'H', long = "host", value_name = "ADDRESS")]
    pub hosts: Vec<String>,
    /// Serve tcp:// hosts over TLS (implied by --tlsverify).
    #[arg(long)]
    pub tls: bool,
    /// Serve tcp:// hosts over TLS and require a client certificate signed by --tlscacert.
    #[arg(long)]
    pub tlsverify: bool,
    /// CA certificate(s) client certificates must chain to (default: $DOCKER_CERT_PATH/ca.pem,
    /// else ~/.docker/ca.pem).
    #[arg(long, value_name = "PATH")]
    pub tlscacert: Option<PathBuf>,
    /// The server's certificate chain (default: $DOCKER_CERT_PATH/cert.pem, else ~/.docker/cert.pem).
    #[arg(long, value_name = "PATH")]
    pub tlscert: Option<PathBuf>,
    /// The server's private key (default: $DOCKER_CERT_PATH/key.pem, else ~/.docker/key.pem).
    #[arg(long, value_name = "PATH")]
    pub tlskey: Option<PathBuf>,
    /// Allow tcp:// hosts without TLS: anyone who can connect is root on this host.
    #[arg(long)]
    pub insecure_tcp: bool,
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
    /// Default json-file log options, `max-size=10m` or `max-file=3` (the defaults); may be
    /// given several times. A container's own `--log-opt`s win.
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opts: Vec<String>,
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
    /// TCP addresses (`HOST:PORT`) to serve on.
    pub tcp_hosts: Vec<String>,
    /// `fd://` hosts: sockets handed over by the service manager (systemd's socket
    /// activation); None is every one of them, `Some(n)` only descriptor `n`.
    pub fd_hosts: Vec<Option<i32>>,
    /// How the TCP addresses are secured; None only with --insecure-tcp or without any.
    pub tls: Option<TlsConfig>,
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
    /// The daemon's `--log-opt`s: defaults merged under each container's LogConfig.Config;
    /// shared so that SIGHUP can replace them.
    pub log_opts: SharedLogOpts,
}

pub type SharedLogOpts =
    std::sync::Arc<std::sync::RwLock<std::collections::BTreeMap<String, String>>>;

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

/// The files of `--tls`/`--tlsverify`, resolved against their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Require a client certificate that chains to `ca` (`--tlsverify`).
    pub verify: bool,
    /// The CA bundle; only read with `verify`.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid host {0:?}: want unix:///path, tcp://HOST:PORT or fd://[N]")]
    Host(String),
    #[error(
        "refusing to listen on tcp://{0} without TLS: anyone who can connect would be root on this host; \
         use --tlsverify with --tlscacert, --tlscert and --tlskey (or pass --insecure-tcp to accept that risk)"
    )]
    PlainTcp(String),
    #[error("{flag} was not given and the default {} does not exist", path.display())]
    TlsFile { flag: &'static str, path: PathBuf },
    #[error("{what} must be an absolute path, got {path:?}")]
    Relative { what: &'static str, path: PathBuf },
    #[error("invalid --log-opt {value:?}: {why}")]
    LogOpt { value: String, why: String },
    #[error("invalid {flag} {value:?}: {why}")]
    Network {
        flag: &'static str,
        value: String,
        why: String,
    },
}

impl Config {
    pub fn from_flags(flags: &Flags) -> Result<Config, ConfigError> {
        let mut hosts = Vec::new();
        let mut tcp_hosts = Vec::new();
        let mut fd_hosts = Vec::new();
        let tls_on = flags.tls || flags.tlsverify;
        for h in &flags.hosts {
            if let Some(fd) = h.strip_prefix("fd://") {
                fd_hosts.push(match fd {
                    "" => None,
                    n => Some(
                        n.parse::<i32>()
                            .ok()
                            .filter(|n| *n >= 3)
                            .ok_or_else(|| ConfigError::Host(h.clone()))?,
                    ),
                });
            } else if h.starts_with("tcp://") {
                tcp_hosts.push(parse_tcp_host(h, tls_on)?);
            } else {
                hosts.push(parse_host(h)?);
            }
        }
        if flags.hosts.is_empty() {
            hosts.push(PathBuf::from("/var/run/docker.sock"));
        }
        // Passed sockets may be TCP ones: they get TLS as tcp:// hosts do.
        let tls = if (tcp_hosts.is_empty() && fd_hosts.is_empty()) || !tls_on {
            None
        } else {
            Some(tls_config(flags, &default_cert_dir())?)
        };
        if let (None, Some(first)) = (&tls, tcp_hosts.first())
            && !flags.insecure_tcp
        {
            return Err(ConfigError::PlainTcp(first.clone()));
        }
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
        let log_opts = std::sync::Arc::new(std::sync::RwLock::new(log_opts(&flags.log_opts)?));
        Ok(Config {
            hosts,
            tcp_hosts,
            fd_hosts,
            tls,
            containerd: flags.containerd.clone(),
            data_root: flags.data_root.clone(),
            exec_root: flags.exec_root.clone(),
            group: lookup_group(&flags.group),
            init_path,
            namespace: flags.namespace.clone(),
            engine_exe,
            network,
            log_opts,
        })
    }
}

/// `--log-opt KEY=VALUE`s, checked as a container's would be.
pub fn log_opts(
    opts: &[String],
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let mut map = std::collections::BTreeMap::new();
    for opt in opts {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(ConfigError::LogOpt {
                value: opt.clone(),
                why: "want KEY=VALUE".into(),
            });
        };
        map.insert(k.to_owned(), v.to_owned());
    }
    crate::logger::LogOptions::from_config("", &map).map_err(|e| ConfigError::LogOpt {
        value: opts.join(" "),
        why: e.0,
    })?;
    Ok(map)
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

/// `tcp://HOST:PORT` → `HOST:PORT`. As with dockerd, an empty host means every
/// interface and a missing port is 2376 with TLS, 2375 without.
pub fn parse_tcp_host(host: &str, tls: bool) -> Result<String, ConfigError> {
    let bad = || ConfigError::Host(host.to_owned());
    let rest = host.strip_prefix("tcp://").ok_or_else(bad)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) {
        return Err(bad());
    }
    let default_port = if tls { "2376" } else { "2375" };
    // `[v6]:port`, `[v6]`, `name:port`, `name`, `:port`.
    let (name, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => default_port,
            p => p.strip_prefix(':').ok_or_else(bad)?,
        };
        (format!("[{addr}]"), port)
    } else {
        match rest.rsplit_once(':') {
            Some((n, _)) if n.contains(':') => return Err(bad()),
            Some((n, p)) => (n.to_owned(), p),
            None => (rest.to_owned(), default_port),
        }
    };
    let port = if port.is_empty() { default_port } else { port };
    port.parse::<u16>().map_err(|_| bad())?;
    let name = if name.is_empty() {
        "0.0.0.0".to_owned()
    } else {
        name
    };
    Ok(format!("{name}:{port}"))
}

/// Where `--tlscacert`, `--tlscert` and `--tlskey` default to: `$DOCKER_CERT_PATH`, else
/// `~/.docker`, as with dockerd.
fn default_cert_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CERT_PATH").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".docker")
}

/// The TLS files: each flag, else its default file when that exists.
fn tls_config(flags: &Flags, dir: &Path) -> Result<TlsConfig, ConfigError> {
    let pick = |flag: &'static str, given: &Option<PathBuf>, name: &str| match given {
        Some(p) => Ok(p.clone()),
        None => {
            let path = dir.join(name);
            if path.exists() {
                Ok(path)
            } else {
                Err(ConfigError::TlsFile { flag, path })
            }
        }
    };
    let ca = if flags.tlsverify {
        pick("--tlscacert", &flags.tlscacert, "ca.pem")?
    } else {
        flags.tlscacert.clone().unwrap_or_default()
    };
    Ok(TlsConfig {
        verify: flags.tlsverify,
        ca,
        cert: pick("--tlscert", &flags.tlscert, "cert.pem")?,
        key: pick("--tlskey", &flags.tlskey, "key.pem")?,
    })
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
        return Err(pool_bad(
            "the size must be between the base's prefix length and 30",
        ));
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
        assert!(parse_host("http://x").is_err());
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

    #[test]
    fn tcp_hosts_parse() {
        let ok = |h, tls| parse_tcp_host(h, tls).unwrap();
        assert_eq!(ok("tcp://127.0.0.1:2376", true), "127.0.0.1:2376");
        assert_eq!(ok("tcp://localhost:1234/", false), "localhost:1234");
        assert_eq!(ok("tcp://:2376", true), "0.0.0.0:2376");
        assert_eq!(ok("tcp://10.0.0.1", true), "10.0.0.1:2376");
        assert_eq!(ok("tcp://10.0.0.1", false), "10.0.0.1:2375");
        assert_eq!(ok("tcp://[::1]:99", true), "[::1]:99");
        assert_eq!(ok("tcp://[::1]", true), "[::1]:2376");
        for bad in [
            "tcp://h:notaport",
            "tcp://h:70000",
            "tcp://::1:2",
            "tcp://h:1/path",
            "tcp://[::1",
            "udp://h:1",
        ] {
            assert!(parse_tcp_host(bad, true).is_err(), "{bad}");
        }
    }

    fn from(args: &[&str]) -> Result<Config, ConfigError> {
        Config::from_flags(&Flags::parse_from(
            std::iter::once("myengined").chain(args.iter().copied()),
        ))
    }

    #[test]
    fn plain_tcp_is_refused_unless_insisted_on() {
        let e = from(&["-H", "tcp://127.0.0.1:2375"]).unwrap_err();
        assert!(matches!(e, ConfigError::PlainTcp(_)), "{e}");
        assert!(e.to_string().contains("--insecure-tcp"), "{e}");
        let c = from(&["-H", "tcp://127.0.0.1:2375", "--insecure-tcp"]).unwrap();
        assert_eq!(c.tcp_hosts, ["127.0.0.1:2375"]);
        assert!(c.tls.is_none());
        // Only tcp given: no UNIX socket is added, as with dockerd.
        assert!(c.hosts.is_empty());
        // Mixed hosts keep their kinds.
        let c = from(&["-H", "unix:///a.sock", "-H", "tcp://:1", "--insecure-tcp"]).unwrap();
        assert_eq!(c.hosts, [PathBuf::from("/a.sock")]);
        assert_eq!(c.tcp_hosts, ["0.0.0.0:1"]);
    }

    #[test]
    fn tls_files_come_from_flags_or_the_cert_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let flags = |args: &[&str]| {
            Flags::parse_from(std::iter::once("myengined").chain(args.iter().copied()))
        };
        // Nothing there: the first missing default is named.
        let e = tls_config(&flags(&["--tlsverify"]), d).unwrap_err();
        assert!(e.to_string().contains("--tlscacert"), "{e}");
        assert!(e.to_string().contains("ca.pem"), "{e}");
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        let t = tls_config(&flags(&["--tlsverify"]), d).unwrap();
        assert_eq!(
            t,
            TlsConfig {
                verify: true,
                ca: d.join("ca.pem"),
                cert: d.join("cert.pem"),
                key: d.join("key.pem"),
            }
        );
        // Flags win over the defaults.
        let t = tls_config(&flags(&["--tls", "--tlscert", "/c", "--tlskey", "/k"]), d).unwrap();
        assert!(!t.verify);
        assert_eq!((t.cert, t.key), (PathBuf::from("/c"), PathBuf::from("/k")));
        // TLS on a UNIX socket alone is nothing to load.
        let c = from(&["-H", "unix:///a.sock", "--tlsverify"]).unwrap();
        assert!(c.tls.is_none());
    }

    #[test]
    fn log_opts_are_daemon_defaults_checked_like_a_containers() {
        let c = Config::from_flags(&Flags::parse_from([
            "myengined",
            "--log-opt",
            "max-size=1m",
            "--log-opt",
            "max-file=5",
        ]))
        .unwrap();
        let opts = c.log_opts.read().unwrap();
        assert_eq!(opts.get("max-size").map(String::as_str), Some("1m"));
        assert_eq!(opts.get("max-file").map(String::as_str), Some("5"));
        for bad in ["max-size", "max-size=10x", "max-file=0", "color=red"] {
            let flags = Flags::parse_from(["myengined", "--log-opt", bad]);
            assert!(
                matches!(Config::from_flags(&flags), Err(ConfigError::LogOpt { .. })),
                "{bad}"
            );
        }
    }
}
