//! Binding the API sockets and serving them: components start in dependency order
//! (containerd connection, store, event subscription and reconcile, then the API) and
//! stop in reverse.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;
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

/// Runs the daemon on already-bound listeners until `shutdown`.
pub async fn run(
    config: Config,
    listeners: Vec<(PathBuf, UnixListener)>,
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

    for (path, listener) in listeners {
        tracing::info!(socket = %path.display(), "API listening");
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

async fn accept_loop(
    daemon: Arc<Daemon>,
    listener: UnixListener,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let daemon = daemon.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
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
        });
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
