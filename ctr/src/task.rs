//! A container's task from creation to deletion (`run`, `tasks start`): stdio, then
//! `Tasks.Create`, `Wait`, `Start`; unless detached, following it to its exit, then
//! `Tasks.Delete` and removing the FIFOs.

use std::path::{Path, PathBuf};

use myproto::containerd::runc::v1::Options as RuncOptions;
use myproto::containerd::services::containers::v1::Container;
use myproto::containerd::services::tasks::v1::{
    CreateTaskRequest, DeleteTaskRequest, GetRequest, StartRequest,
};
use myproto::containerd::types::Mount;
use myproto::containerd::v1::types::Process;

use crate::cli::{DEFAULT_FIFO_ROOT, StdioFlags};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::identifier;
use crate::images;
use crate::json::Json;
use crate::session::{self, Follow, OUTPUT_GRACE, ProcessRef, Signals};
use crate::stdio::{self, Stdio, StdioPaths};
use crate::tty::Terminal;

/// How to start a task.
pub struct StartOptions<'a> {
    pub stdio: &'a StdioFlags,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    /// The rootfs mounts, when the caller has them already (a container just created
    /// from an image); else they are asked for.
    pub rootfs: Option<Vec<Mount>>,
}

/// Creates and starts the task of `container`; unless detached, follows it to its exit
/// and deletes it. Returns its exit status (0 when detached).
pub async fn start(
    client: &Client,
    container: &Container,
    options: StartOptions<'_>,
) -> Result<u32> {
    let id = container.id.as_str();
    identifier::validate("container id", id)?;
    let tty = spec_terminal(container)?;
    let rootfs = match options.rootfs {
        Some(mounts) => mounts,
        None => images::task_rootfs(client, container).await?,
    };
    // The terminal goes raw before anything is created, and back on every way out.
    let terminal = if tty && !options.detach {
        Some(Terminal::raw()?)
    } else {
        None
    };
    let fifo_root = fifo_root(options.stdio.fifo_dir.as_deref());
    let stdio = Stdio::new(
        options.stdio.null_io,
        options.stdio.log_uri.as_deref(),
        &fifo_root,
        id,
        tty,
    )?;
    let mut copying = match stdio.start(!options.detach, true) {
        Ok(c) => c,
        Err(e) => {
            stdio.remove();
            return Err(e);
        }
    };
    let paths = stdio.paths();
    tracing::debug!(container_id = id, ?paths, "creating task");
    let request = CreateTaskRequest {
        container_id: id.to_owned(),
        rootfs,
        stdin: paths.stdin.clone(),
        stdout: paths.stdout.clone(),
        stderr: paths.stderr.clone(),
        terminal: paths.terminal,
        options: if options.no_pivot {
            Some(no_pivot_options(container))
        } else {
            None
        },
        ..CreateTaskRequest::default()
    };
    let created = match client.tasks().create(client.request(request)).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            stdio.remove();
            return Err(status.into());
        }
    };
    let process = ProcessRef {
        container_id: id.to_owned(),
        exec_id: String::new(),
    };
    let waiting = (!options.detach).then(|| session::wait(client, &process));
    let started = async {
        // From here on, signals are held for the process rather than ending us
        // (before this, ^C still interrupts a create that hangs).
        let signals = if options.detach {
            None
        } else {
            Some(Signals::listen()?)
        };
        if let Some(path) = options.pid_file {
            write_pid_file(path, created.pid)?;
        }
        client
            .tasks()
            .start(client.request(StartRequest {
                container_id: id.to_owned(),
                exec_id: String::new(),
            }))
            .await?;
        Ok::<_, Error>(signals)
    }
    .await;
    let signals = match started {
        Ok(signals) => signals,
        Err(e) => {
            if let Some(waiting) = waiting {
                waiting.abort();
            }
            let _ = delete_task(client, id, &paths).await;
            stdio.remove();
            return Err(e);
        }
    };
    let (Some(waiting), Some(signals)) = (waiting, signals) else {
        // Detached: the FIFOs stay for `tasks attach`, and go with `tasks delete`.
        return Ok(0);
    };
    let follow = Follow {
        terminal: terminal.as_ref(),
        signals,
        close_stdin: !tty,
    };
    let status = session::follow(client, &process, waiting, &mut copying, follow).await;
    tracing::debug!(container_id = id, ?status, "task exited");
    copying.wait_output(OUTPUT_GRACE).await;
    let deleted = delete_task(client, id, &paths).await;
    copying.wait_output(OUTPUT_GRACE).await;
    stdio.remove();
    drop(terminal);
    let status = status?;
    deleted?;
    Ok(status)
}

/// `Tasks.Delete`, then our FIFOs.
pub async fn delete_task(client: &Client, id: &str, paths: &StdioPaths) -> Result<u32> {
    let response = client
        .tasks()
        .delete(client.request(DeleteTaskRequest {
            container_id: id.to_owned(),
        }))
        .await?
        .into_inner();
    stdio::remove_fifos(paths);
    Ok(response.exit_status)
}

/// The task's init process (or `exec_id`) as the daemon reports it.
pub async fn get_process(client: &Client, id: &str, exec_id: &str) -> Result<Process> {
    let response = client
        .tasks()
        .get(client.request(GetRequest {
            container_id: id.to_owned(),
            exec_id: exec_id.to_owned(),
        }))
        .await?
        .into_inner();
    response.process.ok_or_else(|| Error::Decode {
        what: format!("task {id:?}"),
        reason: "the daemon answered without a process".into(),
    })
}

/// The stdio paths a process was created with.
pub fn process_paths(process: &Process) -> StdioPaths {
    StdioPaths {
        stdin: process.stdin.clone(),
        stdout: process.stdout.clone(),
        stderr: process.stderr.clone(),
        terminal: process.terminal,
    }
}

pub fn fifo_root(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FIFO_ROOT))
}

/// The container's spec, parsed with its fields in order.
pub fn container_spec(container: &Container) -> Result<Json> {
    let spec = container.spec.as_ref().ok_or_else(|| Error::NoSpec {
        id: container.id.clone(),
    })?;
    Json::parse(&spec.value).map_err(|e| Error::BadSpec {
        id: container.id.clone(),
        reason: e.to_string(),
    })
}

/// Whether the container's process wants a terminal (`process.terminal` in its spec).
pub fn spec_terminal(container: &Container) -> Result<bool> {
    let spec = container_spec(container)?;
    Ok(spec
        .get("process")
        .and_then(|p| p.get("terminal"))
        .and_then(Json::as_bool)
        .unwrap_or(false))
}

/// `--no-pivot`: the container's runc options with `NoPivotRoot` set. (ctr sends only
/// `NoPivotRoot`, and the daemon then drops the container's `BinaryName`.)
fn no_pivot_options(container: &Container) -> prost_types::Any {
    let mut options = container
        .runtime
        .as_ref()
        .and_then(|r| r.options.as_ref())
        .and_then(|any| myproto::type_url::unpack::<RuncOptions>(any).ok())
        .unwrap_or_default();
    options.no_pivot_root = true;
    myproto::type_url::pack(&options)
}

/// Writes `pid` the way ctr does: to a hidden temporary file, renamed into place.
pub fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    let error = |source| Error::File {
        what: "writing pid file",
        path: path.to_owned(),
        source,
    };
    let path = std::path::absolute(path).map_err(error)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}"));
    std::fs::write(&temp, pid.to_string()).map_err(error)?;
    std::fs::rename(&temp, &path).map_err(error)
}
