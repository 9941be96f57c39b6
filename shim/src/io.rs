//! A process's stdio: the client's FIFOs (or a log URI) on one side, pipes or a pty on the
//! container's side, and the copying in between.
//!
//! As containerd's shim does, the shim holds the output FIFOs open for reading as well as
//! writing: output written while no client is attached waits in the FIFO for the next
//! reader (`tasks attach`), and the container blocks only once that buffer is full.
//! Stdin EOF reaches the container when the client's writer goes away, or on CloseIO.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::runtime_cli::ProcessIo;

/// Where a process's output goes, from the stdout path of the task request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    None,
    Fifo(PathBuf),
    /// `file:///path`: stdout and stderr appended to one file.
    File(PathBuf),
    /// `binary:///path?args`: a logging program reading fds 3 and 4.
    Binary {
        path: PathBuf,
        args: Vec<String>,
    },
}

impl Sink {
    pub fn parse(uri: &str) -> Result<Sink> {
        if uri.is_empty() {
            return Ok(Sink::None);
        }
        if let Some(rest) = uri.strip_prefix("file://") {
            return Ok(Sink::File(PathBuf::from(rest)));
        }
        if let Some(rest) = uri.strip_prefix("binary://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let mut args = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                args.push(percent_decode(k));
                if !v.is_empty() {
                    args.push(percent_decode(v));
                }
            }
            return Ok(Sink::Binary {
                path: PathBuf::from(percent_decode(path)),
                args,
            });
        }
        if let Some(rest) = uri.strip_prefix("fifo://") {
            return Ok(Sink::Fifo(PathBuf::from(rest)));
        }
        if uri.contains("://") {
            return Err(Error::InvalidArgument(format!(
                "unsupported stdio URI {uri:?}"
            )));
        }
        Ok(Sink::Fifo(PathBuf::from(uri)))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("creating a pipe", e))
}

/// A raw descriptor (pty master, pipe end) driven by tokio.
pub struct AsyncRawFd(AsyncFd<OwnedFd>);

impl AsyncRawFd {
    pub fn new(fd: OwnedFd) -> Result<Self> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL)
            .map_err(|e| Error::sys("fcntl", e))?;
        let mut flags = nix::fcntl::OFlag::from_bits_truncate(flags);
        flags.insert(nix::fcntl::OFlag::O_NONBLOCK);
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))
            .map_err(|e| Error::sys("fcntl", e))?;
        // SAFETY: we own `fd` and it stays open, unchanged, as long as the AsyncFd lives.
        let afd = unsafe { AsyncFd::register(fd) }
            .map_err(|e| Error::io("registering", "descriptor", e.into()))?;
        Ok(AsyncRawFd(afd))
    }

    pub fn raw(&self) -> RawFd {
        self.0.get_ref().as_raw_fd()
    }
}

impl AsyncRead for AsyncRawFd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut guard = ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| {
                // SAFETY: reading into an initialized buffer we own.
                let n = unsafe {
                    libc::read(fd.as_raw_fd(), unfilled.as_mut_ptr().cast(), unfilled.len())
                };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // A pty master reports EIO once every slave is closed: that is its EOF.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for AsyncRawFd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            match guard.try_io(|fd| {
                // SAFETY: writing from a valid buffer.
                let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Opens a FIFO for writing without blocking; None when nobody reads it.
fn open_fifo_writer(path: &Path) -> Option<AsyncRawFd> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()?;
    AsyncRawFd::new(fd).ok()
}

/// Where copied output ends up.
enum Dest {
    Fifo(AsyncRawFd),
    File(std::sync::Arc<std::sync::Mutex<std::fs::File>>),
    Discard,
}

impl Dest {
    async fn write(&mut self, data: &[u8]) {
        match self {
            Dest::Fifo(f) => {
                if f.write_all(data).await.is_err() {
                    // The reader went away: keep draining the container, drop the output.
                    *self = Dest::Discard;
                }
            }
            Dest::File(f) => {
                let _ = f.lock().unwrap().write_all(data);
            }
            Dest::Discard => {}
        }
    }
}

async fn pump(mut src: impl AsyncRead + Unpin, mut dest: Dest) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match src.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => dest.write(&buf[..n]).await,
        }
    }
}

/// Reads a FIFO until its writer closes it (EOF), or until told to stop (CloseIO).
async fn pump_stdin(fifo: PathBuf, mut to: impl AsyncWrite + Unpin, close: oneshot::Receiver<()>) {
    // O_NONBLOCK so the open itself never waits for a writer; epoll only reports the FIFO
    // readable once a writer has sent data or come and gone.
    let Ok(fd) = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return;
    };
    let Ok(mut from) = AsyncRawFd::new(fd) else {
        return;
    };
    let mut buf = vec![0u8; 32 * 1024];
    let copy = async {
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = copy => {}
        _ = close => {}
    }
    // Dropping `to` closes the container's stdin: it sees EOF.
}

/// The shim's handles on one process's stdio once it runs.
#[derive(Default)]
pub struct Stdio {
    /// Closes the container's stdin (CloseIO).
    pub stdin_close: Option<oneshot::Sender<()>>,
    /// The pty master, for resizing.
    pub master: Option<std::sync::Arc<OwnedFd>>,
    /// Copy tasks that end when the process's output is fully delivered.
    pub output: Vec<JoinHandle<()>>,
}

impl Stdio {
    pub fn close_stdin(&mut self) {
        if let Some(tx) = self.stdin_close.take() {
            let _ = tx.send(());
        }
    }

    /// Waits (at most `timeout`) for the output of an exited process to be delivered.
    pub async fn drain(&mut self, timeout: std::time::Duration) {
        let tasks = std::mem::take(&mut self.output);
        let _ = tokio::time::timeout(timeout, async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    }

    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        let Some(master) = &self.master else {
            return Err(Error::FailedPrecondition(
                "the process has no terminal".into(),
            ));
        };
        let ws = libc::winsize {
            ws_row: height as u16,
            ws_col: width as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(Error::sys(
                "resizing the terminal",
                nix::errno::Errno::last(),
            ));
        }
        Ok(())
    }
}

/// What the client asked for a process's stdio.
#[derive(Debug, Clone, Default)]
pub struct StdioConfig {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// A process's stdio being prepared: the runtime gets `container`; `finish` starts copying
/// once the runtime is done (and, with a terminal, has sent the pty master).
pub struct PreparedStdio {
    pub container: ProcessIo,
    pub console: Option<ConsoleSocket>,
    config: StdioConfig,
    stdin_writer: Option<OwnedFd>,
    out_readers: Vec<(OwnedFd, Dest)>,
    /// With a terminal and a `binary://` log URI: the logging program's stdout pipe, which
    /// the pty master's output is copied into.
    console_log: Option<OwnedFd>,
}

/// A listening socket for the runtime's `--console-socket`.
pub struct ConsoleSocket {
    pub path: PathBuf,
    listener: std::os::unix::net::UnixListener,
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ConsoleSocket {
    fn new(path: PathBuf) -> Result<Self> {
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path)
            .map_err(|e| Error::io("binding console socket", &path, e))?;
        Ok(ConsoleSocket { path, listener })
    }

    /// Takes the pty master the runtime sent (it connected during `create`/`exec`).
    fn receive(&self) -> Result<OwnedFd> {
        self.listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("console socket", &self.path, e))?;
        let (conn, _) = self
            .listener
            .accept()
            .map_err(|e| Error::io("accepting on console socket", &self.path, e))?;
        conn.set_nonblocking(false).ok();
        let mut buf = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| Error::sys("receiving the pty master", e))?;
        for c in msg
            .cmsgs()
            .map_err(|e| Error::sys("reading control messages", e))?
        {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c
                && let Some(fd) = fds.first()
            {
                // SAFETY: the kernel installed this descriptor for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
        Err(Error::FailedPrecondition(
            "the runtime sent no pty master".into(),
        ))
    }
}

/// Context a logging program gets in its environment.
pub struct LogContext<'a> {
    pub container_id: &'a str,
    pub namespace: &'a str,
}

/// Starts a `binary://` logging program with the read ends of the output pipes on fds 3
/// and 4 and a readiness pipe on fd 5, and waits until it closes fd 5.
fn start_logger(
    path: &Path,
    args: &[String],
    stdout_r: OwnedFd,
    stderr_r: OwnedFd,
    ctx: &LogContext,
) -> Result<()> {
    let (ready_r, ready_w) = pipe()?;
    let fds = [
        stdout_r.as_raw_fd(),
        stderr_r.as_raw_fd(),
        ready_w.as_raw_fd(),
    ];
    let mut cmd = Command::new(path);
    cmd.args(args)
        .env_clear()
        .env("CONTAINER_ID", ctx.container_id)
        .env("CONTAINER_NAMESPACE", ctx.namespace)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only dup2/fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Through fds above 5 first, so no dup2 clobbers a source still needed.
            let mut tmp = [0; 3];
            for (i, fd) in fds.iter().enumerate() {
                // CLOEXEC, so these copies do not outlive exec: a logger holding a
                // second copy of the readiness pipe could never signal it.
                tmp[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 10);
                if tmp[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, fd) in tmp.iter().enumerate() {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let _child = cmd
        .spawn()
        .map_err(|e| Error::io("starting logging program", path, e))?;
    drop(ready_w);
    drop(stdout_r);
    drop(stderr_r);
    // Blocking read with a bound: a logger that never gets ready must not hang the shim.
    let mut pfd = [libc::pollfd {
        fd: ready_r.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: polling one valid descriptor.
    let r = unsafe { libc::poll(pfd.as_mut_ptr(), 1, 10_000) };
    if r == 0 {
        return Err(Error::FailedPrecondition(format!(
            "logging program {} did not get ready within 10s",
            path.display()
        )));
    }
    Ok(())
}

impl PreparedStdio {
    /// Sets up pipes (or a console socket) for a process. `console_path` names the socket
    /// to create when the process has a terminal.
    pub fn prepare(
        config: StdioConfig,
        console_path: PathBuf,
        log: &LogContext,
    ) -> Result<PreparedStdio> {
        let mut p = PreparedStdio {
            container: ProcessIo::default(),
            console: None,
            config: config.clone(),
            stdin_writer: None,
            out_readers: Vec::new(),
            console_log: None,
        };
        if config.terminal {
            p.console = Some(ConsoleSocket::new(console_path)?);
            if let Sink::Binary { path, args } = Sink::parse(&config.stdout)? {
                // A terminal has one output stream: all of it goes to the logger's stdout;
                // its stderr pipe is closed at once, so it sees EOF there.
                let (out_r, out_w) = pipe()?;
                let (err_r, err_w) = pipe()?;
                start_logger(&path, &args, out_r, err_r, log)?;
                drop(err_w);
                p.console_log = Some(out_w);
            }
            return Ok(p);
        }
        if !config.stdin.is_empty() {
            let (r, w) = pipe()?;
            p.container.stdin = Some(r);
            p.stdin_writer = Some(w);
        }
        match Sink::parse(&config.stdout)? {
            Sink::None => {}
            Sink::Fifo(path) => {
                let (r, w) = pipe()?;
                p.container.stdout = Some(w);
                let dest = open_fifo_writer(&path)
                    .map(Dest::Fifo)
                    .unwrap_or(Dest::Discard);
                p.out_readers.push((r, dest));
                if let Sink::Fifo(err_path) = Sink::parse(&config.stderr)? {
                    let (r, w) = pipe()?;
                    p.container.stderr = Some(w);
                    let dest = open_fifo_writer(&err_path)
                        .map(Dest::Fifo)
                        .unwrap_or(Dest::Discard);
                    p.out_readers.push((r, dest));
                }
            }
            Sink::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| Error::io("opening log file", &path, e))?;
                let f = std::sync::Arc::new(std::sync::Mutex::new(f));
                for slot in [&mut p.container.stdout, &mut p.container.stderr] {
                    let (r, w) = pipe()?;
                    *slot = Some(w);
                    p.out_readers.push((r, Dest::File(f.clone())));
                }
            }
            Sink::Binary { path, args } => {
                let (out_r, out_w) = pipe()?;
                let (err_r, err_w) = pipe()?;
                start_logger(&path, &args, out_r, err_r, log)?;
                p.container.stdout = Some(out_w);
                p.container.stderr = Some(err_w);
            }
        }
        Ok(p)
    }

    /// Starts copying, now that the runtime has created the process.
    pub fn finish(self) -> Result<Stdio> {
        let mut stdio = Stdio::default();
        if let Some(console) = &self.console {
            let master = console.receive()?;
            let master = std::sync::Arc::new(master);
            stdio.master = Some(master.clone());
            // One duplicate for reading, one for writing: each gets its own AsyncFd.
            let dup = |m: &OwnedFd| -> Result<OwnedFd> {
                nix::unistd::dup(m).map_err(|e| Error::sys("dup", e))
            };
            let reader = AsyncRawFd::new(dup(&master)?)?;
            if let Some(log) = self.console_log {
                stdio.output.push(tokio::spawn(pump(
                    reader,
                    Dest::Fifo(AsyncRawFd::new(log)?),
                )));
            } else if let Sink::Fifo(path) | Sink::File(path) = Sink::parse(&self.config.stdout)? {
                let dest = match Sink::parse(&self.config.stdout)? {
                    Sink::File(_) => {
                        let f = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&path)
                            .map_err(|e| Error::io("opening log file", &path, e))?;
                        Dest::File(std::sync::Arc::new(std::sync::Mutex::new(f)))
                    }
                    _ => open_fifo_writer(&path)
                        .map(Dest::Fifo)
                        .unwrap_or(Dest::Discard),
                };
                stdio.output.push(tokio::spawn(pump(reader, dest)));
            } else {
                stdio.output.push(tokio::spawn(pump(reader, Dest::Discard)));
            }
            if !self.config.stdin.is_empty() {
                let writer = AsyncRawFd::new(dup(&master)?)?;
                let (tx, rx) = oneshot::channel();
                stdio.stdin_close = Some(tx);
                tokio::spawn(pump_stdin(PathBuf::from(&self.config.stdin), writer, rx));
            }
            return Ok(stdio);
        }
        if let Some(w) = self.stdin_writer {
            let to = tokio::net::unix::pipe::Sender::from_owned_fd(w)
                .map_err(|e| Error::io("stdin pipe", &self.config.stdin, e))?;
            let (tx, rx) = oneshot::channel();
            stdio.stdin_close = Some(tx);
            tokio::spawn(pump_stdin(PathBuf::from(&self.config.stdin), to, rx));
        }
        for (r, dest) in self.out_readers {
            let from = tokio::net::unix::pipe::Receiver::from_owned_fd(r)
                .map_err(|e| Error::io("output pipe", &self.config.stdout, e))?;
            stdio.output.push(tokio::spawn(pump(from, dest)));
        }
        Ok(stdio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks() {
        assert_eq!(Sink::parse("").unwrap(), Sink::None);
        assert_eq!(
            Sink::parse("/run/x/stdout").unwrap(),
            Sink::Fifo("/run/x/stdout".into())
        );
        assert_eq!(
            Sink::parse("file:///var/log/c.log").unwrap(),
            Sink::File("/var/log/c.log".into())
        );
        assert_eq!(
            Sink::parse("binary:///usr/bin/logger?id=c1&flag&path=%2Fa%20b").unwrap(),
            Sink::Binary {
                path: "/usr/bin/logger".into(),
                args: vec![
                    "id".into(),
                    "c1".into(),
                    "flag".into(),
                    "path".into(),
                    "/a b".into()
                ]
            }
        );
        assert!(Sink::parse("tcp://x").is_err());
    }
}
