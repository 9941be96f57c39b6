//! TCP forwarding: accept, connect to the container, then move bytes both ways with
//! splice(2) through one pipe per direction.
//!
//! The pipe is the bounded buffer: when it is full nothing more is read from the
//! sender, so TCP flow control pushes back on whoever is faster. Bytes never pass
//! through user space, which is what keeps throughput up and memory flat. Each
//! direction ends on its own (EOF is passed on as shutdown(SHUT_WR)), so a client
//! that half-closes still gets its whole reply. Any error closes that one
//! connection and nothing else.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
use nix::sys::socket::{
    Shutdown, SockFlag, SockaddrStorage, accept4, connect, getsockopt, setsockopt, shutdown,
    socket, sockopt,
};

use crate::config::Proto;
use crate::listen::{Listener, socket_kind};
use crate::log::warning;
use crate::poller::{Interest, Poller, Readiness, Token};
use crate::slab::{Key, Slab};

/// Pipe size asked for per direction (the kernel default is 64 KiB). Larger means
/// fewer system calls per megabyte; it is kernel memory, used only while bytes wait.
const PIPE_SIZE: i32 = 256 * 1024;
/// Empty pipes kept for new connections: creating and sizing one costs five system calls.
const PIPE_POOL: usize = 32;
/// Connections accepted per listener wake-up before serving other events.
const ACCEPT_BATCH: usize = 64;

pub(crate) struct TcpForwarder {
    listeners: Vec<Listener>,
    backend: SocketAddr,
    connections: Slab<Connection>,
    pipes: Vec<Pipe>,
    /// Held open so that, out of descriptors, a pending connection can still be
    /// accepted and closed instead of waking the loop forever.
    spare_fd: Option<OwnedFd>,
}

impl TcpForwarder {
    pub(crate) fn new(
        listeners: Vec<Listener>,
        backend: SocketAddr,
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
        Ok(TcpForwarder {
            listeners,
            backend,
            connections: Slab::new(),
            pipes: Vec::new(),
            spare_fd: open_spare(),
        })
    }

    /// Connections still open.
    pub(crate) fn active(&self) -> usize {
        self.connections.len()
    }

    /// Closes the listeners: new connections are refused by the kernel from now on.
    pub(crate) fn stop_accepting(&mut self) {
        self.listeners.clear();
    }

    pub(crate) fn on_listener(&mut self, poller: &Poller, index: u32) {
        for _ in 0..ACCEPT_BATCH {
            let Some(listener) = self.listeners.get(index as usize) else {
                return;
            };
            match accept4(
                &listener.fd,
                SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            ) {
                Ok(client) => self.start(poller, client),
                Err(Errno::EAGAIN) => return,
                Err(Errno::EMFILE | Errno::ENFILE) => {
                    self.refuse_one(index);
                    return;
                }
                // The client gave up before we accepted, or a signal: try the next.
                Err(Errno::ECONNABORTED | Errno::EINTR | Errno::EPROTO) => {}
                Err(err) => {
                    warning!("accept on tcp/{}: {}", listener.addr, err.desc());
                    return;
                }
            }
        }
    }

    /// Out of descriptors: free the spare, accept and close one connection (the
    /// client sees a reset rather than hanging), then take the spare back.
    fn refuse_one(&mut self, index: u32) {
        warning!("out of file descriptors: refusing a connection");
        self.spare_fd = None;
        if let Some(listener) = self.listeners.get(index as usize) {
            drop(accept4(&listener.fd, SockFlag::SOCK_CLOEXEC));
        }
        self.spare_fd = open_spare();
    }

    fn start(&mut self, poller: &Poller, client: OwnedFd) {
        // Relay each write as it comes, like docker-proxy (Go's default): both ends
        // already did their own batching.
        let _ = setsockopt(&client, sockopt::TcpNoDelay, &true);
        let (family, kind) = socket_kind(Proto::Tcp, self.backend);
        let backend = match socket(
            family,
            kind,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        ) {
            Ok(fd) => fd,
            Err(err) => {
                warning!(
                    "Can't forward traffic to backend tcp/{}: socket: {}",
                    self.backend,
                    err.desc()
                );
                return;
            }
        };
        let connected = match connect(backend.as_raw_fd(), &SockaddrStorage::from(self.backend)) {
            Ok(()) => true,
            Err(Errno::EINPROGRESS) => false,
            Err(err) => {
                warning!(
                    "Can't forward traffic to backend tcp/{}: {}",
                    self.backend,
                    err.desc()
                );
                return;
            }
        };

        let key = self
            .connections
            .insert_with(|_| Connection::new(client, backend));
        let conn = self.connections.get_mut(key).expect("just inserted");
        let registered = poller
            .add(&conn.client, Token::TcpClient(key), Interest::Edges)
            .and_then(|()| poller.add(&conn.backend, Token::TcpBackend(key), Interest::Edges));
        if let Err(err) = registered {
            warning!("epoll_ctl for a tcp connection: {}", err.desc());
            self.close(key);
            return;
        }
        if connected {
            self.on_connected(key);
        }
    }

    pub(crate) fn on_client(&mut self, key: Key, readiness: Readiness) {
        let Some(conn) = self.connections.get_mut(key) else {
            return; // an event for a connection closed earlier in this batch
        };
        conn.client_ready.merge(readiness);
        if conn.open {
            self.progress(key);
        }
    }

    pub(crate) fn on_backend(&mut self, key: Key, readiness: Readiness) {
        let backend = self.backend;
        let Some(conn) = self.connections.get_mut(key) else {
            return;
        };
        conn.backend_ready.merge(readiness);
        if conn.open {
            self.progress(key);
            return;
        }
        if !readiness.writable {
            return; // still connecting
        }
        match getsockopt(&conn.backend, sockopt::SocketError) {
            Ok(0) => self.on_connected(key),
            Ok(errno) => {
                warning!(
                    "Can't forward traffic to backend tcp/{backend}: {}",
                    Errno::from_raw(errno).desc()
                );
                self.close(key);
            }
            Err(err) => {
                warning!(
                    "Can't forward traffic to backend tcp/{backend}: {}",
                    err.desc()
                );
                self.close(key);
            }
        }
    }

    fn on_connected(&mut self, key: Key) {
        let (upstream, downstream) = match (self.take_pipe(), self.take_pipe()) {
            (Ok(up), Ok(down)) => (up, down),
            (Err(err), _) | (_, Err(err)) => {
                warning!("pipe for a tcp connection: {}", err.desc());
                self.close(key);
                return;
            }
        };
        let Some(conn) = self.connections.get_mut(key) else {
            return;
        };
        let _ = setsockopt(&conn.backend, sockopt::TcpNoDelay, &true);
        conn.upstream = Some(Pump::new(upstream));
        conn.downstream = Some(Pump::new(downstream));
        conn.open = true;
        // Whatever the client sent while we were connecting is waiting.
        conn.client_ready.readable = true;
        conn.backend_ready.writable = true;
        self.progress(key);
    }

    fn progress(&mut self, key: Key) {
        let Some(conn) = self.connections.get_mut(key) else {
            return;
        };
        match conn.progress() {
            Ok(false) => {}
            // Finished both ways, or broken (reset, unreachable): either way, done.
            Ok(true) | Err(_) => self.close(key),
        }
    }

    /// Closes both sockets (closing also takes them out of epoll) and keeps the
    /// connection's pipes if they are empty.
    fn close(&mut self, key: Key) {
        let Some(conn) = self.connections.remove(key) else {
            return;
        };
        for pump in [conn.upstream, conn.downstream].into_iter().flatten() {
            if pump.buffered == 0 && self.pipes.len() < PIPE_POOL {
                self.pipes.push(pump.pipe);
            }
        }
    }

    fn take_pipe(&mut self) -> nix::Result<Pipe> {
        match self.pipes.pop() {
            Some(pipe) => Ok(pipe),
            None => Pipe::new(),
        }
    }
}

fn open_spare() -> Option<OwnedFd> {
    std::fs::File::open("/dev/null").ok().map(OwnedFd::from)
}

/// "Might be readable/writable": set by events, cleared when a call says EAGAIN.
/// With edge-triggered epoll nobody repeats an event, so this is the memory of it.
#[derive(Debug, Default, Clone, Copy)]
struct Ready {
    readable: bool,
    writable: bool,
}

impl Ready {
    fn merge(&mut self, readiness: Readiness) {
        self.readable |= readiness.readable;
        self.writable |= readiness.writable;
    }
}

struct Connection {
    client: OwnedFd,
    backend: OwnedFd,
    /// Connected to the backend; until then the client's bytes wait in its socket.
    open: bool,
    client_ready: Ready,
    backend_ready: Ready,
    /// Client to backend.
    upstream: Option<Pump>,
    /// Backend to client.
    downstream: Option<Pump>,
}

impl Connection {
    fn new(client: OwnedFd, backend: OwnedFd) -> Self {
        Connection {
            client,
            backend,
            open: false,
            client_ready: Ready {
                readable: true,
                writable: true,
            },
            backend_ready: Ready::default(),
            upstream: None,
            downstream: None,
        }
    }

    /// Moves what can be moved both ways. `Ok(true)` once both directions ended.
    fn progress(&mut self) -> nix::Result<bool> {
        let (Some(up), Some(down)) = (&mut self.upstream, &mut self.downstream) else {
            return Ok(false);
        };
        up.run(
            self.client.as_fd(),
            &mut self.client_ready.readable,
            self.backend.as_fd(),
            &mut self.backend_ready.writable,
        )?;
        down.run(
            self.backend.as_fd(),
            &mut self.backend_ready.readable,
            self.client.as_fd(),
            &mut self.client_ready.writable,
        )?;
        Ok(up.shut && down.shut)
    }
}

struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl Pipe {
    fn new() -> nix::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        // Best effort: a smaller pipe only costs more system calls.
        let _ = fcntl(&write, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        let capacity = fcntl(&write, FcntlArg::F_GETPIPE_SZ)? as usize;
        Ok(Pipe {
            read,
            write,
            capacity,
        })
    }
}

/// One direction of a connection.
struct Pump {
    pipe: Pipe,
    /// Bytes in the pipe, read from the source but not yet written.
    buffered: usize,
    /// The source sent FIN.
    eof: bool,
    /// FIN passed on to the destination; this direction is over.
    shut: bool,
}

impl Pump {
    fn new(pipe: Pipe) -> Self {
        Pump {
            pipe,
            buffered: 0,
            eof: false,
            shut: false,
        }
    }

    /// Alternates draining the pipe into `dst` and filling it from `src` until
    /// neither can go on.
    fn run(
        &mut self,
        src: BorrowedFd<'_>,
        src_readable: &mut bool,
        dst: BorrowedFd<'_>,
        dst_writable: &mut bool,
    ) -> nix::Result<()> {
        let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
        loop {
            let mut progressed = false;
            if self.buffered > 0 && *dst_writable {
                match splice(&self.pipe.read, None, dst, None, self.buffered, flags) {
                    Ok(n) => {
                        self.buffered -= n;
                        progressed = n > 0;
                    }
                    Err(Errno::EAGAIN) => *dst_writable = false,
                    Err(Errno::EINTR) => progressed = true,
                    Err(err) => return Err(err),
                }
            }
            if !self.eof && *src_readable && self.buffered < self.pipe.capacity {
                let room = self.pipe.capacity - self.buffered;
                match splice(src, None, &self.pipe.write, None, room, flags) {
                    Ok(0) => {
                        self.eof = true;
                        progressed = true;
                    }
                    Ok(n) => {
                        self.buffered += n;
                        progressed = true;
                    }
                    // EAGAIN means "socket empty" only if the pipe is empty; a pipe
                    // with bytes may be out of slots, so the flag stays set and the
                    // read is tried again after the next drain.
                    Err(Errno::EAGAIN) => {
                        if self.buffered == 0 {
                            *src_readable = false;
                        }
                    }
                    Err(Errno::EINTR) => progressed = true,
                    Err(err) => return Err(err),
                }
            }
            if self.eof && self.buffered == 0 && !self.shut {
                self.shut = true;
                match shutdown(dst.as_raw_fd(), Shutdown::Write) {
                    // The peer is already gone: nothing left to tell it.
                    Ok(()) | Err(Errno::ENOTCONN) => {}
                    Err(err) => return Err(err),
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}
