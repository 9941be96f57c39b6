//! Execs: extra processes in a running container. Their stdio are FIFOs the engine
//! makes under the exec root and copies to the client itself; the exit arrives as a
//! `/tasks/exit` event with the exec's ID.

use std::sync::{Arc, Mutex};

use engine_api::exec::{ExecConfig, ExecInspect, ProcessConfig};
use myproto::containerd::services::containers::v1::GetContainerRequest;
use myproto::containerd::services::tasks::v1::{
    DeleteProcessRequest, ExecProcessRequest, ResizePtyRequest, StartRequest,
};
use prost_types::Any;
use tokio::net::unix::pipe;
use tokio::sync::watch;

use super::containers::{open_fifo_reader, open_fifo_writer};
use super::{Daemon, random_id};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
struct ExecState {
    started: bool,
    running: bool,
    pid: u32,
    exit_code: Option<i64>,
}

pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    state: Mutex<ExecState>,
    /// Set to the exit code when the process has exited.
    done: watch::Sender<Option<i64>>,
}

/// The engine's ends of an exec's stdio.
pub struct ExecIo {
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    /// Fires with the exit code.
    pub done: watch::Receiver<Option<i64>>,
}

impl Exec {
    pub fn inspect(&self) -> ExecInspect {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let cmd = self.config.cmd.clone().unwrap_or_default();
        ExecInspect {
            id: self.id.clone(),
            running: s.running,
            exit_code: s.exit_code,
            process_config: ProcessConfig {
                privileged: self.config.privileged,
                user: self.config.user.clone(),
                tty: self.config.tty,
                entrypoint: cmd.first().cloned().unwrap_or_default(),
                arguments: cmd.get(1..).unwrap_or_default().to_vec(),
            },
            open_stdin: self.config.attach_stdin,
            open_stderr: self.config.attach_stderr,
            open_stdout: self.config.attach_stdout,
            can_remove: false,
            container_id: self.container_id.clone(),
            detach_keys: self.config.detach_keys.clone(),
            pid: i64::from(s.pid),
        }
    }
}

impl Daemon {
    /// `POST /containers/{id}/exec`.
    pub fn create_exec(&self, container: &str, config: ExecConfig) -> Result<String> {
        let c = self.find_container(container)?;
        if !c.is_running() {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if c.record().state.paused {
            return Err(Error::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            return Err(Error::BadParameter("No exec command specified".into()));
        }
        if config.privileged {
            return Err(Error::NotImplemented("privileged exec".into()));
        }
        if let Some(size) = config.console_size {
            super::spec::validate_console_size(size)
                .map_err(|e| Error::BadParameter(e.to_string()))?;
        }
        let id = random_id();
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: c.id.clone(),
            config,
            state: Mutex::new(ExecState::default()),
            done: watch::channel(None).0,
        });
        self.container_event(
            &c,
            &super::publish::exec_action(
                "exec_create",
                exec.config.cmd.as_deref().unwrap_or_default(),
            ),
            &[("execID", id.clone())],
        );
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), exec);
        Ok(id)
    }

    pub fn find_exec(&self, id: &str) -> Result<Arc<Exec>> {
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("No such exec instance: {id}")))
    }

    /// `POST /exec/{id}/start`: starts the process; with `attach`, the FIFOs of the
    /// streams the exec asked for are returned for the caller to copy.
    pub async fn start_exec(
        &self,
        exec: &Arc<Exec>,
        attach: bool,
        console_size: Option<[u64; 2]>,
    ) -> Result<ExecIo> {
        if let Some(size) = console_size {
            super::spec::validate_console_size(size)
                .map_err(|e| Error::BadParameter(e.to_string()))?;
        }
        {
            let mut s = exec.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.started {
                return Err(Error::Conflict(format!(
                    "Error: Exec command {} has already run",
                    exec.id
                )));
            }
            s.started = true;
        }
        let c = self
            .container_by_id(&exec.container_id)
            .ok_or_else(|| Error::no_such_container(&exec.container_id))?;
        if !c.is_running() {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        self.container_event(
            &c,
            &super::publish::exec_action(
                "exec_start",
                exec.config.cmd.as_deref().unwrap_or_default(),
            ),
            &[("execID", exec.id.clone())],
        );
        let process = self
            .exec_process(exec, c.record().state.pid, console_size)
            .await?;
        let dir = self.fifo_dir(&c.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let cfg = &exec.config;
        let mut io = ExecIo {
            stdin: None,
            stdout: None,
            stderr: None,
            done: exec.done.subscribe(),
        };
        let mut paths = [String::new(), String::new(), String::new()];
        if attach {
            if cfg.attach_stdin {
                let p = dir.join(format!("{}-stdin", exec.id));
                io.stdin = Some(open_fifo_writer(&p)?);
                paths[0] = p.display().to_string();
            }
            if cfg.attach_stdout {
                let p = dir.join(format!("{}-stdout", exec.id));
                io.stdout = Some(open_fifo_reader(&p)?);
                paths[1] = p.display().to_string();
            }
            if cfg.attach_stderr && !cfg.tty {
                let p = dir.join(format!("{}-stderr", exec.id));
                io.stderr = Some(open_fifo_reader(&p)?);
                paths[2] = p.display().to_string();
            }
        }
        let [stdin, stdout, stderr] = paths;
        let tasks = self.containerd.tasks();
        let spec = serde_json::to_vec(&process).map_err(|e| Error::Spec(e.to_string()))?;
        tasks
            .clone()
            .exec(self.containerd.request(ExecProcessRequest {
                container_id: c.id.clone(),
                stdin,
                stdout,
                stderr,
                terminal: cfg.tty,
                spec: Some(Any {
                    type_url: myproto::type_url::PROCESS.into(),
                    value: spec,
                }),
                exec_id: exec.id.clone(),
            }))
            .await
            .map_err(|s| {
                self.forget_exec_files(&exec.container_id, &exec.id);
                Error::rpc("creating the exec process", s)
            })?;
        let started = tasks
            .clone()
            .start(self.containerd.request(StartRequest {
                container_id: c.id.clone(),
                exec_id: exec.id.clone(),
            }))
            .await;
        match started {
            Ok(r) => {
                let mut s = exec.state.lock().unwrap_or_else(|e| e.into_inner());
                s.running = true;
                s.pid = r.into_inner().pid;
            }
            Err(status) => {
                let _ = tasks
                    .clone()
                    .delete_process(self.containerd.request(DeleteProcessRequest {
                        container_id: c.id.clone(),
                        exec_id: exec.id.clone(),
                    }))
                    .await;
                self.forget_exec_files(&exec.container_id, &exec.id);
                let (code, client_error) = super::containers::start_error_code(status.message());
                exec.state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .exit_code = Some(code);
                exec.done.send_replace(Some(code));
                return Err(Error::Start {
                    message: status.message().to_owned(),
                    client_error,
                });
            }
        }
        tracing::debug!(exec_id = %exec.id, container_id = %c.id, "exec started");
        Ok(io)
    }

    /// The exec's process spec: the container's process with the exec's command, env,
    /// user, working directory and terminal.
    async fn exec_process(
        &self,
        exec: &Exec,
        container_pid: u32,
        console_size: Option<[u64; 2]>,
    ) -> Result<serde_json::Value> {
        let got = self
            .containerd
            .containers()
            .get(self.containerd.request(GetContainerRequest {
                id: exec.container_id.clone(),
            }))
            .await
            .map_err(|s| Error::rpc("reading the container's spec", s))?;
        let spec_bytes = got
            .into_inner()
            .container
            .and_then(|c| c.spec)
            .map(|s| s.value)
            .unwrap_or_default();
        let spec: serde_json::Value =
            serde_json::from_slice(&spec_bytes).map_err(|e| Error::Spec(e.to_string()))?;
        let mut process = spec["process"].clone();
        let cfg = &exec.config;
        process["args"] = serde_json::json!(cfg.cmd.clone().unwrap_or_default());
        process["terminal"] = serde_json::json!(cfg.tty);
        if let Some([h, w]) = console_size.or(cfg.console_size)
            && h > 0
            && w > 0
        {
            process["consoleSize"] = serde_json::json!({"height": h, "width": w});
        } else if let Some(o) = process.as_object_mut() {
            o.remove("consoleSize");
        }
        let mut env: Vec<String> = process["env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for e in &cfg.env {
            let key = e.split('=').next().unwrap_or_default();
            env.retain(|x| x.split('=').next() != Some(key));
            if e.contains('=') {
                env.push(e.clone());
            }
        }
        if cfg.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        process["env"] = serde_json::json!(env);
        if !cfg.working_dir.is_empty() {
            process["cwd"] = serde_json::json!(cfg.working_dir);
        }
        if !cfg.user.is_empty() {
            let root = std::path::PathBuf::from(format!("/proc/{container_pid}/root"));
            let user_text = cfg.user.clone();
            let user = tokio::task::spawn_blocking(move || {
                myimages::rootfs::numeric_user(&user_text)
                    .map(Ok)
                    .unwrap_or_else(|| myimages::rootfs::lookup_user(&root, &user_text))
            })
            .await
            .map_err(|e| Error::Spec(e.to_string()))?
            .map_err(|e| Error::BadParameter(format!("unable to find user {}: {e}", cfg.user)))?;
            process["user"] = serde_json::json!({
                "uid": user.uid,
                "gid": user.gid,
                "additionalGids": user.additional_gids,
            });
        }
        Ok(process)
    }

    fn forget_exec_files(&self, container_id: &str, exec_id: &str) {
        let dir = self.fifo_dir(container_id);
        for s in ["stdin", "stdout", "stderr"] {
            let _ = std::fs::remove_file(dir.join(format!("{exec_id}-{s}")));
        }
    }

    /// An exec's process exited.
    pub async fn record_exec_exit(&self, exec_id: &str, exit_status: u32) {
        let Ok(exec) = self.find_exec(exec_id) else {
            return;
        };
        {
            let mut s = exec.state.lock().unwrap_or_else(|e| e.into_inner());
            s.running = false;
            s.exit_code = Some(i64::from(exit_status));
        }
        if let Some(c) = self.container_by_id(&exec.container_id) {
            self.container_event(
                &c,
                "exec_die",
                &[
                    ("execID", exec_id.to_owned()),
                    ("exitCode", exit_status.to_string()),
                ],
            );
        }
        exec.done.send_replace(Some(i64::from(exit_status)));
        let _ = self
            .containerd
            .tasks()
            .delete_process(self.containerd.request(DeleteProcessRequest {
                container_id: exec.container_id.clone(),
                exec_id: exec_id.to_owned(),
            }))
            .await;
        self.forget_exec_files(&exec.container_id, exec_id);
        tracing::debug!(exec_id, exit_status, "exec exited");
    }

    /// `POST /exec/{id}/resize`.
    pub async fn resize_exec(&self, exec: &Exec, height: u32, width: u32) -> Result<()> {
        self.containerd
            .tasks()
            .resize_pty(self.containerd.request(ResizePtyRequest {
                container_id: exec.container_id.clone(),
                exec_id: exec.id.clone(),
                width,
                height,
            }))
            .await
            .map_err(|s| Error::rpc("resizing the exec's terminal", s))?;
        Ok(())
    }
}
