//! `containerd.services.tasks.v1.Tasks`: each call goes to the task's shim.

use std::sync::Arc;

use myproto::containerd::services::tasks::v1::tasks_server::Tasks;
use myproto::containerd::services::tasks::v1::*;
use myproto::containerd::task::v2 as shimapi;
use myproto::containerd::types::Metric;
use myproto::containerd::v1::types::Process;
use tonic::{Request, Response, Status};

use crate::filters::{Fields, Filter};
use crate::runtime::shim::Shim;
use crate::runtime::tasks::TaskManager;
use crate::services::{namespace, now};

pub struct TasksService {
    pub tasks: Arc<TaskManager>,
}

async fn process(shim: &Shim, exec_id: &str) -> Result<Process, Status> {
    let s = shim
        .client
        .clone()
        .state(shimapi::StateRequest {
            id: shim.id.clone(),
            exec_id: exec_id.to_string(),
        })
        .await?
        .into_inner();
    Ok(Process {
        container_id: shim.id.clone(),
        id: s.id,
        pid: s.pid,
        status: s.status,
        stdin: s.stdin,
        stdout: s.stdout,
        stderr: s.stderr,
        terminal: s.terminal,
        exit_status: s.exit_status,
        exited_at: s.exited_at,
    })
}

struct TaskFields<'a>(&'a Shim);

impl Fields for TaskFields<'_> {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first().map(String::as_str) {
            Some("id") | Some("container_id") if path.len() == 1 => Some(self.0.id.clone()),
            Some("namespace") if path.len() == 1 => Some(self.0.namespace.clone()),
            _ => None,
        }
    }
}

#[tonic::async_trait]
impl Tasks for TasksService {
    async fn create(
        &self,
        req: Request<CreateTaskRequest>,
    ) -> Result<Response<CreateTaskResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let id = r.container_id.clone();
        let pid = self.tasks.create(&ns, r).await?;
        Ok(Response::new(CreateTaskResponse {
            container_id: id,
            pid,
        }))
    }

    async fn start(&self, req: Request<StartRequest>) -> Result<Response<StartResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        let pid = shim
            .client
            .clone()
            .start(shimapi::StartRequest {
                id: r.container_id,
                exec_id: r.exec_id,
            })
            .await?
            .into_inner()
            .pid;
        Ok(Response::new(StartResponse { pid }))
    }

    async fn delete(
        &self,
        req: Request<DeleteTaskRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let ns = namespace(&req)?;
        Ok(Response::new(
            self.tasks
                .delete(&ns, &req.into_inner().container_id)
                .await?,
        ))
    }

    async fn delete_process(
        &self,
        req: Request<DeleteProcessRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        if r.exec_id.is_empty() {
            return Err(Status::invalid_argument(
                "exec_id is required (delete the task to delete its init)",
            ));
        }
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        let d = shim
            .client
            .clone()
            .delete(shimapi::DeleteRequest {
                id: r.container_id,
                exec_id: r.exec_id.clone(),
            })
            .await?
            .into_inner();
        Ok(Response::new(DeleteResponse {
            id: r.exec_id,
            pid: d.pid,
            exit_status: d.exit_status,
            exited_at: d.exited_at,
        }))
    }

    async fn get(&self, req: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        Ok(Response::new(GetResponse {
            process: Some(process(&shim, &r.exec_id).await?),
        }))
    }

    async fn list(
        &self,
        req: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        let ns = namespace(&req)?;
        let filter = Filter::parse(&[req.into_inner().filter])?;
        let mut tasks = Vec::new();
        for shim in self.tasks.list(&ns).await {
            if !filter.matches(&TaskFields(&shim)) {
                continue;
            }
            // A shim that stopped answering is left out, as containerd does.
            if let Ok(p) = process(&shim, "").await {
                tasks.push(p);
            }
        }
        Ok(Response::new(ListTasksResponse { tasks }))
    }

    async fn kill(&self, req: Request<KillRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        shim.client
            .clone()
            .kill(shimapi::KillRequest {
                id: r.container_id,
                exec_id: r.exec_id,
                signal: r.signal,
                all: r.all,
            })
            .await?;
        Ok(Response::new(()))
    }

    async fn exec(&self, req: Request<ExecProcessRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        crate::identifiers::validate("exec id", &r.exec_id)?;
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        shim.client
            .clone()
            .exec(shimapi::ExecProcessRequest {
                id: r.container_id,
                exec_id: r.exec_id,
                terminal: r.terminal,
                stdin: r.stdin,
                stdout: r.stdout,
                stderr: r.stderr,
                spec: r.spec,
            })
            .await?;
        Ok(Response::new(()))
    }

    async fn resize_pty(&self, req: Request<ResizePtyRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        shim.client
            .clone()
            .resize_pty(shimapi::ResizePtyRequest {
                id: r.container_id,
                exec_id: r.exec_id,
                width: r.width,
                height: r.height,
            })
            .await?;
        Ok(Response::new(()))
    }

    async fn close_io(&self, req: Request<CloseIoRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        shim.client
            .clone()
            .close_io(shimapi::CloseIoRequest {
                id: r.container_id,
                exec_id: r.exec_id,
                stdin: r.stdin,
            })
            .await?;
        Ok(Response::new(()))
    }

    async fn pause(&self, req: Request<PauseTaskRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let id = req.into_inner().container_id;
        let shim = self.tasks.get(&ns, &id).await?;
        shim.client
            .clone()
            .pause(shimapi::PauseRequest { id })
            .await?;
        Ok(Response::new(()))
    }

    async fn resume(&self, req: Request<ResumeTaskRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let id = req.into_inner().container_id;
        let shim = self.tasks.get(&ns, &id).await?;
        shim.client
            .clone()
            .resume(shimapi::ResumeRequest { id })
            .await?;
        Ok(Response::new(()))
    }

    async fn list_pids(
        &self,
        req: Request<ListPidsRequest>,
    ) -> Result<Response<ListPidsResponse>, Status> {
        let ns = namespace(&req)?;
        let id = req.into_inner().container_id;
        let shim = self.tasks.get(&ns, &id).await?;
        let processes = shim
            .client
            .clone()
            .pids(shimapi::PidsRequest { id })
            .await?
            .into_inner()
            .processes;
        Ok(Response::new(ListPidsResponse { processes }))
    }

    async fn update(&self, req: Request<UpdateTaskRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        shim.client
            .clone()
            .update(shimapi::UpdateTaskRequest {
                id: r.container_id,
                resources: r.resources,
                annotations: r.annotations,
            })
            .await?;
        Ok(Response::new(()))
    }

    async fn metrics(
        &self,
        req: Request<MetricsRequest>,
    ) -> Result<Response<MetricsResponse>, Status> {
        let ns = namespace(&req)?;
        let filter = Filter::parse(&req.into_inner().filters)?;
        let mut metrics = Vec::new();
        for shim in self.tasks.list(&ns).await {
            if !filter.matches(&TaskFields(&shim)) {
                continue;
            }
            if let Ok(r) = shim
                .client
                .clone()
                .stats(shimapi::StatsRequest {
                    id: shim.id.clone(),
                })
                .await
            {
                metrics.push(Metric {
                    timestamp: now(),
                    id: shim.id.clone(),
                    data: r.into_inner().stats,
                });
            }
        }
        Ok(Response::new(MetricsResponse { metrics }))
    }

    async fn wait(&self, req: Request<WaitRequest>) -> Result<Response<WaitResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let shim = self.tasks.get(&ns, &r.container_id).await?;
        match shim
            .client
            .clone()
            .wait(shimapi::WaitRequest {
                id: r.container_id,
                exec_id: r.exec_id,
            })
            .await
        {
            Ok(w) => {
                let w = w.into_inner();
                Ok(Response::new(WaitResponse {
                    exit_status: w.exit_status,
                    exited_at: w.exited_at,
                }))
            }
            // The shim died while we waited: its task is cleaned up with exit status 255.
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                ) && !shim.retiring() =>
            {
                Ok(Response::new(WaitResponse {
                    exit_status: 255,
                    exited_at: now(),
                }))
            }
            Err(s) => Err(s),
        }
    }
}
