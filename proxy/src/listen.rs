//! The listening sockets: bound here from -host-ip/-host-port, or inherited ready-made
//! on fd 4 (and fd 5 with -dual-stack) with -use-listen-fd.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, bind, getsockname, getsockopt,
    listen, setsockopt, socket, sockopt,
};

use crate::config::{Proto, ProxyConfig};
use crate::error::{Error, Result};
use crate::log::warning;

/// The first inherited listener, as in docker-proxy; the second (dual-stack) follows.
const FIRST_LISTEN_FD: i32 = 4;

pub(crate) struct Listener {
    pub(crate) fd: OwnedFd,
    pub(crate) addr: SocketAddr,
}

/// Opens (or adopts) every listener the configuration asks for.
///
/// With -use-listen-fd this must run before the process opens anything else, for
/// the same reason as [`crate::StatusPipe::claim`].
pub(crate) fn open(config: &ProxyConfig) -> Result<Vec<Listener>> {
    let count = if config.dual_stack { 2 } else { 1 };
    if config.use_listen_fd {
        return (0..count)
            .map(|i| adopt(FIRST_LISTEN_FD + i, config.proto))
            .collect();
    }

    let primary = SocketAddr::new(config.host_ip, config.host_port);
    let mut listeners = vec![bind_listener(config.proto, primary)?];
    if config.dual_stack {
        // The other family's wildcard on the same port (the kernel's choice of port
        // when -host-port is 0, so that both families agree).
        let port = listeners[0].addr.port();
        let other = match config.host_ip {
            IpAddr::V4(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        match bind_listener(config.proto, SocketAddr::new(other, port)) {
            Ok(listener) => listeners.push(listener),
            // A host without IPv6 still serves IPv4 (and the reverse).
            Err(Error::Listen {
                errno: Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL,
                ref addr,
                ..
            }) => warning!("not listening on {addr}: address family not available"),
            Err(err) => return Err(err),
        }
    }
    Ok(listeners)
}

fn bind_listener(proto: Proto, addr: SocketAddr) -> Result<Listener> {
    let fail = |call: &'static str| {
        move |errno: Errno| Error::Listen {
            proto,
            addr,
            call,
            errno,
        }
    };
    let (family, kind) = socket_kind(proto, addr);
    let fd = socket(
        family,
        kind,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(fail("socket"))?;
    if proto == Proto::Tcp {
        // As Go does for every listener: restart without waiting out TIME_WAIT.
        setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(fail("setsockopt"))?;
    }
    if addr.is_ipv6() {
        // docker-proxy semantics: "::" means IPv6 only; dual stack is a separate socket.
        setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(fail("setsockopt"))?;
    }
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr)).map_err(fail("bind"))?;
    if proto == Proto::Tcp {
        // -1: the kernel's maximum (net.core.somaxconn), as Go asks for.
        listen(&fd, Backlog::MAXALLOWABLE).map_err(fail("listen"))?;
    } else {
        enable_packet_info(&fd, addr).map_err(fail("setsockopt"))?;
    }
    let addr = local_addr(&fd).unwrap_or(addr);
    Ok(Listener { fd, addr })
}

/// Takes over an inherited listener and checks it fits the protocol.
fn adopt(raw: i32, proto: Proto) -> Result<Listener> {
    let bad = |reason: String| Error::ListenFd { fd: raw, reason };
    // SAFETY: F_GETFD on a number that may or may not be an open descriptor.
    if unsafe { libc::fcntl(raw, libc::F_GETFD) } == -1 {
        return Err(bad("not an open file descriptor".into()));
    }
    // SAFETY: the descriptor is open and handed to us by the parent for this use.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let kind = getsockopt(&fd, sockopt::SockType).map_err(|e| bad(e.desc().into()))?;
    let wanted = match proto {
        Proto::Tcp => SockType::Stream,
        Proto::Udp => SockType::Datagram,
    };
    if kind != wanted {
        return Err(bad(format!("not a {proto} socket")));
    }
    let addr = local_addr(&fd).ok_or_else(|| bad("not an IP socket".into()))?;
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| bad(e.desc().into()))?;
    fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(|e| bad(e.desc().into()))?;
    match proto {
        Proto::Tcp => {
            // A parent may pass a socket it only bound; listening is then our job.
            if !getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false) {
                listen(&fd, Backlog::MAXALLOWABLE).map_err(|e| bad(e.desc().into()))?;
            }
        }
        Proto::Udp => enable_packet_info(&fd, addr).map_err(|e| bad(e.desc().into()))?,
    }
    Ok(Listener { fd, addr })
}

/// Asks for each datagram's destination address, so that replies can leave from the
/// address the client sent to (a wildcard listener would otherwise let the kernel
/// pick a source the client does not expect).
fn enable_packet_info(fd: &impl AsFd, addr: SocketAddr) -> nix::Result<()> {
    if addr.is_ipv4() {
        setsockopt(fd, sockopt::Ipv4PacketInfo, &true)
    } else {
        setsockopt(fd, sockopt::Ipv6RecvPacketInfo, &true)
    }
}

pub(crate) fn socket_kind(proto: Proto, addr: SocketAddr) -> (AddressFamily, SockType) {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let kind = match proto {
        Proto::Tcp => SockType::Stream,
        Proto::Udp => SockType::Datagram,
    };
    (family, kind)
}

fn local_addr(fd: &impl AsRawFd) -> Option<SocketAddr> {
    let storage: SockaddrStorage = getsockname(fd.as_raw_fd()).ok()?;
    to_socket_addr(&storage)
}

pub(crate) fn to_socket_addr(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    storage
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}
