//! `start` (launch the long-running shim and print its address), `serve` (be that shim)
//! and `delete` (clean up after a dead one).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;

use crate::config::Args;
use crate::error::{Error, Result};
use crate::publisher::Publisher;
use crate::reaper::Reaper;
use crate::service::TaskService;
use crate::task::{ShimConfig, Task, fxhash};

/// The listener handed from `start` to `serve`.
const LISTENER_FD: i32 = 3;

fn bundle_of(args: &Args) -> Result<PathBuf> {
    match &args.bundle {
        Some(b) => Ok(b.clone()),
        None => std::env::current_dir().map_err(|e| Error::io("getcwd", ".", e)),
    }
}

/// A short name for this shim's socket: sun_path holds 108 bytes and IDs may be long.
fn socket_stem(args: &Args) -> String {
    format!(
        "{:016x}",
        fxhash(&format!(
            "{}\0{}\0{}",
            args.address.display(),
            args.namespace,
            args.id
        ))
    )
}

pub fn socket_path(args: &Args) -> PathBuf {
    args.socket_dir.join(format!("{}.sock", socket_stem(args)))
}

fn shim_config(args: &Args) -> Result<ShimConfig> {
    Ok(ShimConfig {
        id: args.id.clone(),
        namespace: args.namespace.clone(),
        bundle: bundle_of(args)?,
        runtime_root: args.runtime_root.clone(),
        socket_dir: args.socket_dir.clone(),
        socket_stem: socket_stem(args),
    })
}

/// Binds the socket (filesystem, mode 0600; never abstract, see CVE-2020-15257), starts
/// `serve` detached in its own session with the listener as fd 3, prints the address.
pub fn start(args: &Args) -> Result<String> {
    let bundle = bundle_of(args)?;
    let path = socket_path(args);
    std::fs::create_dir_all(&args.socket_dir)
        .map_err(|e| Error::io("creating", &args.socket_dir, e))?;
    let address = format!("unix://{}", path.display());
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            // A shim already serves this task (a retried start): reuse it.
            return Ok(address);
        }
        std::fs::remove_file(&path).map_err(|e| Error::io("removing stale socket", &path, e))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(&path)
        .map_err(|e| Error::io("binding", &path, e))?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| Error::io("chmod", &path, e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("finding", "/proc/self/exe", e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("-namespace")
        .arg(&args.namespace)
        .arg("-address")
        .arg(&args.address)
        .arg("-id")
        .arg(&args.id)
        .arg("-bundle")
        .arg(&bundle)
        .arg("-socket-dir")
        .arg(&args.socket_dir)
        .arg("-runtime-root")
        .arg(&args.runtime_root);
    if args.debug {
        cmd.arg("-debug");
    }
    cmd.arg("serve")
        .current_dir(&bundle)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let fd = listener.as_raw_fd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Not a child of mycontainerd's session: it must outlive mycontainerd.
            libc::setsid();
            // dup2 onto itself keeps close-on-exec set: clear it explicitly then.
            if fd == LISTENER_FD {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, LISTENER_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| {
        let _ = std::fs::remove_file(&path);
        Error::io("starting the shim", "serve", e)
    })?;
    Ok(address)
}

/// The long-running shim.
pub fn serve(args: &Args) -> Result<()> {
    // SAFETY: plain prctl; reparented container processes become our children.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let cfg = shim_config(args)?;
    let socket = socket_path(args);
    // SAFETY: fd 3 is the listener `start` passed us.
    let listener = unsafe { OwnedFd::from_raw_fd(LISTENER_FD) };
    let listener = std::os::unix::net::UnixListener::from(listener);
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("listener", &socket, e))?;
    // SAFETY: the descriptor must not leak into runtime commands.
    unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting", "tokio", e))?;
    let listen_path = socket.clone();
    let result = rt.block_on(async move {
        let socket = listen_path;
        let reaper = Reaper::start()?;
        let (publisher, sender) = Publisher::start(args.address.clone(), args.namespace.clone());
        let task = Task::new(cfg, reaper, publisher.clone());
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(
            tokio::net::UnixListener::from_std(listener)
                .map_err(|e| Error::io("listener", &socket, e))?,
        );
        let service = myproto::containerd::task::v2::task_server::TaskServer::new(TaskService {
            task: task.clone(),
        });
        let shutdown = {
            let task = task.clone();
            async move { task.shutdown.notified().await }
        };
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        if let Err(e) = served {
            tracing::error!("serving: {e}");
        }
        // Deliver the last events (exit, delete) before going.
        publisher.close();
        let _ = tokio::time::timeout(Duration::from_secs(10), sender).await;
        Ok::<(), Error>(())
    });
    let _ = std::fs::remove_file(&socket);
    result
}

/// Cleans up after a shim that died: the runtime's container, the rootfs mount. Prints
/// the DeleteResponse (protobuf) as containerd's shims do.
pub fn delete(args: &Args) -> Result<Vec<u8>> {
    let cfg = shim_config(args)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting", "tokio", e))?;
    let exit = rt.block_on(async {
        let reaper = Reaper::start()?;
        Task::cleanup_dead(cfg, reaper).await
    })?;
    let _ = std::fs::remove_file(socket_path(args));
    Ok(myproto::containerd::task::v2::DeleteResponse {
        pid: 0,
        exit_status: exit.status,
        exited_at: Some(prost_types::Timestamp::from(exit.at)),
    }
    .encode_to_vec())
}

/// Log file of the long-running shim, in its bundle.
pub fn log_path(bundle: &Path) -> PathBuf {
    bundle.join("shim.log")
}

pub fn run_serve(args: Args) -> Result<()> {
    let bundle = bundle_of(&args)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(&bundle))
        .map_err(|e| Error::io("opening", log_path(&bundle), e))?;
    tracing_subscriber::fmt()
        .with_writer(Arc::new(log))
        .with_ansi(false)
        .with_max_level(if args.debug {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        })
        .init();
    serve(&args)
}
