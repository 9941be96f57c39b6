//! Containers: create (record, snapshot, containerd container), start (task with the
//! json-file logger), stop/kill, exits seen through events, wait, and removal.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine_api::containers::{CreateRequest, WaitError, WaitResponse};
use myproto::containerd::services::containers::v1::{
    Container as CdContainer, CreateContainerRequest, DeleteContainerRequest, container::Runtime,
};
use myproto::containerd::services::tasks::v1::{
    CreateTaskRequest, DeleteTaskRequest, KillRequest, ResizePtyRequest, StartRequest,
};
use prost_types::Any;
use tokio::net::unix::pipe;
use tokio::sync::watch;

use super::{Daemon, names, now_rfc3339, random_id, signals, spec};
use crate::error::{Error, Result};
use crate::store::{ContainerRecord, Status};

/// containerd's runc shim v2, the runtime every container gets.
pub const RUNTIME: &str = "io.containerd.runc.v2";
/// Docker's default stop timeout, in seconds.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// What waiters watch: bumped on every start, exit and removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watch {
    pub running: bool,
    /// How many exits the engine has recorded since it loaded the container.
    pub exits: u64,
    pub exit_code: i64,
    pub removed: bool,
}

/// `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::BadParameter(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

/// One container, as the engine holds it in memory.
pub struct Container {
    pub id: String,
    record: Mutex<ContainerRecord>,
    /// Serialises start, exit handling, removal and network changes.
    pub(crate) op: tokio::sync::Mutex<()>,
    watch: watch::Sender<Watch>,
    /// Our end of the stdin FIFO (opened read-write, so the shim's open never blocks and
    /// the container sees EOF only on CloseIO).
    stdin: Mutex<Option<Arc<tokio::sync::Mutex<pipe::Sender>>>>,
    /// containerd reported an OOM kill for the current run.
    oom: AtomicBool,
    /// A removal is under way (a second one answers 409, as Docker's).
    removing: AtomicBool,
    /// The restart policy's back-off and pending restart.
    pub(crate) restart: super::restart::RestartState,
}

impl Container {
    pub fn from_record(record: ContainerRecord) -> Container {
        let w = Watch {
            running: record.state.status == Status::Running,
            exits: 0,
            exit_code: record.state.exit_code,
            removed: false,
        };
        Container {
            id: record.id.clone(),
            record: Mutex::new(record),
            op: tokio::sync::Mutex::new(()),
            watch: watch::channel(w).0,
            stdin: Mutex::new(None),
            oom: AtomicBool::new(false),
            removing: AtomicBool::new(false),
            restart: Default::default(),
        }
    }

    /// A copy of the record.
    pub fn record(&self) -> ContainerRecord {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn name(&self) -> String {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .name
            .clone()
    }

    pub fn status(&self) -> Status {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .status
    }

    pub fn is_running(&self) -> bool {
        self.status() == Status::Running
    }

    pub fn is_removing(&self) -> bool {
        self.removing.load(Ordering::SeqCst)
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut ContainerRecord)) -> ContainerRecord {
        let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut r);
        r.clone()
    }

    /// A receiver registered now: a waiter made before a start sees its exit.
    pub fn subscribe(&self) -> watch::Receiver<Watch> {
        self.watch.subscribe()
    }

    /// A [`Waiter`] registered now.
    pub fn waiter(&self) -> Waiter {
        let mut rx = self.watch.subscribe();
        let initial = *rx.borrow_and_update();
        Waiter { rx, initial }
    }

    pub fn stdin_writer(&self) -> Option<Arc<tokio::sync::Mutex<pipe::Sender>>> {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn mark_oom(&self) {
        self.oom.store(true, Ordering::SeqCst);
    }
}

/// A receiver and the state when it was taken: "the next exit" counts from there, not
/// from when the waiting task first runs.
pub struct Waiter {
    rx: watch::Receiver<Watch>,
    initial: Watch,
}

/// Waits for `condition`, counted from when `waiter` was made.
pub async fn wait_for(waiter: Waiter, condition: WaitCondition) -> WaitResponse {
    let Waiter { mut rx, initial } = waiter;
    let done = |w: &Watch| match condition {
        WaitCondition::NotRunning => !w.running,
        WaitCondition::NextExit => w.exits > initial.exits || w.removed,
        WaitCondition::Removed => w.removed,
    };
    let result = rx.wait_for(|w| done(w)).await.map(|w| *w);
    match result {
        Ok(w) => WaitResponse {
            status_code: w.exit_code,
            error: None,
        },
        // The container went away with its sender (removed): report the last code.
        Err(_) => WaitResponse {
            status_code: initial.exit_code,
            error: (condition != WaitCondition::Removed).then(|| WaitError {
                message: "container removed".into(),
            }),
        },
    }
}

/// What create has worked out, for the steps that make the container.
struct CreateParts<'a> {
    /// The request's config (not merged with the image's).
    config: &'a engine_api::containers::Config,
    host_config: &'a engine_api::containers::HostConfig,
    image: &'a super::images::FoundImage,
    runtime_config: &'a myimages::RuntimeConfig,
    hostname: &'a str,
    /// The network namespace the spec joins; `None`: the host's.
    netns_path: Option<&'a Path>,
    /// The volumes claimed for it.
    volumes: &'a [super::volumes::VolumeMount],
}

impl Daemon {
    /// `POST /containers/create`.
    pub async fn create_container(
        &self,
        name: Option<&str>,
        request: CreateRequest,
    ) -> Result<(String, Vec<String>)> {
        let CreateRequest {
            config,
            host_config,
            mut networking_config,
        } = request;
        if config.image.is_empty() {
            return Err(Error::BadParameter(
                "config error: no image specified".into(),
            ));
        }
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(names::validate(n)?),
            None => None,
        };
        let image = self.find_image(&config.image).await?;
        let runtime_config = image.resolved.runtime_config();
        spec::command(&config, &runtime_config).map_err(|e| Error::BadParameter(e.to_string()))?;
        if host_config.memory != 0 && host_config.memory < 6 * 1024 * 1024 {
            return Err(Error::BadParameter(
                "Minimum memory limit allowed is 6MB".into(),
            ));
        }

        spec::validate_console_size(host_config.console_size)
            .map_err(|e| Error::BadParameter(e.to_string()))?;
        let policy = super::restart::Policy::parse(&host_config.restart_policy)?;
        if host_config.auto_remove && policy != super::restart::Policy::No {
            return Err(Error::BadParameter(
                "can't create 'AutoRemove' container with restart policy".into(),
            ));
        }
        // As dockerd: the daemon's --log-opt defaults go under the container's own, the
        // result is stored (inspect shows it), and a bad option is refused now, not at start.
        let mut host_config = host_config;
        let log_config = &mut host_config.log_config;
        let defaults = self
            .config
            .log_opts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (k, v) in &defaults {
            log_config
                .config
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        crate::logger::LogOptions::from_config(&log_config.kind, &log_config.config)
            .map_err(|e| Error::BadParameter(e.0))?;
        log_config.kind = crate::logger::JSON_FILE.into();

        let id = random_id();
        let hostname = spec::hostname(&id, &config, &host_config)
            .map_err(|e| Error::BadParameter(e.to_string()))?;
        let netns_path = self.network_for_create(&id, &host_config, &mut networking_config)?;
        // What inspect shows: the request merged with the image's defaults, as Docker stores it.
        let mut merged = config.clone();
        if merged.hostname.is_empty() {
            merged.hostname = hostname.clone();
        }
        let args = spec::command(&config, &runtime_config).unwrap_or_default();
        if merged.entrypoint.is_none() && !runtime_config.entrypoint.is_empty() {
            merged.entrypoint = Some(runtime_config.entrypoint.clone());
        }
        if merged.cmd.as_ref().is_none_or(Vec::is_empty)
            && merged
                .entrypoint
                .as_ref()
                .is_none_or(|e| e == &runtime_config.entrypoint)
            && !runtime_config.cmd.is_empty()
        {
            merged.cmd = Some(runtime_config.cmd.clone());
        }
        merged.env = spec::environment(&config, &runtime_config, &hostname)
            .into_iter()
            .filter(|e| !e.starts_with("HOSTNAME=") && !e.starts_with("TERM="))
            .collect();
        if merged.working_dir.is_empty() {
            merged.working_dir = runtime_config.working_dir.clone();
        }
        if merged.user.is_empty() {
            merged.user = runtime_config.user.clone();
        }
        if merged.stop_signal.is_empty()
            && let Some(s) = &runtime_config.stop_signal
        {
            merged.stop_signal = s.clone();
        }
        // Checked now: a bad one stored would make every later stop fail.
        if !merged.stop_signal.is_empty() {
            signals::parse(&merged.stop_signal)?;
        }
        let mut labels = runtime_config.labels.clone();
        labels.extend(config.labels.clone());
        merged.labels = labels;
        // The image's volumes join the request's, as Docker merges them.
        if let Some(vols) = image
            .resolved
            .config
            .config()
            .as_ref()
            .and_then(|c| c.volumes().as_ref())
        {
            for v in vols {
                merged.volumes.entry(v.clone()).or_default();
            }
        }

        let _guard = self.create_lock.lock().await;
        let name = match name {
            Some(n) => {
                if let Ok(owner) = self.find_by_exact_name(&n) {
                    return Err(crate::store::name_conflict(&n, &owner));
                }
                n
            }
            None => self.unused_name(),
        };
        let mut record = ContainerRecord {
            id: id.clone(),
            name,
            created: now_rfc3339(),
            config: merged,
            host_config: host_config.clone(),
            image_name: image.record.name.clone(),
            image_id: image.resolved.config_digest.to_string(),
            networking_config,
            path: args.first().cloned().unwrap_or_default(),
            args: args.get(1..).unwrap_or_default().to_vec(),
            ..Default::default()
        };
        if host_config.init == Some(true) {
            record.path = spec::INIT_PATH_IN_CONTAINER.to_owned();
            record.args = std::iter::once("--".to_owned()).chain(args).collect();
        }
        // Claimed until the container is in the map (where removals look for users).
        let volumes = self.claim_volumes(&id, &record.config.volumes, &host_config)?;
        record.volumes = volumes.clone();
        // One durable write, once containerd has the container; the create lock keeps
        // the name ours meanwhile.
        let parts = CreateParts {
            config: &config,
            host_config: &host_config,
            image: &image,
            runtime_config: &runtime_config,
            hostname: &hostname,
            netns_path: netns_path.as_deref(),
            volumes: &volumes,
        };
        let result = match self.create_in_containerd(&mut record, &parts).await {
            Ok(()) => match self.store.put(&record) {
                Ok(()) => {
                    self.insert_container(Arc::new(Container::from_record(record)));
                    tracing::info!(container_id = %id, "container created");
                    if let Some(c) = self.container_by_id(&id) {
                        self.container_event(&c, "create", &[]);
                    }
                    Ok((id.clone(), Vec::new()))
                }
                Err(e) => {
                    self.cleanup_container(&id).await;
                    Err(e)
                }
            },
            Err(e) => {
                self.cleanup_container(&id).await;
                let _ = self.store.delete(&id);
                Err(e)
            }
        };
        self.release_volume_claims(&id);
        if result.is_err() {
            // As Docker, a failed create takes its anonymous volumes with it.
            self.remove_anonymous_volumes(&volumes);
        }
        result
    }

    fn find_by_exact_name(&self, name: &str) -> Result<String> {
        if let Some(id) = self.store.id_of_name(name)? {
            return Ok(id);
        }
        Err(Error::no_such_container(name))
    }

    fn unused_name(&self) -> String {
        let mut retry = 0;
        loop {
            let n = names::generate(if retry > 5 { retry } else { 0 });
            if self.find_by_exact_name(&n).is_err() {
                return n;
            }
            retry += 1;
        }
    }

    async fn create_in_containerd(
        &self,
        record: &mut ContainerRecord,
        parts: &CreateParts<'_>,
    ) -> Result<()> {
        let (host_config, hostname) = (parts.host_config, parts.hostname);
        let id = record.id.clone();
        let dir = self.container_dir(&id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        // The log exists from the start, so an attach made before start follows it.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(&id))
            .map_err(|e| Error::io("creating the log file", e))?;
        let extra = super::etc_files::Extra {
            extra_hosts: host_config.extra_hosts.as_deref().unwrap_or_default(),
            dns: &host_config.dns,
            dns_search: &host_config.dns_search,
            dns_options: &host_config.dns_options,
            ..Default::default()
        };
        super::etc_files::write(&dir, hostname, &host_config.network_mode, &extra)
            .map_err(|e| Error::io("writing /etc files", e))?;

        // Under a lease until the containerd container refers to the snapshot: the
        // garbage collector takes an unreferenced one at any time.
        let leased = self.images.create_lease().await?;
        let result = self.create_leased(&leased, record, parts).await;
        if let Err(e) = leased.delete_lease().await {
            tracing::warn!(container_id = %id, "deleting the create lease: {e}");
        }
        result
    }

    async fn create_leased(
        &self,
        leased: &myimages::Client,
        record: &mut ContainerRecord,
        parts: &CreateParts<'_>,
    ) -> Result<()> {
        let CreateParts {
            config,
            host_config,
            image,
            runtime_config,
            netns_path,
            ..
        } = *parts;
        let id = record.id.clone();
        let dir = self.container_dir(&id);
        let snapshot_labels = BTreeMap::new();
        let mounts = leased
            .prepare_rootfs(&id, &image.resolved, &snapshot_labels)
            .await?;
        self.populate_volumes(&mounts, parts.volumes).await?;
        let user_text = if config.user.is_empty() {
            runtime_config.user.clone()
        } else {
            config.user.clone()
        };
        let mut user = myimages::resolve_user(&mounts, &user_text)
            .await
            .map_err(|e| Error::BadParameter(format!("unable to find user {user_text}: {e}")))?;
        // --group-add names resolve in the image's /etc/group; the spec takes the GIDs.
        if let Some(groups) = host_config.group_add.as_ref().filter(|g| !g.is_empty()) {
            let gids = myimages::resolve_groups(&mounts, groups)
                .await
                .map_err(|e| Error::BadParameter(format!("unable to find group: {e}")))?;
            for gid in gids {
                if !user.additional_gids.contains(&gid) {
                    user.additional_gids.push(gid);
                }
            }
        }
        let cgroup_parent = if host_config.cgroup_parent.is_empty() {
            format!("/{}", self.config.namespace)
        } else {
            host_config.cgroup_parent.clone()
        };
        let volume_binds = self.volume_binds(parts.volumes);
        let spec_input = spec::SpecInput {
            id: &id,
            config,
            host_config,
            image: runtime_config,
            user: &user,
            etc_dir: &dir,
            init_path: &self.config.init_path,
            cgroup_parent: &cgroup_parent,
            netns_path,
        };
        let spec = spec::build_with_volumes(&spec_input, &volume_binds).map_err(spec_error)?;
        record.cgroups_path = spec["linux"]["cgroupsPath"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let spec_bytes = serde_json::to_vec(&spec).map_err(|e| Error::Spec(e.to_string()))?;
        let mut labels: std::collections::HashMap<String, String> = record
            .config
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert("com.docker/engine.bundle.path".into(), String::new());
        labels.retain(|_, v| !v.is_empty());
        let container = CdContainer {
            id: id.clone(),
            labels,
            image: image.record.name.clone(),
            runtime: Some(Runtime {
                name: RUNTIME.into(),
                options: None,
            }),
            spec: Some(Any {
                type_url: myproto::type_url::SPEC.into(),
                value: spec_bytes,
            }),
            snapshotter: self.images.snapshotter().to_owned(),
            snapshot_key: id.clone(),
            ..Default::default()
        };
        self.containerd
            .containers()
            .create(self.containerd.request(CreateContainerRequest {
                container: Some(container),
            }))
            .await
            .map_err(|s| Error::rpc("creating the container in containerd", s))?;
        Ok(())
    }

    /// Removes what create made in containerd and on disk (each step tolerates absence).
    async fn cleanup_container(&self, id: &str) {
        let _ = self
            .containerd
            .tasks()
            .delete(self.containerd.request(DeleteTaskRequest {
                container_id: id.to_owned(),
            }))
            .await;
        if let Err(s) = self
            .containerd
            .containers()
            .delete(
                self.containerd
                    .request(DeleteContainerRequest { id: id.to_owned() }),
            )
            .await
            && s.code() != tonic::Code::NotFound
        {
            tracing::warn!(
                container_id = id,
                "deleting the containerd container: {}",
                s.message()
            );
        }
        if let Err(e) = self.images.remove_snapshot(id).await
            && !e.is_not_found()
        {
            tracing::warn!(container_id = id, "removing the snapshot: {e}");
        }
        for dir in [self.container_dir(id), self.fifo_dir(id)] {
            if let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(container_id = id, "removing {}: {e}", dir.display());
            }
        }
    }

    /// `POST /containers/{id}/start`. An auto-remove container that fails to start is
    /// removed, as Docker does (the CLI waits for that).
    pub async fn start_container(&self, c: &Arc<Container>) -> Result<()> {
        self.restart_policy_reset(c);
        let result = self.start_locked(c).await;
        // Not when it already runs, or when a removal is under way (that one removes it);
        // every other failure, a taken port included, removes an auto-remove container.
        if let Err(e) = &result
            && !matches!(e, Error::NotModified)
            && !c.removing.load(Ordering::SeqCst)
            && !c.is_running()
            && c.record().host_config.auto_remove
            && let Err(e) = self.remove_container(c, true).await
        {
            tracing::warn!(container_id = %c.id, "removing after a failed start: {e}");
        }
        result
    }

    async fn start_locked(&self, c: &Arc<Container>) -> Result<()> {
        let _op = c.op.lock().await;
        self.start_holding_op(c).await
    }

    /// The start itself; the caller holds `c.op`.
    pub(crate) async fn start_holding_op(&self, c: &Arc<Container>) -> Result<()> {
        if c.removing.load(Ordering::SeqCst) {
            return Err(Error::Conflict(format!(
                "removal of container {} is already in progress",
                c.id
            )));
        }
        if c.is_running() {
            return Err(Error::NotModified);
        }
        let record = c.record();
        let id = &c.id;
        if record.state.status == Status::Exited {
            // A task left from the previous run (the exit was recorded without a delete).
            let _ = self
                .containerd
                .tasks()
                .delete(self.containerd.request(DeleteTaskRequest {
                    container_id: id.clone(),
                }))
                .await;
        }
        let mounts = self.images.snapshot_mounts(id).await?;
        let stdin_path = if record.config.open_stdin {
            let dir = self.fifo_dir(id);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            let path = dir.join("init-stdin");
            let writer = open_fifo_writer(&path)?;
            *c.stdin.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Arc::new(tokio::sync::Mutex::new(writer)));
            path.display().to_string()
        } else {
            String::new()
        };
        if let Err(e) = self.start_network(c).await {
            *c.stdin.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return Err(e);
        }
        if let Err(e) = self.mount_volumes(id, &record.volumes) {
            *c.stdin.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.stop_network(c).await;
            return Err(e);
        }
        let log_config = &record.host_config.log_config;
        // Checked at create; a record from before rotation existed gets the defaults.
        let log_opts = crate::logger::LogOptions::from_config(&log_config.kind, &log_config.config)
            .unwrap_or_default();
        let log_uri =
            crate::logger::log_uri(&self.config.engine_exe, &self.log_path(id), &log_opts);
        c.oom.store(false, Ordering::SeqCst);
        let tasks = self.containerd.tasks();
        let created = tasks
            .clone()
            .create(self.containerd.request(CreateTaskRequest {
                container_id: id.clone(),
                rootfs: mounts,
                stdin: stdin_path,
                stdout: log_uri.clone(),
                stderr: log_uri,
                terminal: record.config.tty,
                ..Default::default()
            }))
            .await;
        if let Err(status) = created {
            let _ = tasks
                .clone()
                .delete(self.containerd.request(DeleteTaskRequest {
                    container_id: id.clone(),
                }))
                .await;
            self.stop_network(c).await;
            self.unmount_volumes(id, &record.volumes);
            return Err(self.start_failed(c, status.message()));
        }
        let started = tasks
            .clone()
            .start(self.containerd.request(StartRequest {
                container_id: id.clone(),
                exec_id: String::new(),
            }))
            .await;
        let pid = match started {
            Ok(r) => r.into_inner().pid,
            Err(status) => {
                let _ = tasks
                    .clone()
                    .delete(self.containerd.request(DeleteTaskRequest {
                        container_id: id.clone(),
                    }))
                    .await;
                self.stop_network(c).await;
                self.unmount_volumes(id, &record.volumes);
                return Err(self.start_failed(c, status.message()));
            }
        };
        let record = c.update(|r| {
            r.state.status = Status::Running;
            r.state.pid = pid;
            r.state.exit_code = 0;
            r.state.oom_killed = false;
            r.state.paused = false;
            r.state.restarting = false;
            r.state.error.clear();
            r.state.started_at = now_rfc3339();
            r.state.finished_at.clear();
        });
        self.store.put(&record)?;
        c.watch.send_modify(|w| {
            w.running = true;
            w.exit_code = 0;
        });
        tracing::info!(container_id = %id, pid, "container started");
        self.volume_mounts_event(id, &record.volumes, "mount");
        self.container_event(c, "start", &[]);
        Ok(())
    }

    /// Records a failed start with Docker's exit codes (127: not found, 126: not
    /// executable) and returns the error the client sees.
    fn start_failed(&self, c: &Container, message: &str) -> Error {
        let (code, client_error) = start_error_code(message);
        let record = c.update(|r| {
            r.state.exit_code = code;
            r.state.error = message.to_owned();
        });
        if let Err(e) = self.store.put(&record) {
            tracing::warn!(container_id = %c.id, "{e}");
        }
        *c.stdin.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // Wakes attaches and next-exit waiters: this run is over before it began.
        c.watch.send_modify(|w| {
            w.exit_code = code;
            w.exits += 1;
        });
        Error::Start {
            message: format!("failed to create task for container: {message}"),
            client_error,
        }
    }

    /// The init process of `id` has exited (an event, or reconciliation found it gone):
    /// record it, delete the task, wake waiters, and remove an auto-remove container.
    pub async fn record_exit(
        self: &Arc<Self>,
        c: &Arc<Container>,
        exit_status: u32,
        exited_at: Option<String>,
    ) {
        let restart = {
            let _op = c.op.lock().await;
            if !c.is_running() {
                return;
            }
            let oom = c.oom.load(Ordering::SeqCst) || self.cgroup_oom_killed(&c.record());
            // Docker's order: die, then the network's disconnect and the volumes' unmount.
            self.container_event(
                c,
                "die",
                &[
                    ("exitCode", exit_status.to_string()),
                    (
                        "execDuration",
                        super::publish::exec_duration(&c.record().state.started_at),
                    ),
                ],
            );
            self.stop_network(c).await;
            self.unmount_volumes(&c.id, &c.record().volumes);
            self.volume_mounts_event(&c.id, &c.record().volumes, "unmount");
            let record = c.update(|r| {
                r.state.status = Status::Exited;
                r.state.pid = 0;
                r.state.exit_code = i64::from(exit_status);
                r.state.oom_killed = oom;
                r.state.paused = false;
                r.state.finished_at = exited_at.unwrap_or_else(now_rfc3339);
            });
            // An auto-remove container is deleted next; if we die before that, the
            // reconcile at start finds its task gone and removes it then.
            if !record.host_config.auto_remove
                && let Err(e) = self.store.put(&record)
            {
                tracing::error!(container_id = %c.id, "recording the exit: {e}");
            }
            let restart = self.restart_wanted(c);
            *c.stdin.lock().unwrap_or_else(|e| e.into_inner()) = None;
            // Waiters hear of the exit before the task's (slower) deletion; a start or
            // removal waits for that on the op lock.
            c.watch.send_modify(|w| {
                w.running = false;
                w.exits += 1;
                w.exit_code = i64::from(exit_status);
            });
            let _ = self
                .containerd
                .tasks()
                .delete(self.containerd.request(DeleteTaskRequest {
                    container_id: c.id.clone(),
                }))
                .await;
            tracing::info!(container_id = %c.id, exit_status, oom, "container exited");
            restart
        };
        if let Some(token) = restart {
            self.schedule_restart(c, None, token);
        }
        if c.record().host_config.auto_remove {
            let this = self.clone();
            let c = c.clone();
            tokio::spawn(async move {
                if let Err(e) = this.remove_container(&c, true).await {
                    tracing::warn!(container_id = %c.id, "auto-remove: {e}");
                }
            });
        }
    }

    /// Whether the kernel OOM-killed something in the container's memory cgroup (v1
    /// `memory.oom_control`, v2 `memory.events`), read before the task's cgroup goes.
    fn cgroup_oom_killed(&self, record: &ContainerRecord) -> bool {
        if record.host_config.memory == 0 || record.cgroups_path.is_empty() {
            return false;
        }
        let p = &record.cgroups_path;
        for (file, key) in [
            (
                format!("/sys/fs/cgroup/memory{p}/memory.oom_control"),
                "oom_kill ",
            ),
            (format!("/sys/fs/cgroup{p}/memory.events"), "oom_kill "),
        ] {
            if let Ok(text) = std::fs::read_to_string(&file) {
                return text
                    .lines()
                    .filter_map(|l| l.strip_prefix(key))
                    .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0));
            }
        }
        false
    }

    /// Sends `signal` to the container's init (`all`: every process of the task).
    pub async fn signal_container(&self, c: &Container, signal: u32, all: bool) -> Result<()> {
        self.containerd
            .tasks()
            .kill(self.containerd.request(KillRequest {
                container_id: c.id.clone(),
                exec_id: String::new(),
                signal,
                all,
            }))
            .await
            .map_err(|s| Error::rpc(format!("signalling container {}", c.id), s))?;
        self.container_event(c, "kill", &[("signal", signal.to_string())]);
        self.thaw_after_signal(c, signal).await;
        Ok(())
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill_container(&self, c: &Container, signal: Option<&str>) -> Result<()> {
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => signals::parse(s)?,
            None => libc::SIGKILL as u32,
        };
        if !c.is_running() {
            // Killing a container that waits to be restarted ends the waiting.
            if c.record().state.restarting && self.restart_policy_cancel(c) {
                return Ok(());
            }
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        // As dockerd: the stop signal (any signal when none is set) or SIGKILL means
        // the exit is final for the restart policy.
        let stop_signal = c.record().config.stop_signal;
        if stop_signal.is_empty()
            || signal == libc::SIGKILL as u32
            || signals::parse(&stop_signal).ok() == Some(signal)
        {
            self.restart_policy_cancel(c);
        }
        self.signal_container(c, signal, false).await
    }

    /// `POST /containers/{id}/stop`: the stop signal, then SIGKILL after the timeout.
    pub async fn stop_container(
        &self,
        c: &Container,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        if !c.is_running() {
            if c.record().state.restarting && self.restart_policy_cancel(c) {
                return Ok(());
            }
            return Err(Error::NotModified);
        }
        self.restart_policy_cancel(c);
        let record = c.record();
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => signals::parse(s)?,
            None if !record.config.stop_signal.is_empty() => {
                signals::parse(&record.config.stop_signal)?
            }
            None => libc::SIGTERM as u32,
        };
        let timeout = timeout
            .or(record.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let mut rx = c.subscribe();
        if let Err(e) = self.signal_container(c, signal, false).await
            && !e.is_not_found()
        {
            tracing::debug!(container_id = %c.id, "stop signal: {e}");
        }
        let stopped = |w: &Watch| !w.running;
        if timeout >= 0 {
            let wait = rx.wait_for(stopped);
            if tokio::time::timeout(Duration::from_secs(timeout as u64), wait)
                .await
                .is_ok()
            {
                return Ok(());
            }
            tracing::info!(container_id = %c.id, "stop timeout ({timeout}s): killing");
            let _ = self.signal_container(c, libc::SIGKILL as u32, true).await;
        } else {
            // A negative timeout waits for the exit however long it takes; a closed
            // channel means the container went away, which is stopped too.
            let _ = rx.wait_for(stopped).await;
            return Ok(());
        }
        match tokio::time::timeout(Duration::from_secs(60), rx.wait_for(stopped)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Conflict(format!(
                "container {} did not stop after SIGKILL",
                c.id
            ))),
        }
    }

    /// Removes the container, and its anonymous volumes when it runs with `--rm`.
    pub async fn remove_container(&self, c: &Arc<Container>, force: bool) -> Result<()> {
        let auto_remove = c.record().host_config.auto_remove;
        self.remove_container_with(c, force, auto_remove).await
    }

    /// `DELETE /containers/{id}`; `volumes` (`v`) takes its anonymous volumes too.
    pub async fn remove_container_with(
        &self,
        c: &Arc<Container>,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        let running = || {
            Error::Conflict(format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                c.id
            ))
        };
        if c.record().state.restarting && !force {
            return Err(Error::Conflict(format!(
                "You cannot remove a restarting container {}. Stop the container before attempting removal or force remove",
                c.id
            )));
        }
        if force {
            // A pending restart ends, and the exit the kill below causes is not one to
            // restart.
            c.restart.cancel();
        }
        // The kill and the wait for its exit happen without the op lock (the exit is
        // recorded under it); a start that slips in meanwhile is caught by the check
        // under the lock, and with force killed again.
        let mut attempts = 0;
        let _op = loop {
            if c.is_running() {
                if !force {
                    return Err(running());
                }
                self.kill_for_removal(c).await?;
            }
            let op = c.op.lock().await;
            if !c.is_running() {
                break op;
            }
            if !force {
                return Err(running());
            }
            attempts += 1;
            if attempts >= 3 {
                return Err(Error::Conflict(format!(
                    "could not kill running container {}, cannot remove",
                    c.id
                )));
            }
        };
        if c.watch.borrow().removed {
            return Ok(());
        }
        if c.removing.swap(true, Ordering::SeqCst) {
            return Err(Error::Conflict(format!(
                "removal of container {} is already in progress",
                c.id
            )));
        }
        self.stop_network(c).await;
        self.cleanup_container(&c.id).await;
        if let Err(e) = self.store.delete(&c.id) {
            // Still here and still ours to start or remove again.
            c.removing.store(false, Ordering::SeqCst);
            return Err(e);
        }
        self.forget_container(&c.id);
        c.watch.send_modify(|w| w.removed = true);
        if volumes {
            self.remove_anonymous_volumes(&c.record().volumes);
        }
        tracing::info!(container_id = %c.id, "container removed");
        self.container_event(c, "destroy", &[]);
        Ok(())
    }

    /// SIGKILL and wait (bounded) for the exit to be recorded.
    async fn kill_for_removal(&self, c: &Container) -> Result<()> {
        let mut rx = c.subscribe();
        let _ = self.signal_container(c, libc::SIGKILL as u32, true).await;
        tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|w| !w.running))
            .await
            .map(|_| ())
            .map_err(|_| {
                Error::Conflict(format!(
                    "could not kill running container {}, cannot remove",
                    c.id
                ))
            })
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize_container(&self, c: &Container, height: u32, width: u32) -> Result<()> {
        if !c.is_running() {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        self.containerd
            .tasks()
            .resize_pty(self.containerd.request(ResizePtyRequest {
                container_id: c.id.clone(),
                exec_id: String::new(),
                width,
                height,
            }))
            .await
            .map_err(|s| Error::rpc("resizing the terminal", s))?;
        Ok(())
    }

    /// Closes the container's stdin (the attach's input ended and StdinOnce is set) by
    /// dropping our end of the FIFO: the shim reads what is still in it, then sees EOF
    /// and closes the container's stdin. (CloseIO would race with that data.)
    pub async fn close_stdin(&self, c: &Container) {
        let writer = c.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer {
            // Wait for a write in flight before our reference goes.
            drop(w.lock().await);
        }
        tracing::debug!(container_id = %c.id, "stdin closed");
    }
}

/// Opens (creating) a FIFO for writing without blocking: read-write, so there is always
/// a reader and the shim's open for reading returns at once.
pub fn open_fifo_writer(path: &Path) -> Result<pipe::Sender> {
    make_fifo(path)?;
    pipe::OpenOptions::new()
        .read_write(true)
        .unchecked(true)
        .open_sender(path)
        .map_err(|e| Error::io(format!("opening FIFO {}", path.display()), e))
}

/// Opens (creating) a FIFO for reading, read-write so it never reports EOF on its own.
pub fn open_fifo_reader(path: &Path) -> Result<pipe::Receiver> {
    make_fifo(path)?;
    pipe::OpenOptions::new()
        .read_write(true)
        .unchecked(true)
        .open_receiver(path)
        .map_err(|e| Error::io(format!("opening FIFO {}", path.display()), e))
}

fn make_fifo(path: &Path) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::BadParameter("FIFO path with a NUL byte".into()))?;
    // SAFETY: a valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(Error::io(
            format!("creating FIFO {}", path.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Docker's mapping of a runtime start error to an exit code (moby
/// `translateContainerdStartErr`): 127 for a missing command, 126 for one that cannot
/// be executed, 128 otherwise; the first two are the client's fault (HTTP 400).
pub fn start_error_code(message: &str) -> (i64, bool) {
    let m = message.to_ascii_lowercase();
    if m.contains("executable file not found")
        || m.contains("no such file or directory")
        || m.contains("system cannot find the file specified")
    {
        (127, true)
    } else if m.contains("permission denied")
        || m.contains("is a directory")
        || m.contains("exec format error")
    {
        (126, true)
    } else {
        (128, false)
    }
}

fn spec_error(e: spec::SpecError) -> Error {
    match e {
        spec::SpecError::Io { .. } => Error::Spec(e.to_string()),
        spec::SpecError::NotSupported(_) => Error::NotImplemented(e.to_string()),
        _ => Error::BadParameter(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_map_to_docker_codes() {
        assert_eq!(
            start_error_code("exec: \"nope\": executable file not found in $PATH"),
            (127, true)
        );
        assert_eq!(
            start_error_code("exec /etc/passwd: permission denied"),
            (126, true)
        );
        assert_eq!(start_error_code("cgroup trouble"), (128, false));
    }

    #[tokio::test]
    async fn waiters_see_the_exit_after_them() {
        let c = Container::from_record(ContainerRecord {
            id: "x".into(),
            ..Default::default()
        });
        let next = c.waiter();
        let not_running = c.waiter();
        // Created, never run: not-running is satisfied at once.
        assert_eq!(
            wait_for(not_running, WaitCondition::NotRunning)
                .await
                .status_code,
            0
        );
        let task = tokio::spawn(wait_for(next, WaitCondition::NextExit));
        c.watch.send_modify(|w| w.running = true);
        c.watch.send_modify(|w| {
            w.running = false;
            w.exits += 1;
            w.exit_code = 7;
        });
        assert_eq!(task.await.unwrap().status_code, 7);
        let removed = c.waiter();
        let task = tokio::spawn(wait_for(removed, WaitCondition::Removed));
        c.watch.send_modify(|w| w.removed = true);
        assert_eq!(task.await.unwrap().status_code, 7);
        assert!(WaitCondition::parse("bogus").is_err());
    }
}
