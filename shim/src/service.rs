//! The gRPC adapter for `containerd.task.v2.Task`: decode, call the task, encode.

use std::sync::Arc;

use myproto::containerd::task::v2 as api;
use myproto::containerd::task::v2::task_server::Task as TaskApi;
use tonic::{Request, Response, Status};

use crate::io::StdioConfig;
use crate::task::{CreateRequest, Task};

pub struct TaskService {
    pub task: Arc<Task>,
}

fn ts(t: std::time::SystemTime) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp::from(t))
}

#[tonic::async_trait]
impl TaskApi for TaskService {
    async fn state(
        &self,
        req: Request<api::StateRequest>,
    ) -> Result<Response<api::StateResponse>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.task.state(&r.id, &r.exec_id).await?))
    }

    async fn create(
        &self,
        req: Request<api::CreateTaskRequest>,
    ) -> Result<Response<api::CreateTaskResponse>, Status> {
        let r = req.into_inner();
        if !r.checkpoint.is_empty() {
            return Err(Status::unimplemented("checkpoint/restore is not supported"));
        }
        let pid = self
            .task
            .create(
                &r.id,
                CreateRequest {
                    rootfs: r.rootfs,
                    stdio: StdioConfig {
                        stdin: r.stdin,
                        stdout: r.stdout,
                        stderr: r.stderr,
                        terminal: r.terminal,
                    },
                    options: r.options,
                },
            )
            .await?;
        Ok(Response::new(api::CreateTaskResponse { pid }))
    }

    async fn start(
        &self,
        req: Request<api::StartRequest>,
    ) -> Result<Response<api::StartResponse>, Status> {
        let r = req.into_inner();
        let pid = self.task.start(&r.id, &r.exec_id).await?;
        Ok(Response::new(api::StartResponse { pid }))
    }

    async fn delete(
        &self,
        req: Request<api::DeleteRequest>,
    ) -> Result<Response<api::DeleteResponse>, Status> {
        let r = req.into_inner();
        let (pid, exit) = self.task.delete(&r.id, &r.exec_id).await?;
        Ok(Response::new(api::DeleteResponse {
            pid,
            exit_status: exit.status,
            exited_at: ts(exit.at),
        }))
    }

    async fn pids(
        &self,
        req: Request<api::PidsRequest>,
    ) -> Result<Response<api::PidsResponse>, Status> {
        let r = req.into_inner();
        let processes = self
            .task
            .pids(&r.id)
            .await?
            .into_iter()
            .map(
                |(pid, exec_id)| myproto::containerd::v1::types::ProcessInfo {
                    pid,
                    info: (!exec_id.is_empty()).then(|| {
                        myproto::type_url::pack(&myproto::containerd::runc::v1::ProcessDetails {
                            exec_id,
                        })
                    }),
                },
            )
            .collect();
        Ok(Response::new(api::PidsResponse { processes }))
    }

    async fn pause(&self, req: Request<api::PauseRequest>) -> Result<Response<()>, Status> {
        self.task.pause(&req.into_inner().id, true).await?;
        Ok(Response::new(()))
    }

    async fn resume(&self, req: Request<api::ResumeRequest>) -> Result<Response<()>, Status> {
        self.task.pause(&req.into_inner().id, false).await?;
        Ok(Response::new(()))
    }

    async fn kill(&self, req: Request<api::KillRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        self.task.kill(&r.id, &r.exec_id, r.signal, r.all).await?;
        Ok(Response::new(()))
    }

    async fn exec(&self, req: Request<api::ExecProcessRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        let stdio = StdioConfig {
            stdin: r.stdin,
            stdout: r.stdout,
            stderr: r.stderr,
            terminal: r.terminal,
        };
        self.task.exec(&r.id, &r.exec_id, stdio, r.spec).await?;
        Ok(Response::new(()))
    }

    async fn resize_pty(
        &self,
        req: Request<api::ResizePtyRequest>,
    ) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        self.task
            .resize(&r.id, &r.exec_id, r.width, r.height)
            .await?;
        Ok(Response::new(()))
    }

    async fn close_io(&self, req: Request<api::CloseIoRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        self.task.close_io(&r.id, &r.exec_id, r.stdin).await?;
        Ok(Response::new(()))
    }

    async fn update(&self, req: Request<api::UpdateTaskRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        self.task.update(&r.id, r.resources).await?;
        Ok(Response::new(()))
    }

    async fn wait(
        &self,
        req: Request<api::WaitRequest>,
    ) -> Result<Response<api::WaitResponse>, Status> {
        let r = req.into_inner();
        let exit = self.task.wait(&r.id, &r.exec_id).await?;
        Ok(Response::new(api::WaitResponse {
            exit_status: exit.status,
            exited_at: ts(exit.at),
        }))
    }

    async fn stats(
        &self,
        req: Request<api::StatsRequest>,
    ) -> Result<Response<api::StatsResponse>, Status> {
        let stats = self.task.stats(&req.into_inner().id).await?;
        Ok(Response::new(api::StatsResponse {
            stats: Some(crate::metrics::from_runtime_stats(&stats)),
        }))
    }

    async fn connect(
        &self,
        _req: Request<api::ConnectRequest>,
    ) -> Result<Response<api::ConnectResponse>, Status> {
        Ok(Response::new(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid: self.task.init_pid().await,
            version: "2".into(),
        }))
    }

    async fn shutdown(&self, req: Request<api::ShutdownRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        // As containerd's shim: only go once the task is gone (or when told to, now).
        if r.now || self.task.done().await {
            self.task.shutdown.notify_one();
        }
        Ok(Response::new(()))
    }
}
