//! Starts myproxy or Debian's docker-proxy the way dockerd does (status pipe on fd 3,
//! optional listeners on fds 4 and 5), plus echo servers and data checks on loopback.
//! Everything started here is stopped when its handle drops.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest wait for anything a proxy should do promptly (report, exit).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const V4: std::net::IpAddr = std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const V6: std::net::IpAddr = std::net::IpAddr::V6(Ipv6Addr::LOCALHOST);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    MyProxy,
    /// Debian's docker.io 20.10 build: no -use-listen-fd, no -v.
    DockerProxy,
}

impl Impl {
    pub fn path(self) -> PathBuf {
        match self {
            Impl::MyProxy => PathBuf::from(env!("CARGO_BIN_EXE_myproxy")),
            Impl::DockerProxy => {
                let path = PathBuf::from("/usr/sbin/docker-proxy");
                assert!(
                    path.exists(),
                    "{} is missing: install Debian's `docker.io` package (make deps)",
                    path.display()
                );
                path
            }
        }
    }
}

/// Both implementations, for the cases both support.
pub const BOTH: [Impl; 2] = [Impl::MyProxy, Impl::DockerProxy];

/// A running (or failed) proxy.
pub struct Proxy {
    child: Option<Child>,
    /// What the proxy wrote on fd 3 before closing it.
    pub status: String,
    pub which: Impl,
    /// The -host-ip/-host-port it was given, if started by `forward`.
    pub host: Option<SocketAddr>,
    stderr: Option<JoinHandle<String>>,
}

impl Proxy {
    /// Starts `which` with `args`, `listen_fds` as fds 4, 5, ..., and a pipe on fd 3;
    /// returns once the proxy has closed fd 3 (reported ready or failed).
    pub fn start(which: Impl, args: &[String], listen_fds: &[RawFd]) -> Proxy {
        let (status_read, status_write) = pipe();
        let mut command = Command::new(which.path());
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let status_raw = status_write.as_raw_fd();
        let listen_fds = listen_fds.to_vec();
        // SAFETY: only dup/dup2/close between fork and exec, which are
        // async-signal-safe. Everything is first moved above 100 so that placing one
        // descriptor on 3, 4 or 5 cannot clobber another still to be placed.
        unsafe {
            command.pre_exec(move || {
                let sources: Vec<RawFd> = std::iter::once(status_raw)
                    .chain(listen_fds.iter().copied())
                    .collect();
                let mut high = [0; 8];
                for (i, &fd) in sources.iter().enumerate() {
                    high[i] = libc::fcntl(fd, libc::F_DUPFD, 100);
                    if high[i] < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                for (i, &fd) in high[..sources.len()].iter().enumerate() {
                    if libc::dup2(fd, 3 + i as RawFd) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                Ok(())
            });
        }
        let mut child = command.spawn().expect("spawn proxy");
        drop(status_write);
        // Collected and printed when the proxy is dropped: the test harness shows it
        // for failing tests only.
        let mut stderr_pipe = child.stderr.take().expect("stderr piped");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });

        let mut proxy = Proxy {
            child: Some(child),
            status: String::new(),
            which,
            host: None,
            stderr: Some(stderr),
        };
        let pid = proxy.pid();
        // A proxy that never closes fd 3 would block the read forever.
        let watchdog = Watchdog::kill_after(pid, PATIENCE);
        let mut file = std::fs::File::from(status_read);
        file.read_to_string(&mut proxy.status).expect("read fd 3");
        watchdog.disarm();
        proxy
    }

    /// Runs `which` with flags for the usual -host-ip/-host-port/-container-* set.
    pub fn forward(
        which: Impl,
        proto: &str,
        host: SocketAddr,
        backend: SocketAddr,
        extra: &[&str],
    ) -> Proxy {
        let mut args = forward_args(proto, host, backend);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut proxy = Proxy::start(which, &args, &[]);
        assert_eq!(proxy.status, "0\n", "{which:?} did not start");
        proxy.host = Some(host);
        proxy
    }

    /// Where to reach it on `ip` (the -host-port it was given).
    pub fn at(&self, ip: std::net::IpAddr) -> SocketAddr {
        SocketAddr::new(ip, self.host.expect("started by forward").port())
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.as_ref().expect("child").id() as libc::pid_t
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill on our own, not yet reaped child.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits for the proxy to exit (killing it after PATIENCE).
    pub fn wait(&mut self) -> ExitStatus {
        let watchdog = Watchdog::kill_after(self.pid(), PATIENCE);
        let status = self.child.take().expect("child").wait().expect("wait");
        watchdog.disarm();
        status
    }

    /// `/proc/PID/status` fields in KiB, e.g. "VmRSS".
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("{field} in {status}"))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(stderr) = self.stderr.take().and_then(|t| t.join().ok())
            && !stderr.is_empty()
        {
            eprint!("{:?} stderr:\n{stderr}", self.which);
        }
    }
}

pub fn forward_args(proto: &str, host: SocketAddr, backend: SocketAddr) -> Vec<String> {
    [
        "-proto",
        proto,
        "-host-ip",
        &host.ip().to_string(),
        "-host-port",
        &host.port().to_string(),
        "-container-ip",
        &backend.ip().to_string(),
        "-container-port",
        &backend.port().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// Kills a PID unless disarmed in time.
pub struct Watchdog {
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn kill_after(pid: libc::pid_t, after: Duration) -> Watchdog {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            if rx.recv_timeout(after).is_err() {
                // SAFETY: kill on a child of this test that has not been reaped.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        Watchdog {
            done: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn disarm(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A TCP port on `ip` that was free a moment ago (for proxies that bind themselves).
pub fn free_tcp_port(ip: std::net::IpAddr) -> SocketAddr {
    TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap()
}

pub fn free_udp_port(ip: std::net::IpAddr) -> SocketAddr {
    UdpSocket::bind((ip, 0)).unwrap().local_addr().unwrap()
}

/// A server that answers each TCP connection with `handler`, on its own thread.
pub struct TcpServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TcpServer {
    pub fn start(ip: std::net::IpAddr, handler: fn(TcpStream)) -> TcpServer {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || handler(stream))
                    .expect("server thread");
            }
        });
        TcpServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Echoes every byte, and half-closes once the client has.
    pub fn echo(ip: std::net::IpAddr) -> TcpServer {
        TcpServer::start(ip, |mut stream| {
            let mut reader = stream.try_clone().unwrap();
            let _ = io::copy(&mut reader, &mut stream);
            let _ = stream.shutdown(Shutdown::Write);
        })
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A UDP echo server that also remembers the sources it saw (the proxy's flows).
pub struct UdpEcho {
    pub addr: SocketAddr,
    pub sources: Arc<std::sync::Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    pub fn start(ip: std::net::IpAddr) -> UdpEcho {
        let socket = UdpSocket::bind((ip, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sources = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stopping, seen) = (stop.clone(), sources.clone());
        let thread = thread::spawn(move || {
            let mut buf = vec![0; 65536];
            while !stopping.load(Ordering::SeqCst) {
                if let Ok((len, from)) = socket.recv_from(&mut buf) {
                    seen.lock().unwrap().push(from);
                    let _ = socket.send_to(&buf[..len], from);
                }
            }
        });
        UdpEcho {
            addr,
            sources,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A reproducible byte stream per connection (xorshift), so that 200 × 4 MiB can be
/// checked byte for byte without keeping any of it.
pub struct Stream(u64);

impl Stream {
    pub fn new(seed: u64) -> Stream {
        Stream(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Sends `total` bytes of stream `seed` through `addr`, half-closes, and checks that
/// exactly the same bytes come back before EOF.
pub fn echo_exactly(addr: SocketAddr, seed: u64, total: usize) -> Result<(), String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || -> io::Result<()> {
            let mut source = Stream::new(seed);
            let mut chunk = vec![0; 64 * 1024];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len());
                source.fill(&mut chunk[..n]);
                writer.write_all(&chunk[..n])?;
                left -= n;
            }
            writer.shutdown(Shutdown::Write)
        })
        .unwrap();

    let mut expected = Stream::new(seed);
    let mut want = vec![0; 64 * 1024];
    let mut got = vec![0; 64 * 1024];
    let mut reader = stream;
    let mut received = 0;
    let mut result = Ok(());
    while received < total {
        let n = match reader.read(&mut got[..(total - received).min(64 * 1024)]) {
            Ok(0) => {
                result = Err(format!("EOF after {received} of {total} bytes"));
                break;
            }
            Ok(n) => n,
            Err(e) => {
                result = Err(format!("read after {received} bytes: {e}"));
                break;
            }
        };
        // The xorshift stream is produced in 8-byte steps, so compare through a
        // buffer refilled at the same offsets as the sender's.
        let mut offset = 0;
        while offset < n {
            let at = (received + offset) % want.len();
            if at == 0 {
                let len = (total - received - offset).min(want.len());
                expected.fill(&mut want[..len]);
            }
            let take = (n - offset).min(want.len() - at);
            if got[offset..offset + take] != want[at..at + take] {
                return Err(format!("bytes differ near offset {}", received + offset));
            }
            offset += take;
        }
        received += n;
    }
    if result.is_ok() {
        let mut extra = [0; 1];
        result = match reader.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err("more bytes than were sent".into()),
            Err(e) => Err(format!("waiting for EOF: {e}")),
        };
    }
    let sent = sender.join().expect("sender thread");
    result?;
    sent.map_err(|e| format!("send: {e}"))
}

/// Sends one datagram from `socket` and waits for its echo, retrying a few times
/// (loopback does not drop, but a timing hiccup must not fail the test).
pub fn udp_round_trip(
    socket: &UdpSocket,
    to: Option<SocketAddr>,
    payload: &[u8],
) -> Result<(), String> {
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = vec![0; 65536];
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match to {
            Some(to) => socket.send_to(payload, to),
            None => socket.send(payload),
        }
        .map_err(|e| format!("send: {e}"))?;
        match socket.recv(&mut buf) {
            Ok(n) if buf[..n] == *payload => return Ok(()),
            Ok(n) => {
                return Err(format!(
                    "got {n} bytes that differ from the {} sent",
                    payload.len()
                ));
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            }
            Err(e) => return Err(format!("recv: {e}")),
        }
    }
    Err("no reply".into())
}
