//! The event loop: one epoll for the listeners, every connection or flow, and
//! SIGTERM/SIGINT, on a single thread.

use std::time::Instant;

use nix::sys::epoll::EpollEvent;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::{Proto, ProxyConfig};
use crate::error::{Error, Result};
use crate::listen::Listener;
use crate::poller::{self, Interest, Poller, Token};
use crate::tcp::TcpForwarder;
use crate::udp::UdpForwarder;

/// Events taken per epoll_wait.
const EVENT_BATCH: usize = 128;

enum Forwarder {
    Tcp(TcpForwarder),
    Udp(UdpForwarder),
}

/// Signals that stop the proxy, read from a signalfd so that they arrive as events.
pub(crate) struct StopSignals(SignalFd);

impl StopSignals {
    /// Blocks SIGTERM and SIGINT (docker-proxy's stop signals) for the process.
    /// Done before the parent is told we are ready, so an early SIGTERM is not lost.
    pub(crate) fn block() -> Result<Self> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGTERM);
        mask.add(Signal::SIGINT);
        mask.thread_block()
            .map_err(|e| Error::sys("sigprocmask", e))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| Error::sys("signalfd", e))?;
        Ok(StopSignals(fd))
    }

    /// Whether a stop signal was pending (and takes them all).
    fn take(&mut self) -> bool {
        let mut any = false;
        while let Ok(Some(_)) = self.0.read_signal() {
            any = true;
        }
        any
    }
}

/// Sets up the forwarder on `listeners`, calls `ready`, then forwards until a stop
/// signal. After SIGTERM or SIGINT the listeners close at once; UDP stops there, TCP
/// lets open connections finish for up to the drain timeout (a second signal ends
/// that early). Returns once stopped.
pub(crate) fn serve(
    config: &ProxyConfig,
    listeners: Vec<Listener>,
    mut signals: StopSignals,
    ready: impl FnOnce(),
) -> Result<()> {
    let poller = Poller::new()?;
    poller
        .add(&signals.0, Token::Signal, Interest::Readable)
        .map_err(|e| Error::sys("epoll_ctl", e))?;
    let backend = std::net::SocketAddr::new(config.container_ip, config.container_port);
    let mut forwarder = match config.proto {
        Proto::Tcp => Forwarder::Tcp(TcpForwarder::new(listeners, backend, &poller)?),
        Proto::Udp => Forwarder::Udp(UdpForwarder::new(
            listeners,
            backend,
            config.udp_idle_timeout,
            &poller,
        )?),
    };
    ready();

    let mut events = vec![EpollEvent::empty(); EVENT_BATCH];
    let mut drain_deadline: Option<Instant> = None;
    loop {
        let deadline = match (&forwarder, drain_deadline) {
            (Forwarder::Udp(udp), None) => udp.next_deadline(),
            (_, drain) => drain,
        };
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let count = poller.wait(&mut events, timeout)?;

        for event in &events[..count] {
            let Some((token, readiness)) = poller::decode(event) else {
                continue;
            };
            match (token, &mut forwarder) {
                (Token::Signal, forwarder) => {
                    if !signals.take() {
                        continue;
                    }
                    if drain_deadline.is_some() {
                        return Ok(()); // second signal: stop now
                    }
                    match forwarder {
                        Forwarder::Udp(_) => return Ok(()),
                        Forwarder::Tcp(tcp) => {
                            tcp.stop_accepting();
                            drain_deadline = Some(Instant::now() + config.drain_timeout);
                        }
                    }
                }
                (Token::Listener(index), Forwarder::Tcp(tcp)) => tcp.on_listener(&poller, index),
                (Token::Listener(index), Forwarder::Udp(udp)) => udp.on_listener(&poller, index),
                (Token::TcpClient(key), Forwarder::Tcp(tcp)) => tcp.on_client(key, readiness),
                (Token::TcpBackend(key), Forwarder::Tcp(tcp)) => tcp.on_backend(key, readiness),
                (Token::UdpFlow(key), Forwarder::Udp(udp)) => udp.on_flow(key),
                _ => {}
            }
        }

        let now = Instant::now();
        if let Forwarder::Udp(udp) = &mut forwarder {
            udp.sweep(now);
        }
        if let (Some(deadline), Forwarder::Tcp(tcp)) = (drain_deadline, &forwarder)
            && (tcp.active() == 0 || now >= deadline)
        {
            return Ok(());
        }
    }
}

/// Raises the soft limit on open files to the hard limit, as Go's runtime does for
/// docker-proxy: each TCP connection holds six descriptors (two sockets, two pipes).
pub(crate) fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
