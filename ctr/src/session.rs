//! Following a started process in the foreground until it exits: signals we get go
//! to it (`Tasks.Kill`), the terminal's size follows ours (`Tasks.ResizePty`), the end
//! of our stdin closes its stdin (`Tasks.CloseIO`), and `Tasks.Wait` says how it ended.

use std::time::Duration;

use myproto::containerd::services::tasks::v1::{
    CloseIoRequest, KillRequest, ResizePtyRequest, WaitRequest,
};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::stdio::Copying;
use crate::tty::Terminal;

/// How long output may trail the exit before we stop waiting for it (something in the
/// container may still hold the process's stdout).
pub const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// A task's init (`exec_id` empty) or one of its exec processes.
#[derive(Clone, Debug)]
pub struct ProcessRef {
    pub container_id: String,
    pub exec_id: String,
}

/// Calls `Tasks.Wait` in the background. Started before `Start`, like containerd's
/// client, so that an early exit is not missed.
pub fn wait(client: &Client, process: &ProcessRef) -> JoinHandle<Result<u32>> {
    let request = client.request(WaitRequest {
        container_id: process.container_id.clone(),
        exec_id: process.exec_id.clone(),
    });
    let mut tasks = client.tasks();
    tokio::spawn(async move {
        let response = tasks.wait(request).await?.into_inner();
        Ok(response.exit_status)
    })
}

/// The signals we pass on, listened to from before the process starts so that none is
/// lost in between (a signal that arrives early is held and forwarded once it runs).
pub struct Signals {
    hup: Signal,
    int: Signal,
    quit: Signal,
    term: Signal,
    usr1: Signal,
    usr2: Signal,
    winch: Signal,
}

impl Signals {
    pub fn listen() -> Result<Signals> {
        let listen = |kind: SignalKind| signal(kind).map_err(Error::Signals);
        Ok(Signals {
            hup: listen(SignalKind::hangup())?,
            int: listen(SignalKind::interrupt())?,
            quit: listen(SignalKind::quit())?,
            term: listen(SignalKind::terminate())?,
            usr1: listen(SignalKind::user_defined1())?,
            usr2: listen(SignalKind::user_defined2())?,
            winch: listen(SignalKind::window_change())?,
        })
    }
}

/// What to do while following.
pub struct Follow<'a> {
    pub terminal: Option<&'a Terminal>,
    pub signals: Signals,
    /// Close the process's stdin when ours ends (not when attaching: the process's stdin
    /// outlives one client).
    pub close_stdin: bool,
}

/// Follows `process` until `waiting` reports its exit status.
pub async fn follow(
    client: &Client,
    process: &ProcessRef,
    mut waiting: JoinHandle<Result<u32>>,
    copying: &mut Copying,
    options: Follow<'_>,
) -> Result<u32> {
    let Signals {
        mut hup,
        mut int,
        mut quit,
        mut term,
        mut usr1,
        mut usr2,
        mut winch,
    } = options.signals;

    if let Some(terminal) = options.terminal {
        resize(client, process, terminal).await;
    }
    let mut stdin_closed = copying.stdin_closed.take();
    let mut forwarding = true;
    loop {
        let forward = tokio::select! {
            status = &mut waiting => {
                return match status {
                    Ok(result) => result,
                    Err(e) => Err(Error::WaitAborted(e.to_string())),
                };
            }
            () = ended(&mut stdin_closed) => {
                stdin_closed = None;
                if options.close_stdin {
                    close_stdin(client, process).await;
                }
                None
            }
            _ = winch.recv() => {
                if let Some(terminal) = options.terminal {
                    resize(client, process, terminal).await;
                }
                None
            }
            _ = hup.recv() => Some(libc::SIGHUP),
            _ = int.recv() => Some(libc::SIGINT),
            _ = quit.recv() => Some(libc::SIGQUIT),
            _ = term.recv() => Some(libc::SIGTERM),
            _ = usr1.recv() => Some(libc::SIGUSR1),
            _ = usr2.recv() => Some(libc::SIGUSR2),
        };
        if let Some(sig) = forward
            && forwarding
        {
            forwarding = forward_signal(client, process, sig as u32).await;
        }
    }
}

/// Resolves when our stdin has ended; never if that was already seen (`None`).
async fn ended(stdin_closed: &mut Option<tokio::sync::oneshot::Receiver<()>>) {
    match stdin_closed {
        // An error means the copying thread is gone: the end of stdin all the same.
        Some(rx) => {
            let _ = rx.await;
        }
        None => std::future::pending().await,
    }
}

/// Sends `signal` on; false once the process is gone (nothing more to forward).
async fn forward_signal(client: &Client, process: &ProcessRef, signal: u32) -> bool {
    tracing::debug!(container_id = %process.container_id, exec_id = %process.exec_id, signal, "forwarding signal");
    let request = client.request(KillRequest {
        container_id: process.container_id.clone(),
        exec_id: process.exec_id.clone(),
        signal,
        all: false,
    });
    match client.tasks().kill(request).await {
        Ok(_) => true,
        Err(status) if status.code() == tonic::Code::NotFound => false,
        Err(status) => {
            tracing::warn!(
                "forward signal {signal}: {}",
                crate::error::RpcError::from(status)
            );
            true
        }
    }
}

async fn resize(client: &Client, process: &ProcessRef, terminal: &Terminal) {
    let Some((width, height)) = terminal.size() else {
        return;
    };
    let request = client.request(ResizePtyRequest {
        container_id: process.container_id.clone(),
        exec_id: process.exec_id.clone(),
        width: width.into(),
        height: height.into(),
    });
    if let Err(status) = client.tasks().resize_pty(request).await {
        tracing::warn!("resize pty: {}", crate::error::RpcError::from(status));
    }
}

async fn close_stdin(client: &Client, process: &ProcessRef) {
    let request = client.request(CloseIoRequest {
        container_id: process.container_id.clone(),
        exec_id: process.exec_id.clone(),
        stdin: true,
    });
    if let Err(status) = client.tasks().close_io(request).await {
        tracing::warn!("close stdin: {}", crate::error::RpcError::from(status));
    }
}
