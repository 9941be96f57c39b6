//! Published ports: what a container asks for (`PortBindings`, `PublishAllPorts`), the
//! host sockets the engine binds for them (so a conflict fails `start` with a clear
//! message and an ephemeral port is known before anything runs), and one `myproxy` per
//! port that inherits those sockets (`-use-listen-fd`, fd 4 and with `-dual-stack` fd 5)
//! and reports readiness on fd 3.
//!
//! The proxy serves what DNAT cannot: connections to a loopback address and from a
//! container to its own published port (hairpin). It runs in its own session and with no
//! parent-death signal, so an engine restart leaves it serving; the engine finds it again
//! by PID and checks `/proc/PID/cmdline` before it ever signals it.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use engine_api::containers::{EmptyObject, PortBinding};
use serde::{Deserialize, Serialize};

use super::nat::Proto;

/// Where ephemeral host ports come from (Linux's default local port range, as Docker).
const EPHEMERAL: (u16, u16) = (32768, 60999);

/// One container port to publish, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub proto: Proto,
    pub container_port: u16,
    /// None: every address (both families).
    pub host_ip: Option<IpAddr>,
    /// None: an ephemeral port; a range: the first free one in it.
    pub host_ports: Option<(u16, u16)>,
}

/// A published port as set up: kept in the container's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Published {
    /// `tcp` or `udp`.
    pub proto: String,
    /// Empty: every address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// Whether an IPv6 wildcard listener was bound too.
    pub ipv6: bool,
    pub proxy_pid: u32,
}

impl Published {
    pub fn proto(&self) -> Proto {
        if self.proto == "udp" {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }

    /// The key of `NetworkSettings.Ports`: `80/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.proto)
    }

    /// `NetworkSettings.Ports` entries: with every address, both families as Docker shows them.
    pub fn bindings(&self) -> Vec<PortBinding> {
        let port = self.host_port.to_string();
        if !self.host_ip.is_empty() {
            return vec![PortBinding {
                host_ip: self.host_ip.clone(),
                host_port: port,
            }];
        }
        let mut out = vec![PortBinding {
            host_ip: "0.0.0.0".into(),
            host_port: port.clone(),
        }];
        if self.ipv6 {
            out.push(PortBinding {
                host_ip: "::".into(),
                host_port: port,
            });
        }
        out
    }
}

/// `80`, `80/tcp`, `53/udp` → (port, proto).
pub fn parse_port_key(key: &str) -> Result<(u16, Proto), String> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => return Err(format!("invalid proto: {other}")),
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("invalid port: {key}"))?;
    Ok((port, proto))
}

/// The ports a container publishes: its `PortBindings`, plus with `PublishAllPorts` every
/// exposed port not bound explicitly (on an ephemeral host port).
pub fn requests(
    bindings: &BTreeMap<String, Option<Vec<PortBinding>>>,
    publish_all: bool,
    exposed: &BTreeMap<String, EmptyObject>,
) -> Result<Vec<PortRequest>, String> {
    let mut out = Vec::new();
    for (key, list) in bindings {
        let (container_port, proto) = parse_port_key(key)?;
        let list = list.clone().unwrap_or_default();
        let list = if list.is_empty() {
            vec![PortBinding::default()]
        } else {
            list
        };
        for b in list {
            let host_ip = match b.host_ip.trim_matches(['[', ']']) {
                "" => None,
                ip => Some(
                    ip.parse::<IpAddr>()
                        .map_err(|_| format!("invalid host IP address: {}", b.host_ip))?,
                ),
            };
            let host_ip = host_ip.filter(|ip| !ip.is_unspecified() || ip.is_ipv6());
            if let Some(IpAddr::V6(ip)) = host_ip
                && !ip.is_unspecified()
            {
                return Err(format!(
                    "publishing on an IPv6 address ({ip}) is not supported yet"
                ));
            }
            // `[::]` alone means every address too (our proxy listens on both families).
            let host_ip = host_ip.filter(|ip| !ip.is_unspecified());
            let host_ports = match b.host_port.as_str() {
                "" | "0" => None,
                text => Some(parse_range(text)?),
            };
            out.push(PortRequest {
                proto,
                container_port,
                host_ip,
                host_ports,
            });
        }
    }
    if publish_all {
        for key in exposed.keys() {
            if bindings.contains_key(key) {
                continue;
            }
            let (container_port, proto) = parse_port_key(key)?;
            out.push(PortRequest {
                proto,
                container_port,
                host_ip: None,
                host_ports: None,
            });
        }
    }
    Ok(out)
}

fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("invalid host port: {text}");
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

/// The listening sockets of one published port.
pub struct Bound {
    pub host_port: u16,
    pub sockets: Vec<OwnedFd>,
    pub ipv6: bool,
}

/// Binds the host side of `req` (TCP: listening; UDP: bound). A port in use gives
/// Docker's message.
pub fn bind(req: &PortRequest) -> Result<Bound, String> {
    let (first, last) = req.host_ports.unwrap_or(EPHEMERAL);
    let ephemeral = req.host_ports.is_none();
    let span = u32::from(last - first) + 1;
    // Ephemeral ports start at a random point of the range, so two engines (or a restart)
    // do not race for the same first port.
    let offset = if ephemeral {
        (random_u32() % span) as u16
    } else {
        0
    };
    let mut last_err = String::new();
    for i in 0..span {
        let port = first + ((u32::from(offset) + i) % span) as u16;
        match bind_port(req, port) {
            Ok(b) => return Ok(b),
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                last_err = format!(
                    "Bind for {}:{port} failed: port is already allocated",
                    req.host_ip
                        .map_or("0.0.0.0".to_owned(), |ip| ip.to_string())
                );
            }
            Err(e) => {
                return Err(format!(
                    "binding {}:{port}/{}: {e}",
                    req.host_ip
                        .map_or("0.0.0.0".to_owned(), |ip| ip.to_string()),
                    req.proto
                ));
            }
        }
    }
    Err(last_err)
}

fn bind_port(req: &PortRequest, port: u16) -> std::io::Result<Bound> {
    match req.host_ip {
        Some(ip) => Ok(Bound {
            host_port: port,
            sockets: vec![socket_on(req.proto, SocketAddr::new(ip, port))?],
            ipv6: false,
        }),
        None => {
            let v4 = socket_on(
                req.proto,
                SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
            )?;
            let mut sockets = vec![v4];
            let mut ipv6 = false;
            match socket_on(
                req.proto,
                SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
            ) {
                Ok(v6) => {
                    sockets.push(v6);
                    ipv6 = true;
                }
                // A host without IPv6 still publishes on IPv4.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL)
                    ) => {}
                Err(e) => return Err(e),
            }
            Ok(Bound {
                host_port: port,
                sockets,
                ipv6,
            })
        }
    }
}

fn socket_on(proto: Proto, addr: SocketAddr) -> std::io::Result<OwnedFd> {
    match proto {
        Proto::Tcp => {
            let l = match addr {
                SocketAddr::V6(_) => {
                    // Only IPv6: the IPv4 wildcard is a socket of its own.
                    let s = socket2_v6(libc::SOCK_STREAM)?;
                    bind_listen_v6(s, addr, true)?
                }
                SocketAddr::V4(_) => OwnedFd::from(std::net::TcpListener::bind(addr)?),
            };
            Ok(l)
        }
        Proto::Udp => match addr {
            SocketAddr::V6(_) => {
                let s = socket2_v6(libc::SOCK_DGRAM)?;
                bind_listen_v6(s, addr, false)
            }
            SocketAddr::V4(_) => Ok(OwnedFd::from(std::net::UdpSocket::bind(addr)?)),
        },
    }
}

fn socket2_v6(kind: libc::c_int) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_INET6, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

fn bind_listen_v6(fd: OwnedFd, addr: SocketAddr, listen: bool) -> std::io::Result<OwnedFd> {
    let raw = fd.as_raw_fd();
    let one: libc::c_int = 1;
    let setopt = |level, name| {
        // SAFETY: an int option on our own socket.
        let r = unsafe {
            libc::setsockopt(
                raw,
                level,
                name,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    setopt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    if listen {
        setopt(libc::SOL_SOCKET, libc::SO_REUSEADDR)?;
    }
    let SocketAddr::V6(v6) = addr else {
        return Err(std::io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
    };
    let sa = libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: v6.port().to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: v6.ip().octets(),
        },
        sin6_scope_id: 0,
    };
    // SAFETY: a valid sockaddr_in6 of the size given.
    let r = unsafe {
        libc::bind(
            raw,
            (&sa as *const libc::sockaddr_in6).cast(),
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: listen(2) on our bound socket.
    if listen && unsafe { libc::listen(raw, 128) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: filling our own 4-byte buffer.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
    u32::from_ne_bytes(b)
}

/// The proxy's command line for one port.
fn proxy_args(p: &Published, container_ip: Ipv4Addr) -> Vec<String> {
    let mut args = vec![
        "-proto".into(),
        p.proto.clone(),
        "-host-ip".into(),
        if p.host_ip.is_empty() {
            "0.0.0.0".into()
        } else {
            p.host_ip.clone()
        },
        "-host-port".into(),
        p.host_port.to_string(),
        "-container-ip".into(),
        container_ip.to_string(),
        "-container-port".into(),
        p.container_port.to_string(),
        "-use-listen-fd".into(),
    ];
    if p.ipv6 {
        args.push("-dual-stack".into());
    }
    args
}

/// Starts `proxy` for `p` with the bound sockets, waits for its fd-3 report and returns
/// the child. The child is in a session of its own and outlives the engine.
pub fn spawn_proxy(
    proxy: &Path,
    p: &Published,
    container_ip: Ipv4Addr,
    sockets: Vec<OwnedFd>,
) -> Result<tokio::process::Child, String> {
    use std::os::unix::process::CommandExt;

    let (mut status_read, status_write) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let status_fd: OwnedFd = status_write.into();
    let mut fds: Vec<i32> = vec![status_fd.as_raw_fd()];
    fds.extend(sockets.iter().map(AsRawFd::as_raw_fd));
    let mut cmd = std::process::Command::new(proxy);
    cmd.args(proxy_args(p, container_ip))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls (setsid, dup, dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            // Move every source above the targets first, so a dup2 never clobbers a
            // source that sits on a target number (3, 4 or 5).
            let mut high = Vec::with_capacity(fds.len());
            for &fd in &fds {
                let h = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                if h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                high.push(h);
            }
            for (i, &h) in high.iter().enumerate() {
                // dup2 clears close-on-exec on the copy.
                if libc::dup2(h, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(false);
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", proxy.display()))?;
    drop(status_fd);
    drop(sockets);
    // The proxy writes `0\n` once it forwards, or `1\n<error>`, then closes fd 3.
    let mut report = String::new();
    let _ = status_read.read_to_string(&mut report);
    match report.split_once('\n') {
        Some(("0", _)) => Ok(child),
        _ => {
            let mut child = child;
            let _ = child.start_kill();
            let why = report
                .split_once('\n')
                .map_or(report.as_str(), |(_, e)| e)
                .trim();
            Err(format!(
                "starting the proxy for {}/{}: {}",
                p.host_port,
                p.proto,
                if why.is_empty() { "it exited" } else { why }
            ))
        }
    }
}

/// Whether `pid` is still the proxy of `p` (not a recycled PID).
pub fn is_proxy_of(pid: u32, p: &Published) -> bool {
    if pid == 0 {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let port = p.host_port.to_string();
    let has = |flag: &str, value: &str| {
        args.windows(2)
            .any(|w| w[0] == flag.as_bytes() && w[1] == value.as_bytes())
    };
    has("-host-port", &port)
        && has("-proto", &p.proto)
        && has("-container-port", &p.container_port.to_string())
}

/// Stops a proxy that is not (or no longer) our child: SIGKILL once it is known to be
/// ours, then waits briefly for its sockets to close.
pub async fn kill_adopted(pid: u32, p: &Published) {
    if !is_proxy_of(pid, p) {
        return;
    }
    // SAFETY: signalling a PID just checked to be our proxy.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    for _ in 0..50 {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie whose sockets are already closed.
        if state.is_empty()
            || state
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    #[test]
    fn requests_from_bindings_and_publish_all() {
        let mut b = BTreeMap::new();
        b.insert(
            "80/tcp".to_owned(),
            Some(vec![binding("127.0.0.1", "8080")]),
        );
        b.insert("53/udp".to_owned(), Some(vec![binding("", "")]));
        b.insert("90".to_owned(), None);
        b.insert(
            "91/tcp".to_owned(),
            Some(vec![binding("0.0.0.0", "9000-9010")]),
        );
        let mut exposed = BTreeMap::new();
        exposed.insert("80/tcp".to_owned(), EmptyObject {});
        exposed.insert("443/tcp".to_owned(), EmptyObject {});
        let r = requests(&b, true, &exposed).unwrap();
        assert_eq!(r.len(), 5);
        let find = |port| r.iter().find(|x| x.container_port == port).unwrap();
        assert_eq!(find(80).host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(find(80).host_ports, Some((8080, 8080)));
        assert_eq!(find(53).proto, Proto::Udp);
        assert_eq!(find(53).host_ports, None);
        assert_eq!(find(90).host_ports, None);
        assert_eq!(find(91).host_ip, None);
        assert_eq!(find(91).host_ports, Some((9000, 9010)));
        assert_eq!(find(443).host_ports, None);
        assert!(
            requests(&b, false, &exposed)
                .unwrap()
                .iter()
                .all(|x| x.container_port != 443)
        );
    }

    #[test]
    fn bad_requests_say_what() {
        for (key, b) in [
            ("x/tcp", binding("", "")),
            ("80/sctp", binding("", "")),
            ("80/tcp", binding("nope", "")),
            ("80/tcp", binding("", "70000")),
            ("80/tcp", binding("", "9-1")),
            ("80/tcp", binding("::1", "80")),
        ] {
            let mut m = BTreeMap::new();
            m.insert(key.to_owned(), Some(vec![b]));
            assert!(requests(&m, false, &BTreeMap::new()).is_err(), "{key}");
        }
    }

    #[test]
    fn binding_a_taken_port_fails_like_docker_and_ephemeral_ports_work() {
        let req = PortRequest {
            proto: Proto::Tcp,
            container_port: 80,
            host_ip: Some("127.0.0.1".parse().unwrap()),
            host_ports: None,
        };
        let b = bind(&req).unwrap();
        assert!((EPHEMERAL.0..=EPHEMERAL.1).contains(&b.host_port));
        let again = PortRequest {
            host_ports: Some((b.host_port, b.host_port)),
            ..req.clone()
        };
        let e = bind(&again).err().unwrap();
        assert_eq!(
            e,
            format!(
                "Bind for 127.0.0.1:{}: failed: port is already allocated",
                b.host_port
            )
            .replace(": failed", " failed")
        );
        let udp = PortRequest {
            proto: Proto::Udp,
            host_ip: None,
            ..req
        };
        let u = bind(&udp).unwrap();
        assert!(!u.sockets.is_empty());
    }

    #[test]
    fn published_shows_both_families() {
        let p = Published {
            proto: "tcp".into(),
            host_port: 8080,
            container_port: 80,
            ipv6: true,
            ..Default::default()
        };
        assert_eq!(p.key(), "80/tcp");
        let b = p.bindings();
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].host_ip, "::");
        let args = proxy_args(&p, "10.0.0.2".parse().unwrap());
        assert!(args.contains(&"-dual-stack".to_owned()));
        assert!(!is_proxy_of(std::process::id(), &p));
    }
}
