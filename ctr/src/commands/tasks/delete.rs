//! `tasks delete`: a stopped task (or with `-f`, after killing it), or one exec process.

use myproto::containerd::services::tasks::v1::{DeleteProcessRequest, KillRequest};
use myproto::containerd::v1::types::{Process, Status};

use crate::client::Client;
use crate::commands::containers::{Failures, status_name};
use crate::error::{Error, Result};
use crate::session::{self, ProcessRef};
use crate::stdio;
use crate::task;

pub async fn run(
    client: &Client,
    force: bool,
    exec_id: Option<&str>,
    ids: &[String],
) -> Result<i32> {
    if let Some(exec_id) = exec_id.filter(|e| !e.is_empty()) {
        let id = &ids[0];
        return delete_exec(client, id, exec_id, force).await;
    }
    let mut failures = Failures::default();
    for id in ids {
        match failures.record(delete_task(client, id, force).await) {
            Some(0) | None => {}
            Some(status) => eprintln!("myctr: task {id} exit with non-zero exit code {status}"),
        }
    }
    failures.result()
}

async fn delete_task(client: &Client, id: &str, force: bool) -> Result<u32> {
    client.container(id).await?;
    let process_ref = ProcessRef {
        container_id: id.to_owned(),
        exec_id: String::new(),
    };
    if force {
        kill_and_wait(client, &process_ref).await?;
    }
    let process = task::get_process(client, id, "").await?;
    let status = Status::try_from(process.status).unwrap_or(Status::Unknown);
    // containerd's client: a created task without a pid may go too.
    let deletable = matches!(status, Status::Stopped | Status::Unknown)
        || (status == Status::Created && process.pid == 0);
    if !deletable {
        return Err(Error::TaskRunning {
            status: status_name(status).to_lowercase(),
        });
    }
    task::delete_task(client, id, &task::process_paths(&process)).await
}

async fn delete_exec(client: &Client, id: &str, exec_id: &str, force: bool) -> Result<i32> {
    let process_ref = ProcessRef {
        container_id: id.to_owned(),
        exec_id: exec_id.to_owned(),
    };
    if force {
        kill_and_wait(client, &process_ref).await?;
    }
    let process: Process = task::get_process(client, id, exec_id).await?;
    let status = Status::try_from(process.status).unwrap_or(Status::Unknown);
    if matches!(status, Status::Running | Status::Paused | Status::Pausing) {
        return Err(Error::TaskRunning {
            status: status_name(status).to_lowercase(),
        });
    }
    let response = client
        .tasks()
        .delete_process(client.request(DeleteProcessRequest {
            container_id: id.to_owned(),
            exec_id: exec_id.to_owned(),
        }))
        .await?
        .into_inner();
    stdio::remove_fifos(&task::process_paths(&process));
    Ok(response.exit_status as i32)
}

/// `containerd.WithProcessKill`: SIGKILL (to all of a task's processes) and wait for
/// the exit; a process already gone is fine.
async fn kill_and_wait(client: &Client, process: &ProcessRef) -> Result<()> {
    let waiting = session::wait(client, process);
    let killed = client
        .tasks()
        .kill(client.request(KillRequest {
            container_id: process.container_id.clone(),
            exec_id: process.exec_id.clone(),
            signal: libc::SIGKILL as u32,
            all: process.exec_id.is_empty(),
        }))
        .await;
    match killed {
        Ok(_) => {}
        Err(status) if status.code() == tonic::Code::FailedPrecondition => {
            waiting.abort();
            return Ok(());
        }
        Err(status) if status.code() == tonic::Code::NotFound => {}
        Err(status) => {
            waiting.abort();
            return Err(status.into());
        }
    }
    match waiting.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(Error::WaitAborted(e.to_string())),
    }
}
