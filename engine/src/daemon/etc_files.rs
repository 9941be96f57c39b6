//! A container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`, written into its
//! state directory and bind-mounted over the image's files (see `spec::build`), with
//! Docker's contents (moby `libnetwork` `etchosts` and `resolvconf`).

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Docker's fallback nameservers when the host has only local ones (unreachable from a
/// container's own network namespace).
pub const DEFAULT_NAMESERVERS: &[&str] = &["8.8.8.8", "8.8.4.4"];

/// The standard entries of every container's /etc/hosts.
const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n\
    ::1\tlocalhost ip6-localhost ip6-loopback\n\
    fe00::0\tip6-localnet\n\
    ff00::0\tip6-mcastprefix\n\
    ff02::1\tip6-allnodes\n\
    ff02::2\tip6-allrouters\n";

/// What else goes into the files, from the create request and the network.
#[derive(Debug, Clone, Default)]
pub struct Extra<'a> {
    /// The container's address on its network: adds `IP\thostname` to /etc/hosts.
    pub container_ip: Option<IpAddr>,
    /// `HostConfig.ExtraHosts`: `name:ip` (or `name=ip`).
    pub extra_hosts: &'a [String],
    /// `HostConfig.Dns`: replaces the nameservers.
    pub dns: &'a [String],
    /// `HostConfig.DnsSearch`: replaces the search domains (`.` alone: none).
    pub dns_search: &'a [String],
    /// `HostConfig.DnsOptions`: replaces the options.
    pub dns_options: &'a [String],
    /// Containers on the same user-defined networks: `IP\tnames` lines, so they are
    /// found by name (Docker's embedded DNS answers these; a hosts file kept current
    /// needs no resolver in the container's path).
    pub peers: &'a [(IpAddr, String)],
}

/// Where the host's own files are (a parameter so tests need not touch the real ones).
#[derive(Debug, Clone)]
pub struct HostFiles {
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    /// systemd-resolved's upstream list, used when /etc/resolv.conf names only its stub.
    pub resolved_upstream: PathBuf,
}

impl Default for HostFiles {
    fn default() -> Self {
        HostFiles {
            hosts: "/etc/hosts".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            resolved_upstream: "/run/systemd/resolve/resolv.conf".into(),
        }
    }
}

/// Writes `hostname`, `hosts` and `resolv.conf` into `etc_dir` (created if missing),
/// each atomically.
pub fn write(etc_dir: &Path, hostname: &str, network_mode: &str, extra: &Extra) -> io::Result<()> {
    write_with(
        etc_dir,
        hostname,
        network_mode,
        extra,
        &HostFiles::default(),
    )
}

/// [`write`] with the host's files taken from `host`.
pub fn write_with(
    etc_dir: &Path,
    hostname: &str,
    network_mode: &str,
    extra: &Extra,
    host: &HostFiles,
) -> io::Result<()> {
    std::fs::create_dir_all(etc_dir)?;
    let host_mode = network_mode == "host";
    write_atomic(
        &etc_dir.join("hostname"),
        format!("{hostname}\n").as_bytes(),
    )?;
    let hosts = hosts_file(hostname, host_mode, extra, host)?;
    write_atomic(&etc_dir.join("hosts"), hosts.as_bytes())?;
    let resolv = resolv_conf(host_mode, extra, host)?;
    write_atomic(&etc_dir.join("resolv.conf"), resolv.as_bytes())?;
    Ok(())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// /etc/hosts: the host's own with the host's network (the container shares its names);
/// otherwise the standard entries, the container's address, and the extra hosts.
fn hosts_file(
    hostname: &str,
    host_mode: bool,
    extra: &Extra,
    host: &HostFiles,
) -> io::Result<String> {
    let mut out = if host_mode {
        match std::fs::read_to_string(&host.hosts) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => DEFAULT_HOSTS.to_owned(),
            Err(e) => return Err(e),
        }
    } else {
        DEFAULT_HOSTS.to_owned()
    };
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for entry in extra.extra_hosts {
        let (name, ip) = entry
            .split_once('=')
            .or_else(|| entry.split_once(':'))
            .ok_or_else(|| invalid(format!("invalid extra host {entry:?}: want name:ip")))?;
        if ip == "host-gateway" {
            return Err(invalid(format!(
                "extra host {entry:?}: host-gateway is not supported yet"
            )));
        }
        // IPv6 addresses may come bracketed: `name:[::1]`.
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| invalid(format!("invalid IP address in extra host {entry:?}")))?;
        if name.is_empty() {
            return Err(invalid(format!("invalid extra host {entry:?}: empty name")));
        }
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if !host_mode && let Some(ip) = extra.container_ip {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    for (ip, names) in extra.peers {
        out.push_str(&format!("{ip}\t{names}\n"));
    }
    Ok(out)
}

fn is_local_nameserver(ns: &str) -> bool {
    match ns.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

fn is_ipv6(ns: &str) -> bool {
    // Zone suffixes (`fe80::1%eth0`) do not parse as addresses; a colon still says IPv6.
    ns.contains(':')
}

/// /etc/resolv.conf: the host's. Outside the host's network, nameservers on loopback
/// (and IPv6 ones: container networks here are IPv4-only) cannot be reached, so they
/// are dropped and Google's public servers used if none remain, as Docker does; `Dns`,
/// `DnsSearch` and `DnsOptions` replace their lines.
fn resolv_conf(host_mode: bool, extra: &Extra, host: &HostFiles) -> io::Result<String> {
    let read = |p: &Path| match std::fs::read_to_string(p) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    };
    let mut content = read(&host.resolv_conf)?;
    let nameservers = |c: &str| -> Vec<String> {
        c.lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                (f.next() == Some("nameserver")).then(|| f.next().unwrap_or("").to_owned())
            })
            .collect()
    };
    // systemd-resolved's stub listens on the host's loopback only: use its upstreams.
    if !host_mode && nameservers(&content) == ["127.0.0.53"] {
        let upstream = read(&host.resolved_upstream)?;
        if !upstream.is_empty() {
            content = upstream;
        }
    }
    let overridden =
        !extra.dns.is_empty() || !extra.dns_search.is_empty() || !extra.dns_options.is_empty();
    if host_mode && !overridden {
        return Ok(content);
    }
    let mut kept = Vec::new();
    let mut servers = 0;
    for line in content.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => {
                if !extra.dns.is_empty() {
                    continue;
                }
                let ns = f.next().unwrap_or("");
                if !host_mode && (is_local_nameserver(ns) || is_ipv6(ns)) {
                    continue;
                }
                servers += 1;
            }
            Some("search" | "domain") if !extra.dns_search.is_empty() => continue,
            Some("options") if !extra.dns_options.is_empty() => continue,
            _ => {}
        }
        kept.push(line.to_owned());
    }
    let mut out = String::new();
    if !extra.dns.is_empty() {
        for ns in extra.dns {
            ns.parse::<IpAddr>()
                .map_err(|_| invalid(format!("invalid DNS server address {ns:?}")))?;
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    for line in &kept {
        out.push_str(line);
        out.push('\n');
    }
    if extra.dns.is_empty() && servers == 0 {
        for ns in DEFAULT_NAMESERVERS {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    let search: Vec<&str> = extra
        .dns_search
        .iter()
        .map(String::as_str)
        .filter(|s| *s != ".")
        .collect();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !extra.dns_options.is_empty() {
        out.push_str(&format!("options {}\n", extra.dns_options.join(" ")));
    }
    Ok(out)
}

/// Rewrites only `hosts`, in place: a running container sees its bind-mounted file
/// change (a rename would leave it the old inode).
pub fn rewrite_hosts(
    etc_dir: &Path,
    hostname: &str,
    network_mode: &str,
    extra: &Extra,
) -> io::Result<()> {
    let hosts = hosts_file(
        hostname,
        network_mode == "host",
        extra,
        &HostFiles::default(),
    )?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(etc_dir.join("hosts"))?;
    f.write_all(hosts.as_bytes())
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// reader (or a running container's bind mount source) never sees a half-written file.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        dir: tempfile::TempDir,
        host: HostFiles,
    }

    fn fixture(hosts: &str, resolv: &str, upstream: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let host = HostFiles {
            hosts: dir.path().join("host-hosts"),
            resolv_conf: dir.path().join("host-resolv"),
            resolved_upstream: dir.path().join("upstream"),
        };
        std::fs::write(&host.hosts, hosts).unwrap();
        std::fs::write(&host.resolv_conf, resolv).unwrap();
        if let Some(u) = upstream {
            std::fs::write(&host.resolved_upstream, u).unwrap();
        }
        Fixture { dir, host }
    }

    fn written(f: &Fixture, mode: &str, extra: &Extra) -> (String, String, String) {
        let etc = f.dir.path().join("etc");
        write_with(&etc, "abc123", mode, extra, &f.host).unwrap();
        let r = |n: &str| std::fs::read_to_string(etc.join(n)).unwrap();
        (r("hostname"), r("hosts"), r("resolv.conf"))
    }

    #[test]
    fn private_network_gets_standard_hosts_and_filtered_resolv_conf() {
        let f = fixture(
            "127.0.0.1 localhost myhost\n",
            "# comment\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\nsearch corp\noptions ndots:2\n",
            None,
        );
        let (hostname, hosts, resolv) = written(&f, "none", &Extra::default());
        assert_eq!(hostname, "abc123\n");
        assert_eq!(hosts, DEFAULT_HOSTS);
        assert!(!hosts.contains("abc123"));
        assert_eq!(
            resolv,
            "# comment\nnameserver 10.0.0.2\nsearch corp\noptions ndots:2\n"
        );
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(f.dir.path().join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn only_local_nameservers_fall_back_to_public_ones() {
        let f = fixture("", "nameserver 127.0.0.11\nnameserver fe80::1%eth0\n", None);
        let (_, _, resolv) = written(&f, "bridge", &Extra::default());
        assert_eq!(resolv, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        // A missing host file is no error either.
        std::fs::remove_file(&f.host.resolv_conf).unwrap();
        let (_, _, resolv) = written(&f, "bridge", &Extra::default());
        assert_eq!(resolv, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }

    #[test]
    fn systemd_resolved_stub_is_replaced_by_its_upstreams() {
        let f = fixture(
            "",
            "nameserver 127.0.0.53\noptions edns0\n",
            Some("nameserver 192.0.2.1\n"),
        );
        let (_, _, resolv) = written(&f, "bridge", &Extra::default());
        assert_eq!(resolv, "nameserver 192.0.2.1\n");
        // The host's network reaches the stub: the file is copied as it is.
        let (_, _, resolv) = written(&f, "host", &Extra::default());
        assert_eq!(resolv, "nameserver 127.0.0.53\noptions edns0\n");
    }

    #[test]
    fn host_network_copies_the_hosts_files() {
        let f = fixture(
            "127.0.0.1 localhost\n10.1.1.1 db",
            "nameserver 127.0.0.1\n",
            None,
        );
        let extra = Extra {
            container_ip: Some("10.9.9.9".parse().unwrap()),
            ..Default::default()
        };
        let (_, hosts, resolv) = written(&f, "host", &extra);
        assert_eq!(hosts, "127.0.0.1 localhost\n10.1.1.1 db\n");
        assert_eq!(resolv, "nameserver 127.0.0.1\n");
    }

    #[test]
    fn container_ip_extra_hosts_and_dns_overrides() {
        let f = fixture(
            "",
            "nameserver 10.0.0.2\nsearch corp\noptions ndots:2\n",
            None,
        );
        let extra_hosts = vec!["db:10.0.0.5".to_string(), "v6=[2001:db8::1]".to_string()];
        let dns = vec!["1.1.1.1".to_string()];
        let search = vec!["a.example".to_string(), "b.example".to_string()];
        let extra = Extra {
            container_ip: Some("172.30.0.2".parse().unwrap()),
            extra_hosts: &extra_hosts,
            dns: &dns,
            dns_search: &search,
            dns_options: &[],
            peers: &[("10.0.0.9".parse().unwrap(), "web w".into())],
        };
        let (_, hosts, resolv) = written(&f, "bridge", &extra);
        assert_eq!(
            hosts,
            format!(
                "{DEFAULT_HOSTS}10.0.0.5\tdb\n2001:db8::1\tv6\n172.30.0.2\tabc123\n10.0.0.9\tweb w\n"
            )
        );
        assert_eq!(
            resolv,
            "nameserver 1.1.1.1\noptions ndots:2\nsearch a.example b.example\n"
        );

        let dot = vec![".".to_string()];
        let opts = vec!["ndots:5".to_string()];
        let extra = Extra {
            dns_search: &dot,
            dns_options: &opts,
            ..Default::default()
        };
        let (_, _, resolv) = written(&f, "bridge", &extra);
        assert_eq!(resolv, "nameserver 10.0.0.2\noptions ndots:5\n");
    }

    #[test]
    fn bad_extra_input_is_an_error() {
        let f = fixture("", "", None);
        let etc = f.dir.path().join("etc");
        for bad in ["nocolon", "db:notanip", ":1.2.3.4", "gw:host-gateway"] {
            let hosts = vec![bad.to_string()];
            let extra = Extra {
                extra_hosts: &hosts,
                ..Default::default()
            };
            let e = write_with(&etc, "h", "bridge", &extra, &f.host).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}: {e}");
        }
        let dns = vec!["dns.example".to_string()];
        let extra = Extra {
            dns: &dns,
            ..Default::default()
        };
        assert!(write_with(&etc, "h", "bridge", &extra, &f.host).is_err());
    }
}
