//! Starting, connecting to and cleaning up after shims (one per task).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use myproto::containerd::task::v2::task_client::TaskClient;
use myproto::containerd::task::v2::{ConnectRequest, DeleteResponse};
use prost::Message;
use tonic::transport::Channel;

use crate::error::{Error, Result};

/// How mycontainerd starts shims.
#[derive(Debug, Clone)]
pub struct ShimLaunch {
    pub binary: PathBuf,
    /// mycontainerd's own socket, where shims publish events.
    pub address: PathBuf,
    pub socket_dir: PathBuf,
    pub runtime_root: PathBuf,
    pub debug: bool,
}

/// A running shim serving one task.
pub struct Shim {
    pub namespace: String,
    pub id: String,
    pub bundle: PathBuf,
    pub client: TaskClient<Channel>,
    pub pid: u32,
    /// Set before a deliberate shutdown, so the exit is not taken for a crash.
    pub retiring: AtomicBool,
}

impl ShimLaunch {
    fn command(&self, ns: &str, id: &str, bundle: &Path, action: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg("-namespace")
            .arg(ns)
            .arg("-address")
            .arg(&self.address)
            .arg("-id")
            .arg(id)
            .arg("-bundle")
            .arg(bundle)
            .arg("-socket-dir")
            .arg(&self.socket_dir)
            .arg("-runtime-root")
            .arg(&self.runtime_root);
        if self.debug {
            cmd.arg("-debug");
        }
        cmd.arg(action)
            .current_dir(bundle)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `shim start` and connects to the shim it leaves running.
    pub async fn start(&self, ns: &str, id: &str, bundle: &Path) -> Result<Shim> {
        let fail = |message: String| Error::ShimStart {
            id: id.to_string(),
            message,
        };
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            self.command(ns, id, bundle, "start").output(),
        )
        .await
        .map_err(|_| fail("`start` did not finish within 10s".into()))?
        .map_err(|e| fail(format!("running {}: {e}", self.binary.display())))?;
        if !out.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        let address = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = address
            .strip_prefix("unix://")
            .unwrap_or(&address)
            .to_string();
        let addr_file = bundle.join("address");
        std::fs::write(&addr_file, &address).map_err(|e| Error::io("writing", &addr_file, e))?;
        Shim::connect(ns, id, bundle, Path::new(&path)).await
    }

    /// Runs `shim delete` for a shim that died: the runtime's container goes too.
    pub async fn cleanup_dead(&self, ns: &str, id: &str, bundle: &Path) -> Option<DeleteResponse> {
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            self.command(ns, id, bundle, "delete").output(),
        )
        .await;
        match out {
            Ok(Ok(o)) if o.status.success() => DeleteResponse::decode(o.stdout.as_slice()).ok(),
            Ok(Ok(o)) => {
                tracing::warn!(
                    namespace = ns,
                    container_id = id,
                    "shim delete: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Ok(Err(e)) => {
                tracing::warn!(namespace = ns, container_id = id, "shim delete: {e}");
                None
            }
            Err(_) => {
                tracing::warn!(namespace = ns, container_id = id, "shim delete timed out");
                None
            }
        }
    }
}

impl Shim {
    /// Connects to a shim's socket and asks who it is (also the liveness check on restart).
    pub async fn connect(ns: &str, id: &str, bundle: &Path, socket: &Path) -> Result<Shim> {
        let endpoint = myproto::transport::unix_endpoint().connect_timeout(Duration::from_secs(5));
        let channel = myproto::transport::connect_unix_with(endpoint, socket)
            .await
            .map_err(|e| Error::ShimStart {
                id: id.to_string(),
                message: format!("connecting to {}: {e}", socket.display()),
            })?;
        let mut client = TaskClient::new(channel);
        let info = tokio::time::timeout(
            Duration::from_secs(5),
            client.connect(ConnectRequest { id: id.to_string() }),
        )
        .await
        .map_err(|_| Error::ShimStart {
            id: id.to_string(),
            message: "no answer to Connect".into(),
        })??
        .into_inner();
        Ok(Shim {
            namespace: ns.to_string(),
            id: id.to_string(),
            bundle: bundle.to_path_buf(),
            client,
            pid: info.shim_pid,
            retiring: AtomicBool::new(false),
        })
    }

    /// The socket path recorded in a bundle by [`ShimLaunch::start`].
    pub fn address_of(bundle: &Path) -> Option<PathBuf> {
        let a = std::fs::read_to_string(bundle.join("address")).ok()?;
        Some(PathBuf::from(
            a.trim().strip_prefix("unix://").unwrap_or(a.trim()),
        ))
    }

    pub fn retire(&self) {
        self.retiring.store(true, Ordering::SeqCst);
    }

    pub fn retiring(&self) -> bool {
        self.retiring.load(Ordering::SeqCst)
    }

    /// Resolves when the shim process is gone (it is not our child: a pidfd tells).
    pub async fn exited(pid: u32) {
        // SAFETY: pidfd_open with a pid and no flags; returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            // Already gone (ESRCH), or no pidfd: treat as exited only if the pid is gone.
            while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return;
        }
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: the pidfd stays open and owned by the AsyncFd.
        let Ok(afd) = (unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }) else {
            return;
        };
        let _ = afd.readable().await;
    }
}
