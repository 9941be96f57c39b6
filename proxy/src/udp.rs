//! UDP forwarding: one flow per client (a socket connected to the container), replies
//! sent back from the very address the client sent to, flows forgotten after an idle
//! timeout.

use std::collections::HashMap;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    MsgFlags, SockFlag, SockaddrLike, SockaddrStorage, connect, recv, send, socket,
};

use crate::config::Proto;
use crate::listen::{Listener, socket_kind, to_socket_addr};
use crate::log::warning;
use crate::poller::{Interest, Poller, Token};
use crate::slab::{Key, Slab};

/// Largest UDP payload over IPv6 without jumbograms (IPv4's is smaller).
const MAX_DATAGRAM: usize = 65_527;
/// Datagrams handled per wake-up of one socket before serving other events.
const BATCH: usize = 64;
/// Expired flows are looked for at most this often, which bounds how late a flow
/// may outlive its timeout and how much time sweeps take.
const SWEEP_GRANULARITY: Duration = Duration::from_secs(1);

pub(crate) struct UdpForwarder {
    listeners: Vec<Listener>,
    backend: SocketAddr,
    idle_timeout: Duration,
    flows: Slab<Flow>,
    /// Flows by listener, client and the address the client sent to: a client
    /// talking to two of the host's addresses gets replies from each.
    by_client: HashMap<(u32, SocketAddr, LocalAddr), Key>,
    next_sweep: Option<Instant>,
    /// One buffer for every datagram, allocated on first use.
    buffer: Vec<u8>,
}

struct Flow {
    /// Connected to the backend; the kernel gives it a port of its own, which is
    /// how the backend's replies find their way back to this client.
    socket: OwnedFd,
    listener: u32,
    client: SocketAddr,
    /// The address the client sent to: replies leave from it.
    local: LocalAddr,
    last_active: Instant,
}

impl UdpForwarder {
    pub(crate) fn new(
        listeners: Vec<Listener>,
        backend: SocketAddr,
        idle_timeout: Duration,
        poller: &Poller,
    ) -> crate::Result<Self> {
        for (index, listener) in listeners.iter().enumerate() {
            poller
                .add(
                    &listener.fd,
                    Token::Listener(index as u32),
                    Interest::Readable,
                )
                .map_err(|e| crate::Error::sys("epoll_ctl", e))?;
        }
        Ok(UdpForwarder {
            listeners,
            backend,
            idle_timeout,
            flows: Slab::new(),
            by_client: HashMap::new(),
            next_sweep: None,
            buffer: Vec::new(),
        })
    }

    /// When `sweep` should next run.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next_sweep
    }

    pub(crate) fn on_listener(&mut self, poller: &Poller, index: u32) {
        if self.buffer.is_empty() {
            self.buffer = vec![0; MAX_DATAGRAM];
        }
        let now = Instant::now();
        for _ in 0..BATCH {
            let Some(listener) = self.listeners.get(index as usize) else {
                return;
            };
            let (len, client, local) = match receive(&listener.fd, &mut self.buffer) {
                Ok(datagram) => datagram,
                Err(Errno::EAGAIN) => return,
                Err(Errno::EINTR) => continue,
                Err(err) => {
                    warning!("udp/{}: recvmsg: {}", listener.addr, err.desc());
                    return;
                }
            };
            let key = match self.by_client.get(&(index, client, local)) {
                Some(&key) => key,
                None => match self.open_flow(poller, index, client, local, now) {
                    Ok(key) => key,
                    Err(err) => {
                        warning!(
                            "Can't proxy a datagram to udp/{}: {}",
                            self.backend,
                            err.desc()
                        );
                        continue;
                    }
                },
            };
            let Some(flow) = self.flows.get_mut(key) else {
                continue;
            };
            flow.last_active = now;
            if let Err(err) = send_retrying_refusal(&flow.socket, &self.buffer[..len]) {
                // Full socket buffer: dropped, as the network may drop it anyway.
                if err != Errno::EAGAIN {
                    warning!(
                        "Can't proxy a datagram to udp/{}: {}",
                        self.backend,
                        err.desc()
                    );
                }
            }
        }
    }

    fn open_flow(
        &mut self,
        poller: &Poller,
        listener: u32,
        client: SocketAddr,
        local: LocalAddr,
        now: Instant,
    ) -> nix::Result<Key> {
        let (family, kind) = socket_kind(Proto::Udp, self.backend);
        let socket = socket(
            family,
            kind,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        connect(socket.as_raw_fd(), &SockaddrStorage::from(self.backend))?;
        let key = self.flows.insert_with(|_| Flow {
            socket,
            listener,
            client,
            local,
            last_active: now,
        });
        let flow = self.flows.get_mut(key).expect("just inserted");
        if let Err(err) = poller.add(&flow.socket, Token::UdpFlow(key), Interest::Readable) {
            self.flows.remove(key);
            return Err(err);
        }
        self.by_client.insert((listener, client, local), key);
        if self.next_sweep.is_none() {
            self.next_sweep = Some(now + self.idle_timeout);
        }
        Ok(key)
    }

    /// Replies from the backend: each goes to the flow's client.
    pub(crate) fn on_flow(&mut self, key: Key) {
        if self.buffer.is_empty() {
            self.buffer = vec![0; MAX_DATAGRAM];
        }
        let now = Instant::now();
        let Some(flow) = self.flows.get_mut(key) else {
            return;
        };
        let mut broken = false;
        for _ in 0..BATCH {
            let len = match recv(
                flow.socket.as_raw_fd(),
                &mut self.buffer,
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(len) => len,
                Err(Errno::EAGAIN) => break,
                // An ICMP "port unreachable" for an earlier datagram: nothing is
                // listening in the container yet. Keep the flow, as docker-proxy does.
                Err(Errno::ECONNREFUSED | Errno::EINTR) => continue,
                Err(err) => {
                    warning!("udp flow for {}: {}", flow.client, err.desc());
                    broken = true;
                    break;
                }
            };
            flow.last_active = now;
            let Some(listener) = self.listeners.get(flow.listener as usize) else {
                break;
            };
            // EAGAIN (listener's buffer full) drops the reply, as a router would.
            let _ = send_from(&listener.fd, &self.buffer[..len], flow.client, &flow.local);
        }
        if broken {
            self.close(key);
        }
    }

    /// Forgets flows idle for the timeout; schedules the next sweep.
    pub(crate) fn sweep(&mut self, now: Instant) {
        if self.next_sweep.is_none_or(|due| now < due) {
            return;
        }
        let mut oldest: Option<Instant> = None;
        for key in self.flows.keys() {
            let Some(flow) = self.flows.get_mut(key) else {
                continue;
            };
            if now.duration_since(flow.last_active) >= self.idle_timeout {
                self.close(key);
            } else {
                oldest = Some(oldest.map_or(flow.last_active, |o| o.min(flow.last_active)));
            }
        }
        self.next_sweep = oldest.map(|oldest| {
            (oldest + self.idle_timeout).max(now + SWEEP_GRANULARITY.min(self.idle_timeout))
        });
    }

    fn close(&mut self, key: Key) {
        if let Some(flow) = self.flows.remove(key) {
            self.by_client
                .remove(&(flow.listener, flow.client, flow.local));
        }
    }
}

/// A connected UDP socket reports an earlier ICMP error on the next send, and that
/// send is not made; try once more so the datagram is not lost to old news.
fn send_retrying_refusal(socket: &OwnedFd, data: &[u8]) -> nix::Result<usize> {
    match send(socket.as_raw_fd(), data, MsgFlags::MSG_DONTWAIT) {
        Err(Errno::ECONNREFUSED) => send(socket.as_raw_fd(), data, MsgFlags::MSG_DONTWAIT),
        other => other,
    }
}

/// The destination of a received datagram, as IP_PKTINFO/IPV6_PKTINFO report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LocalAddr {
    Unknown,
    V4(Ipv4Addr),
    V6 { addr: Ipv6Addr, ifindex: u32 },
}

/// Room for one IPv6 packet-info control message, aligned for cmsghdr.
#[repr(C, align(8))]
struct ControlBuffer([u8; 64]);

/// recvmsg with the packet-info control message: length, sender, destination.
fn receive(fd: &OwnedFd, buffer: &mut [u8]) -> nix::Result<(usize, SocketAddr, LocalAddr)> {
    // SAFETY: msghdr points at stack storage (address, iovec, control buffer) and
    // at `buffer`, all alive for the call; the control messages are walked with the
    // CMSG_* accessors within msg_controllen as the kernel set it.
    unsafe {
        let mut address: libc::sockaddr_storage = zeroed();
        let mut control = ControlBuffer([0; 64]);
        let mut iov = libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        };
        let mut msg: libc::msghdr = zeroed();
        msg.msg_name = (&raw mut address).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len();

        let len = libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
        if len < 0 {
            return Err(Errno::last());
        }
        let storage = SockaddrStorage::from_raw((&raw const address).cast(), Some(msg.msg_namelen))
            .ok_or(Errno::EAFNOSUPPORT)?;
        let client = to_socket_addr(&storage).ok_or(Errno::EAFNOSUPPORT)?;

        let mut local = LocalAddr::Unknown;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            if header.cmsg_level == libc::IPPROTO_IP && header.cmsg_type == libc::IP_PKTINFO {
                let info =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>());
                local = LocalAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
            } else if header.cmsg_level == libc::IPPROTO_IPV6
                && header.cmsg_type == libc::IPV6_PKTINFO
            {
                let info =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in6_pktinfo>());
                local = LocalAddr::V6 {
                    addr: Ipv6Addr::from(info.ipi6_addr.s6_addr),
                    ifindex: info.ipi6_ifindex,
                };
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok((len as usize, client, local))
    }
}

/// sendmsg to `to`, with `from` as the source address when known.
fn send_from(fd: &OwnedFd, data: &[u8], to: SocketAddr, from: &LocalAddr) -> nix::Result<usize> {
    let destination = SockaddrStorage::from(to);
    // SAFETY: as in `receive`; the one control message is written through the
    // CMSG_* accessors into a zeroed, aligned buffer large enough for it.
    unsafe {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        let mut control = ControlBuffer([0; 64]);
        let mut msg: libc::msghdr = zeroed();
        msg.msg_name = destination.as_ptr().cast_mut().cast();
        msg.msg_namelen = destination.len();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;

        let (level, kind, payload_len) = match from {
            LocalAddr::Unknown => (0, 0, 0),
            LocalAddr::V4(_) => (
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                size_of::<libc::in_pktinfo>(),
            ),
            LocalAddr::V6 { .. } => (
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                size_of::<libc::in6_pktinfo>(),
            ),
        };
        // A reply to an IPv4 client on an IPv6 flow (or the reverse) cannot carry the
        // other family's source; let the kernel choose then.
        let matches_family = matches!(
            (from, to.ip()),
            (LocalAddr::V4(_), IpAddr::V4(_)) | (LocalAddr::V6 { .. }, IpAddr::V6(_))
        );
        if payload_len > 0 && matches_family {
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(payload_len as u32) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = level;
            (*cmsg).cmsg_type = kind;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload_len as u32) as usize;
            match *from {
                LocalAddr::V4(addr) => {
                    let info = libc::in_pktinfo {
                        ipi_ifindex: 0,
                        ipi_spec_dst: libc::in_addr {
                            s_addr: u32::from(addr).to_be(),
                        },
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                }
                LocalAddr::V6 { addr, ifindex } => {
                    let info = libc::in6_pktinfo {
                        ipi6_addr: libc::in6_addr {
                            s6_addr: addr.octets(),
                        },
                        ipi6_ifindex: ifindex,
                    };
                    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                }
                LocalAddr::Unknown => {}
            }
        }

        let sent = libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT);
        if sent < 0 {
            return Err(Errno::last());
        }
        Ok(sent as usize)
    }
}
