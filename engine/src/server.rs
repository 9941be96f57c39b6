//! Binding the API sockets (UNIX, and TCP with or without TLS) and serving them:
//! components start in dependency order (containerd connection, store, event subscription
//! and reconcile, then the API) and stop in reverse.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::containerd::Containerd;
use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// Binds the UNIX socket at `path` with mode 0660 and group `gid`. A socket someone
/// answers on is left alone (another daemon runs): that is an error. A stale one is
/// replaced.
pub fn bind(path: &Path, gid: Option<u32>) -> Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Conflict(format!(
                "a daemon is already listening on {}; refusing to start",
                path.display()
            )));
        }
        std::fs::remove_file(path)
            .map_err(|e| Error::io(format!("removing stale socket {}", path.display()), e))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| Error::io(format!("chmod {}", path.display()), e))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, Some(0), Some(gid))
            .map_err(|e| Error::io(format!("chown {}", path.display()), e))?;
    }
    Ok(listener)
}

/// A bound API listener.
pub enum Listener {
    Unix(PathBuf, UnixListener),
    /// TCP; with an acceptor every connection is TLS (client certificates as it says).
    Tcp(TcpListener, Option<TlsAcceptor>),
}

impl From<(PathBuf, UnixListener)> for Listener {
    fn from((path, l): (PathBuf, UnixListener)) -> Listener {
        Listener::Unix(path, l)
    }
}

/// Binds `addr` (`HOST:PORT`). A taken port is an error: another daemon serves there.
pub fn bind_tcp(addr: &str, tls: Option<TlsAcceptor>) -> Result<Listener> {
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| Error::io(format!("listening on tcp://{addr}"), e))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| Error::io(format!("listening on tcp://{addr}"), e))?;
    let l = TcpListener::from_std(std_listener)
        .map_err(|e| Error::io(format!("listening on tcp://{addr}"), e))?;
    Ok(Listener::Tcp(l, tls))
}

/// A listening socket the service manager passed.
pub enum PassedSocket {
    Unix(i32, std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
}

impl PassedSocket {
    /// The API listener (inside the runtime); TCP ones serve with `tls` when set.
    pub fn into_listener(self, tls: Option<TlsAcceptor>) -> Result<Listener> {
        let io = |e| Error::io("serving a passed socket", e);
        Ok(match self {
            PassedSocket::Unix(fd, l) => Listener::Unix(
                PathBuf::from(format!("fd://{fd}")),
                UnixListener::from_std(l).map_err(io)?,
            ),
            PassedSocket::Tcp(l) => Listener::Tcp(TcpListener::from_std(l).map_err(io)?, tls),
        })
    }
}

/// Takes the listening sockets the service manager passed (`LISTEN_PID`, `LISTEN_FDS`:
/// descriptors 3, 4, …, as systemd's socket activation) for `fd://` (every one) or
/// `fd://N` (that one). Call before any thread starts: it clears those variables.
pub fn take_passed_sockets(wanted: &[Option<i32>]) -> Result<Vec<PassedSocket>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .filter(|_| for_us)
        .unwrap_or(0);
    // SAFETY: no other thread exists yet (see above); children must not inherit the
    // hand-over.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if count == 0 {
        return Err(Error::BadParameter(
            "fd:// given but no sockets were passed (LISTEN_FDS/LISTEN_PID are not set for this process)".into(),
        ));
    }
    let passed: Vec<i32> = (3..3 + count).collect();
    let mut fds = Vec::new();
    for w in wanted {
        match w {
            None => fds.extend(passed.iter().copied()),
            Some(n) if passed.contains(n) => fds.push(*n),
            Some(n) => {
                return Err(Error::BadParameter(format!(
                    "fd://{n}: no such socket was passed (have {passed:?})"
                )));
            }
        }
    }
    fds.sort_unstable();
    fds.dedup();
    let mut out = Vec::new();
    for fd in fds {
        let domain =
            socket_domain(fd).map_err(|e| Error::io(format!("fd://{fd} is not a socket"), e))?;
        // SAFETY: the descriptor was passed to us and is used by nothing else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let io = |e| Error::io(format!("serving fd://{fd}"), e);
        if domain == libc::AF_UNIX {
            let l = std::os::unix::net::UnixListener::from(owned);
            l.set_nonblocking(true).map_err(io)?;
            out.push(PassedSocket::Unix(fd, l));
        } else {
            let l = std::net::TcpListener::from(owned);
            l.set_nonblocking(true).map_err(io)?;
            out.push(PassedSocket::Tcp(l));
        }
    }
    Ok(out)
}

fn socket_domain(fd: i32) -> std::io::Result<i32> {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes one c_int into `domain`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(domain)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How long a client may take over its TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the daemon on already-bound listeners until `shutdown`.
pub async fn run(
    config: Config,
    listeners: Vec<Listener>,
    shutdown: CancellationToken,
) -> Result<()> {
    let containerd = Containerd::connect(&config.containerd, &config.namespace).await?;
    let daemon = Arc::new(Daemon::new(config, containerd).await?);
    let tracker = TaskTracker::new();

    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tracker.spawn(crate::daemon::events::run(
        daemon.clone(),
        shutdown.clone(),
        ready_tx,
    ));
    // Serve once the store agrees with containerd (bounded: a slow containerd must not
    // keep the API down).
    let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;

    for listener in listeners {
        match &listener {
            Listener::Unix(path, _) => {
                tracing::info!(socket = %path.display(), "API listening");
            }
            Listener::Tcp(l, tls) => {
                let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                if tls.is_some() {
                    tracing::info!(address = %addr, "API listening on TCP with TLS");
                } else {
                    tracing::warn!(
                        address = %addr,
                        "API listening on plain TCP without TLS (--insecure-tcp): anyone who can \
                         connect to this address has root on this host"
                    );
                }
            }
        }
        tracker.spawn(accept_loop(
            daemon.clone(),
            listener,
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    shutdown.cancelled().await;
    tracing::info!("shutting down");
    tracker.close();
    // Hijacked sessions and follows end with the process; give handlers a moment.
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
    let running = daemon.all_containers().iter().any(|c| c.is_running());
    daemon.network.shutdown(running).await;
    Ok(())
}

/// A connection just accepted, before any TLS handshake.
enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    match listener {
        Listener::Unix(_, l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        Listener::Tcp(l, _) => l.accept().await.map(|(s, peer)| Accepted::Tcp(s, peer)),
    }
}

async fn accept_loop(
    daemon: Arc<Daemon>,
    listener: Listener,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let tls = match &listener {
        Listener::Tcp(_, tls) => tls.clone(),
        Listener::Unix(..) => None,
    };
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = accept(&listener) => a,
        };
        let accepted = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let daemon = daemon.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            match (accepted, tls) {
                (Accepted::Unix(s), _) => serve(daemon, s, shutdown).await,
                (Accepted::Tcp(s, _), None) => serve(daemon, s, shutdown).await,
                (Accepted::Tcp(s, peer), Some(acceptor)) => {
                    // The handshake runs in the connection's task, so a slow or silent
                    // client never holds up the accept loop.
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(s));
                    let stream = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        h = handshake => h,
                    };
                    match stream {
                        Ok(Ok(s)) => serve(daemon, crate::tls::TlsConn::new(s), shutdown).await,
                        Ok(Err(e)) => tracing::info!(peer = %peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::info!(peer = %peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 (with upgrades, for hijacked attach and exec) on one connection.
async fn serve<S>(daemon: Arc<Daemon>, stream: S, shutdown: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let daemon = daemon.clone();
        async move { Ok::<_, std::convert::Infallible>(crate::api::handle(daemon, req).await) }
    });
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("connection: {e}");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_live_socket_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let first = bind(&path, None).unwrap();
        let e = bind(&path, None).unwrap_err();
        assert!(e.to_string().contains("already listening"), "{e}");
        drop(first);
        // Now stale: replaced.
        let _second = bind(&path, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
    }
}
