//! One container's task: its init process and its exec'd processes, their states and
//! exits, the events they produce, and the runtime commands behind each operation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use myproto::containerd::events::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIo, TaskOom, TaskPaused,
    TaskResumed, TaskStart,
};
use myproto::containerd::types::Mount;
use myproto::containerd::v1::types::Status;
use tokio::sync::{Mutex, Notify, watch};

use crate::error::{Error, Result};
use crate::io::{LogContext, PreparedStdio, Stdio, StdioConfig};
use crate::publisher::Publisher;
use crate::reaper::{Exit, Reaper};
use crate::rootfs;
use crate::runtime_cli::{CreateOpts, ExecOpts, Runtime};

/// How long an exited process's output may take to reach its client before the exit is
/// reported anyway (a background process can hold the output pipe open forever).
const DRAIN: Duration = Duration::from_secs(2);

/// Where the shim lives and whom it reports to.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    pub id: String,
    pub namespace: String,
    pub bundle: PathBuf,
    /// The runtime's `--root` before the namespace is appended (containerd's default is
    /// /run/containerd/runc; ours is under mycontainerd's state dir).
    pub runtime_root: PathBuf,
    /// Directory of the shim's socket; console sockets go there too (short paths).
    pub socket_dir: PathBuf,
    pub socket_stem: String,
}

struct Proc {
    exec_id: String,
    pid: u32,
    status: Status,
    stdio_config: StdioConfig,
    stdio: Stdio,
    exited: watch::Sender<Option<Exit>>,
    /// The OCI process (JSON) of an exec.
    spec: Option<Vec<u8>>,
}

impl Proc {
    fn new(exec_id: &str, stdio_config: StdioConfig, spec: Option<Vec<u8>>) -> Proc {
        Proc {
            exec_id: exec_id.to_string(),
            pid: 0,
            status: Status::Created,
            stdio_config,
            stdio: Stdio::default(),
            exited: watch::channel(None).0,
            spec,
        }
    }

    fn exit(&self) -> Option<Exit> {
        *self.exited.borrow()
    }
}

#[derive(Default)]
struct State {
    runtime: Option<Arc<Runtime>>,
    init: Option<Proc>,
    execs: HashMap<String, Proc>,
    rootfs_mounted: bool,
    deleted: bool,
    oom_kills: u64,
}

pub struct Task {
    cfg: ShimConfig,
    reaper: Reaper,
    publisher: Publisher,
    state: Mutex<State>,
    /// Fired by Shutdown once the task is gone: the shim exits.
    pub shutdown: Notify,
}

pub struct CreateRequest {
    pub rootfs: Vec<Mount>,
    pub stdio: StdioConfig,
    pub options: Option<prost_types::Any>,
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

fn validate_exec_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 76
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || id.starts_with('.')
    {
        return Err(Error::InvalidArgument(format!("invalid exec id {id:?}")));
    }
    Ok(())
}

/// The memory cgroup's count of OOM kills for a process's cgroup.
fn oom_kills_of(pid: u32) -> u64 {
    let Ok(cg) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return 0;
    };
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let (file, key) = if ctrls.split(',').any(|c| c == "memory") {
            (
                format!("/sys/fs/cgroup/memory{path}/memory.oom_control"),
                "oom_kill",
            )
        } else if ctrls.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            (format!("/sys/fs/cgroup{path}/memory.events"), "oom_kill")
        } else {
            continue;
        };
        if let Ok(text) = std::fs::read_to_string(file) {
            for l in text.lines() {
                if let Some(v) = l.strip_prefix(key).map(str::trim) {
                    return v.parse().unwrap_or(0);
                }
            }
        }
    }
    0
}

impl Task {
    pub fn new(cfg: ShimConfig, reaper: Reaper, publisher: Publisher) -> Arc<Task> {
        Arc::new(Task {
            cfg,
            reaper,
            publisher,
            state: Mutex::new(State::default()),
            shutdown: Notify::new(),
        })
    }

    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    fn log_context(&self) -> LogContext<'_> {
        LogContext {
            container_id: &self.cfg.id,
            namespace: &self.cfg.namespace,
        }
    }

    fn console_path(&self, exec_id: &str) -> PathBuf {
        let n = if exec_id.is_empty() {
            "init".to_string()
        } else {
            format!("e{:x}", fxhash(exec_id))
        };
        self.cfg
            .socket_dir
            .join(format!("{}-{n}.pty", self.cfg.socket_stem))
    }

    fn check_id(&self, id: &str) -> Result<()> {
        if id != self.cfg.id {
            return Err(Error::ProcessNotFound(id.to_string()));
        }
        Ok(())
    }

    fn runtime_from(&self, options: Option<&prost_types::Any>) -> Result<(Runtime, bool, bool)> {
        runtime_from(&self.cfg, &self.reaper, options)
    }

    pub async fn create(self: &Arc<Self>, id: &str, req: CreateRequest) -> Result<u32> {
        self.check_id(id)?;
        let mut st = self.state.lock().await;
        if st.init.is_some() {
            return Err(Error::ProcessExists(id.to_string()));
        }
        let (runtime, no_pivot, no_new_keyring) = self.runtime_from(req.options.as_ref())?;
        // Kept for `mycontainerd-shim delete`, which must find the same runtime later.
        if let Some(o) = &req.options {
            let path = self.cfg.bundle.join("options.pb");
            std::fs::write(&path, prost::Message::encode_to_vec(o))
                .map_err(|e| Error::io("writing", &path, e))?;
        }
        let rootfs_dir = self.cfg.bundle.join("rootfs");
        if !req.rootfs.is_empty() {
            rootfs::mount_all(&req.rootfs, &rootfs_dir)?;
            st.rootfs_mounted = true;
        }
        let result = self
            .create_init(&runtime, &req, no_pivot, no_new_keyring)
            .await;
        let (proc, since) = match result {
            Ok(p) => p,
            Err(e) => {
                if st.rootfs_mounted {
                    rootfs::unmount(&rootfs_dir);
                    st.rootfs_mounted = false;
                }
                return Err(e);
            }
        };
        let pid = proc.pid;
        st.runtime = Some(Arc::new(runtime));
        st.init = Some(proc);
        drop(st);
        self.watch_exit(String::new(), pid, since);
        self.publisher.publish(
            "/tasks/create",
            &TaskCreate {
                container_id: id.to_string(),
                bundle: self.cfg.bundle.display().to_string(),
                rootfs: req.rootfs,
                io: Some(TaskIo {
                    stdin: req.stdio.stdin.clone(),
                    stdout: req.stdio.stdout.clone(),
                    stderr: req.stdio.stderr.clone(),
                    terminal: req.stdio.terminal,
                }),
                checkpoint: String::new(),
                pid,
            },
        );
        Ok(pid)
    }

    async fn create_init(
        &self,
        runtime: &Runtime,
        req: &CreateRequest,
        no_pivot: bool,
        no_new_keyring: bool,
    ) -> Result<(Proc, Instant)> {
        let prepared = PreparedStdio::prepare(
            req.stdio.clone(),
            self.console_path(""),
            &self.log_context(),
        )?;
        let pid_file = self.cfg.bundle.join("init.pid");
        let console = prepared.console.as_ref().map(|c| c.path.clone());
        let since = Instant::now();
        let (io, rest) = split_prepared(prepared);
        runtime
            .create(
                &self.cfg.id,
                CreateOpts {
                    bundle: &self.cfg.bundle,
                    pid_file: &pid_file,
                    console_socket: console.as_deref(),
                    no_pivot,
                    no_new_keyring,
                },
                io,
            )
            .await?;
        let pid = read_pid(&pid_file)?;
        let mut proc = Proc::new("", req.stdio.clone(), None);
        proc.pid = pid;
        match rest.finish() {
            Ok(stdio) => proc.stdio = stdio,
            Err(e) => {
                let _ = runtime.delete(&self.cfg.id, true).await;
                return Err(e);
            }
        }
        Ok((proc, since))
    }

    /// Reaps `pid` in the background and reports its exit.
    fn watch_exit(self: &Arc<Self>, exec_id: String, pid: u32, since: Instant) {
        let exited = self.reaper.claim(pid as i32, since);
        let task = self.clone();
        tokio::spawn(async move {
            let Ok(exit) = exited.await else { return };
            task.on_exit(&exec_id, pid, exit).await;
        });
    }

    async fn on_exit(&self, exec_id: &str, pid: u32, exit: Exit) {
        // Taking the output handles waits for a Start still publishing its event, so
        // TaskExit always follows TaskStart.
        let mut stdio = {
            let mut st = self.state.lock().await;
            let Some(p) = find_mut(&mut st, exec_id) else {
                return;
            };
            std::mem::take(&mut p.stdio)
        };
        stdio.drain(DRAIN).await;
        let mut st = self.state.lock().await;
        if exec_id.is_empty() {
            let kills = oom_kills_of(pid).max(st.oom_kills);
            if kills > st.oom_kills {
                st.oom_kills = kills;
                self.publisher.publish(
                    "/tasks/oom",
                    &TaskOom {
                        container_id: self.cfg.id.clone(),
                    },
                );
            }
        }
        let Some(p) = find_mut(&mut st, exec_id) else {
            return;
        };
        p.status = Status::Stopped;
        p.stdio.master = stdio.master.take();
        self.publisher.publish(
            "/tasks/exit",
            &TaskExit {
                container_id: self.cfg.id.clone(),
                id: if exec_id.is_empty() {
                    self.cfg.id.clone()
                } else {
                    exec_id.to_string()
                },
                pid,
                exit_status: exit.status,
                exited_at: Some(timestamp(exit.at)),
            },
        );
        p.exited.send_replace(Some(exit));
    }

    fn runtime(st: &State) -> Result<Arc<Runtime>> {
        st.runtime
            .clone()
            .ok_or_else(|| Error::FailedPrecondition("the task is not created".into()))
    }

    pub async fn start(self: &Arc<Self>, id: &str, exec_id: &str) -> Result<u32> {
        self.check_id(id)?;
        let mut st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        if exec_id.is_empty() {
            let init = st
                .init
                .as_mut()
                .ok_or_else(|| Error::ProcessNotFound(id.to_string()))?;
            if init.status != Status::Created {
                return Err(Error::FailedPrecondition(format!(
                    "task {id} is not in the created state"
                )));
            }
            runtime.start(&self.cfg.id).await?;
            // It may already have exited; the exit watcher reports that after this.
            if init.exit().is_none() {
                init.status = Status::Running;
            }
            let pid = init.pid;
            self.publisher.publish(
                "/tasks/start",
                &TaskStart {
                    container_id: id.to_string(),
                    pid,
                },
            );
            return Ok(pid);
        }
        let proc = st
            .execs
            .get_mut(exec_id)
            .ok_or_else(|| Error::ProcessNotFound(exec_id.to_string()))?;
        if proc.status != Status::Created || proc.pid != 0 {
            return Err(Error::FailedPrecondition(format!(
                "exec {exec_id} was already started"
            )));
        }
        let spec_path = self.cfg.bundle.join(format!("exec-{exec_id}.json"));
        let pid_file = self.cfg.bundle.join(format!("exec-{exec_id}.pid"));
        std::fs::write(&spec_path, proc.spec.as_deref().unwrap_or_default())
            .map_err(|e| Error::io("writing", &spec_path, e))?;
        let prepared = PreparedStdio::prepare(
            proc.stdio_config.clone(),
            self.console_path(exec_id),
            &self.log_context(),
        )?;
        let console = prepared.console.as_ref().map(|c| c.path.clone());
        let (io, rest) = split_prepared(prepared);
        let since = Instant::now();
        let result = runtime
            .exec(
                &self.cfg.id,
                ExecOpts {
                    process_json: &spec_path,
                    pid_file: &pid_file,
                    console_socket: console.as_deref(),
                },
                io,
            )
            .await;
        let _ = std::fs::remove_file(&spec_path);
        result?;
        let pid = read_pid(&pid_file)?;
        let _ = std::fs::remove_file(&pid_file);
        proc.pid = pid;
        proc.status = Status::Running;
        proc.stdio = rest.finish()?;
        drop(st);
        self.watch_exit(exec_id.to_string(), pid, since);
        self.publisher.publish(
            "/tasks/exec-started",
            &TaskExecStarted {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
                pid,
            },
        );
        Ok(pid)
    }

    pub async fn exec(
        &self,
        id: &str,
        exec_id: &str,
        stdio: StdioConfig,
        spec: Option<prost_types::Any>,
    ) -> Result<()> {
        self.check_id(id)?;
        validate_exec_id(exec_id)?;
        let mut st = self.state.lock().await;
        match st.init.as_ref().map(|p| p.status) {
            Some(Status::Running) | Some(Status::Paused) => {}
            _ => {
                return Err(Error::FailedPrecondition(format!(
                    "task {id} is not running"
                )));
            }
        }
        if st.execs.contains_key(exec_id) {
            return Err(Error::ProcessExists(exec_id.to_string()));
        }
        let spec =
            spec.ok_or_else(|| Error::InvalidArgument("exec needs a process spec".into()))?;
        st.execs.insert(
            exec_id.to_string(),
            Proc::new(exec_id, stdio, Some(spec.value)),
        );
        drop(st);
        self.publisher.publish(
            "/tasks/exec-added",
            &TaskExecAdded {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
            },
        );
        Ok(())
    }

    pub async fn kill(&self, id: &str, exec_id: &str, signal: u32, all: bool) -> Result<()> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        if exec_id.is_empty() {
            let init = st
                .init
                .as_ref()
                .ok_or_else(|| Error::ProcessNotFound(id.to_string()))?;
            if init.status == Status::Stopped && !all {
                return Err(Error::ProcessNotFound(format!(
                    "{id}: process already finished"
                )));
            }
            drop(st);
            return runtime.kill(&self.cfg.id, signal, all).await;
        }
        let p = st
            .execs
            .get(exec_id)
            .ok_or_else(|| Error::ProcessNotFound(exec_id.to_string()))?;
        if p.status != Status::Running || p.pid == 0 {
            return Err(Error::ProcessNotFound(format!(
                "{exec_id}: process not running"
            )));
        }
        let sig = nix::sys::signal::Signal::try_from(signal as i32).ok();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid as i32), sig)
            .map_err(|e| Error::sys(format!("signalling exec {exec_id}"), e))
    }

    pub async fn delete(&self, id: &str, exec_id: &str) -> Result<(u32, Exit)> {
        self.check_id(id)?;
        let mut st = self.state.lock().await;
        if !exec_id.is_empty() {
            let p = st
                .execs
                .get(exec_id)
                .ok_or_else(|| Error::ProcessNotFound(exec_id.to_string()))?;
            if p.status == Status::Running {
                return Err(Error::FailedPrecondition(format!(
                    "exec {exec_id} is still running"
                )));
            }
            let p = st.execs.remove(exec_id).expect("checked above");
            let exit = p.exit().unwrap_or(Exit {
                status: 0,
                at: SystemTime::now(),
            });
            return Ok((p.pid, exit));
        }
        let runtime = Self::runtime(&st)?;
        let init = st
            .init
            .as_ref()
            .ok_or_else(|| Error::ProcessNotFound(id.to_string()))?;
        let status = init.status;
        if matches!(status, Status::Running | Status::Paused) {
            return Err(Error::FailedPrecondition(format!(
                "task {id} must be stopped before deletion: {}",
                status.as_str_name().to_lowercase()
            )));
        }
        let pid = init.pid;
        let mut exited = init.exited.subscribe();
        // A created task that never ran: the runtime kills its waiting init.
        runtime
            .delete(&self.cfg.id, status == Status::Created)
            .await?;
        if status == Status::Created {
            drop(st);
            let _ = tokio::time::timeout(Duration::from_secs(5), exited.wait_for(|e| e.is_some()))
                .await;
            st = self.state.lock().await;
        }
        if st.rootfs_mounted {
            rootfs::unmount(&self.cfg.bundle.join("rootfs"));
            st.rootfs_mounted = false;
        }
        let exit = st.init.as_ref().and_then(|p| p.exit()).unwrap_or(Exit {
            status: 255,
            at: SystemTime::now(),
        });
        st.deleted = true;
        st.execs.clear();
        self.publisher.publish(
            "/tasks/delete",
            &TaskDelete {
                container_id: id.to_string(),
                pid,
                exit_status: exit.status,
                exited_at: Some(timestamp(exit.at)),
                id: id.to_string(),
            },
        );
        Ok((pid, exit))
    }

    pub async fn state(
        &self,
        id: &str,
        exec_id: &str,
    ) -> Result<myproto::containerd::task::v2::StateResponse> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let p = find(&st, exec_id).ok_or_else(|| {
            Error::ProcessNotFound(if exec_id.is_empty() { id } else { exec_id }.to_string())
        })?;
        let exit = p.exit();
        Ok(myproto::containerd::task::v2::StateResponse {
            id: if exec_id.is_empty() {
                id.to_string()
            } else {
                exec_id.to_string()
            },
            bundle: self.cfg.bundle.display().to_string(),
            pid: p.pid,
            status: p.status as i32,
            stdin: p.stdio_config.stdin.clone(),
            stdout: p.stdio_config.stdout.clone(),
            stderr: p.stdio_config.stderr.clone(),
            terminal: p.stdio_config.terminal,
            exit_status: exit.map(|e| e.status).unwrap_or(0),
            exited_at: exit.map(|e| timestamp(e.at)),
            exec_id: p.exec_id.clone(),
        })
    }

    /// Waits for a process to exit.
    pub async fn wait(&self, id: &str, exec_id: &str) -> Result<Exit> {
        self.check_id(id)?;
        let mut rx = {
            let st = self.state.lock().await;
            find(&st, exec_id)
                .ok_or_else(|| {
                    Error::ProcessNotFound(
                        if exec_id.is_empty() { id } else { exec_id }.to_string(),
                    )
                })?
                .exited
                .subscribe()
        };
        let exit = rx
            .wait_for(|e| e.is_some())
            .await
            .map_err(|_| Error::ProcessNotFound(exec_id.to_string()))?;
        Ok(exit.expect("waited for Some"))
    }

    pub async fn pids(&self, id: &str) -> Result<Vec<(u32, String)>> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        let execs: HashMap<u32, String> = st
            .execs
            .values()
            .filter(|p| p.pid != 0)
            .map(|p| (p.pid, p.exec_id.clone()))
            .collect();
        drop(st);
        let pids = runtime.ps(&self.cfg.id).await?;
        Ok(pids
            .into_iter()
            .map(|p| (p, execs.get(&p).cloned().unwrap_or_default()))
            .collect())
    }

    pub async fn pause(&self, id: &str, pause: bool) -> Result<()> {
        self.check_id(id)?;
        let mut st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        if pause {
            runtime.pause(&self.cfg.id).await?;
        } else {
            runtime.resume(&self.cfg.id).await?;
        }
        if let Some(init) = st.init.as_mut()
            && init.status != Status::Stopped
        {
            init.status = if pause {
                Status::Paused
            } else {
                Status::Running
            };
        }
        if pause {
            self.publisher.publish(
                "/tasks/paused",
                &TaskPaused {
                    container_id: id.to_string(),
                },
            );
        } else {
            self.publisher.publish(
                "/tasks/resumed",
                &TaskResumed {
                    container_id: id.to_string(),
                },
            );
        }
        Ok(())
    }

    pub async fn close_io(&self, id: &str, exec_id: &str, stdin: bool) -> Result<()> {
        self.check_id(id)?;
        let mut st = self.state.lock().await;
        let p = find_mut(&mut st, exec_id)
            .ok_or_else(|| Error::ProcessNotFound(exec_id.to_string()))?;
        if stdin {
            p.stdio.close_stdin();
        }
        Ok(())
    }

    pub async fn resize(&self, id: &str, exec_id: &str, width: u32, height: u32) -> Result<()> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let p = find(&st, exec_id).ok_or_else(|| Error::ProcessNotFound(exec_id.to_string()))?;
        p.stdio.resize(width, height)
    }

    pub async fn update(&self, id: &str, resources: Option<prost_types::Any>) -> Result<()> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        drop(st);
        let res =
            resources.ok_or_else(|| Error::InvalidArgument("update needs resources".into()))?;
        runtime.update(&self.cfg.id, res.value).await
    }

    pub async fn stats(&self, id: &str) -> Result<serde_json::Value> {
        self.check_id(id)?;
        let st = self.state.lock().await;
        let runtime = Self::runtime(&st)?;
        drop(st);
        runtime.stats(&self.cfg.id).await
    }

    pub async fn init_pid(&self) -> u32 {
        self.state
            .lock()
            .await
            .init
            .as_ref()
            .map(|p| p.pid)
            .unwrap_or(0)
    }

    /// Whether the shim has nothing left to do (its task was deleted, or never created).
    pub async fn done(&self) -> bool {
        let st = self.state.lock().await;
        st.deleted || st.init.is_none()
    }

    /// `mycontainerd-shim delete`: clean up after a shim that died, from the bundle alone.
    pub async fn cleanup_dead(cfg: ShimConfig, reaper: Reaper) -> Result<Exit> {
        let options = std::fs::read(cfg.bundle.join("options.pb"))
            .ok()
            .and_then(|b| <prost_types::Any as prost::Message>::decode(b.as_slice()).ok());
        let (runtime, _, _) = runtime_from(&cfg, &reaper, options.as_ref())?;
        if let Err(e) = runtime.delete(&cfg.id, true).await {
            tracing::warn!("runtime delete --force {}: {e}", cfg.id);
        }
        rootfs::unmount(&cfg.bundle.join("rootfs"));
        Ok(Exit {
            status: 137,
            at: SystemTime::now(),
        })
    }
}

/// Builds the runtime from the runc options the client sent (BinaryName, Root, ...).
fn runtime_from(
    cfg: &ShimConfig,
    reaper: &Reaper,
    options: Option<&prost_types::Any>,
) -> Result<(Runtime, bool, bool)> {
    use myproto::containerd::runc::v1::Options;
    let opts = match options {
        Some(any) if myproto::type_url::is::<Options>(any) => {
            myproto::type_url::unpack::<Options>(any)
                .map_err(|e| Error::InvalidArgument(format!("runtime options: {e}")))?
        }
        _ => Options::default(),
    };
    let binary = if opts.binary_name.is_empty() {
        default_runtime()
    } else {
        PathBuf::from(&opts.binary_name)
    };
    let root = if opts.root.is_empty() {
        cfg.runtime_root.clone()
    } else {
        PathBuf::from(&opts.root)
    };
    let runtime = Runtime::new(
        binary,
        root.join(&cfg.namespace),
        cfg.bundle.join("log.json"),
        opts.systemd_cgroup,
        reaper.clone(),
    );
    Ok((runtime, opts.no_pivot_root, opts.no_new_keyring))
}

/// myrunc beside the shim's own binary when it is there (a build or install directory),
/// else whatever `myrunc` PATH finds.
fn default_runtime() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("myrunc")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("myrunc"))
}

/// Splits prepared stdio into what the runtime gets now and what is finished later.
fn split_prepared(mut p: PreparedStdio) -> (crate::runtime_cli::ProcessIo, PreparedStdio) {
    let io = std::mem::take(&mut p.container);
    (io, p)
}

fn find<'a>(st: &'a State, exec_id: &str) -> Option<&'a Proc> {
    if exec_id.is_empty() {
        st.init.as_ref()
    } else {
        st.execs.get(exec_id)
    }
}

fn find_mut<'a>(st: &'a mut State, exec_id: &str) -> Option<&'a mut Proc> {
    if exec_id.is_empty() {
        st.init.as_mut()
    } else {
        st.execs.get_mut(exec_id)
    }
}

fn read_pid(path: &Path) -> Result<u32> {
    let s = std::fs::read_to_string(path).map_err(|e| Error::io("reading pid file", path, e))?;
    s.trim()
        .parse()
        .map_err(|_| Error::FailedPrecondition(format!("bad pid file {}: {s:?}", path.display())))
}

/// A short stable hash for names (FNV-1a).
pub fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_ids() {
        assert!(validate_exec_id("exec-1_a.b").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(77)] {
            assert!(validate_exec_id(bad).is_err(), "{bad}");
        }
    }
}
