//! Tasks: a shim per container, found again after a restart, cleaned up when it dies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use myproto::containerd::events::{TaskDelete, TaskExit};
use myproto::containerd::services::tasks::v1 as api;
use myproto::containerd::task::v2 as shimapi;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::events::Exchange;
use crate::metadata::Store;
use crate::runtime::shim::{Shim, ShimLaunch};

/// Runtime names served by our shim (containerd's runc shims).
const RUNTIMES: [&str; 2] = ["io.containerd.runc.v2", "io.containerd.runc.v1"];

type Key = (String, String);

pub struct TaskManager {
    launch: ShimLaunch,
    /// `<state>/io.containerd.runtime.v2.task`: one bundle per task, `<ns>/<id>`.
    bundles: PathBuf,
    store: Arc<Store>,
    events: Exchange,
    tasks: Mutex<HashMap<Key, Arc<Shim>>>,
}

fn key(ns: &str, id: &str) -> Key {
    (ns.to_string(), id.to_string())
}

impl TaskManager {
    pub fn new(
        launch: ShimLaunch,
        bundles: PathBuf,
        store: Arc<Store>,
        events: Exchange,
    ) -> Arc<TaskManager> {
        Arc::new(TaskManager {
            launch,
            bundles,
            store,
            events,
            tasks: Mutex::new(HashMap::new()),
        })
    }

    pub fn bundle(&self, ns: &str, id: &str) -> PathBuf {
        self.bundles.join(ns).join(id)
    }

    /// Reconnects to the shims of a previous run; cleans up after those that died.
    pub async fn recover(self: &Arc<Self>) {
        let Ok(namespaces) = std::fs::read_dir(&self.bundles) else {
            return;
        };
        for ns_entry in namespaces.flatten() {
            let ns = ns_entry.file_name().to_string_lossy().into_owned();
            let Ok(ids) = std::fs::read_dir(ns_entry.path()) else {
                continue;
            };
            for id_entry in ids.flatten() {
                let id = id_entry.file_name().to_string_lossy().into_owned();
                let bundle = id_entry.path();
                let shim = match Shim::address_of(&bundle) {
                    Some(sock) => Shim::connect(&ns, &id, &bundle, &sock).await.ok(),
                    None => None,
                };
                match shim {
                    Some(shim) => {
                        tracing::info!(namespace = %ns, container_id = %id, pid = shim.pid, "reconnected to shim");
                        self.adopt(shim).await;
                    }
                    None => {
                        tracing::warn!(namespace = %ns, container_id = %id, "shim is gone; cleaning up");
                        self.clean_up_dead(&ns, &id, &bundle).await;
                    }
                }
            }
        }
    }

    async fn adopt(self: &Arc<Self>, shim: Shim) {
        let shim = Arc::new(shim);
        self.tasks
            .lock()
            .await
            .insert(key(&shim.namespace, &shim.id), shim.clone());
        let mgr = self.clone();
        tokio::spawn(async move {
            Shim::exited(shim.pid).await;
            if shim.retiring() {
                return;
            }
            tracing::warn!(namespace = %shim.namespace, container_id = %shim.id, "shim died");
            let mut tasks = mgr.tasks.lock().await;
            if tasks
                .get(&key(&shim.namespace, &shim.id))
                .is_some_and(|s| Arc::ptr_eq(s, &shim))
            {
                tasks.remove(&key(&shim.namespace, &shim.id));
                drop(tasks);
                mgr.clean_up_dead(&shim.namespace, &shim.id, &shim.bundle)
                    .await;
            }
        });
    }

    /// After a shim's death: the runtime's container is force-deleted, the exit (255, as
    /// nobody saw the real one) and the deletion are published, the bundle removed.
    async fn clean_up_dead(&self, ns: &str, id: &str, bundle: &Path) {
        let _ = self.launch.cleanup_dead(ns, id, bundle).await;
        let now = Some(prost_types::Timestamp::from(SystemTime::now()));
        self.events.publish(
            ns,
            "/tasks/exit",
            &TaskExit {
                container_id: id.to_string(),
                id: id.to_string(),
                pid: 0,
                exit_status: 255,
                exited_at: now,
            },
        );
        self.events.publish(
            ns,
            "/tasks/delete",
            &TaskDelete {
                container_id: id.to_string(),
                pid: 0,
                exit_status: 255,
                exited_at: now,
                id: id.to_string(),
            },
        );
        let _ = std::fs::remove_dir_all(bundle);
    }

    pub async fn get(&self, ns: &str, id: &str) -> Result<Arc<Shim>> {
        self.tasks
            .lock()
            .await
            .get(&key(ns, id))
            .cloned()
            .ok_or_else(|| Error::not_found("task", id))
    }

    pub async fn list(&self, ns: &str) -> Vec<Arc<Shim>> {
        let mut v: Vec<Arc<Shim>> = self
            .tasks
            .lock()
            .await
            .iter()
            .filter(|((n, _), _)| n == ns)
            .map(|(_, s)| s.clone())
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub async fn has_tasks(&self, ns: &str) -> bool {
        self.tasks.lock().await.keys().any(|(n, _)| n == ns)
    }

    pub async fn create(self: &Arc<Self>, ns: &str, req: api::CreateTaskRequest) -> Result<u32> {
        let container = self.store.container(ns, &req.container_id)?;
        let id = container.id.clone();
        if self.tasks.lock().await.contains_key(&key(ns, &id)) {
            return Err(Error::exists("task", &id));
        }
        let runtime = container.runtime.clone().unwrap_or_default();
        if !RUNTIMES.contains(&runtime.name.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "runtime {:?} is not supported (use io.containerd.runc.v2)",
                runtime.name
            )));
        }
        if req.checkpoint.is_some() {
            return Err(Error::Unimplemented("checkpoint/restore".into()));
        }
        let spec = container
            .spec
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument(format!("container {id:?} has no spec")))?;
        let bundle = self.bundle(ns, &id);
        if bundle.exists() {
            let _ = std::fs::remove_dir_all(&bundle);
        }
        std::fs::create_dir_all(bundle.join("rootfs"))
            .map_err(|e| Error::io("creating bundle", &bundle, e))?;
        std::fs::write(bundle.join("config.json"), &spec.value)
            .map_err(|e| Error::io("writing", bundle.join("config.json"), e))?;
        let shim = match self.launch.start(ns, &id, &bundle).await {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&bundle);
                return Err(e);
            }
        };
        let options = req.options.or(runtime.options);
        let created = shim
            .client
            .clone()
            .create(shimapi::CreateTaskRequest {
                id: id.clone(),
                bundle: bundle.display().to_string(),
                rootfs: req.rootfs,
                terminal: req.terminal,
                stdin: req.stdin,
                stdout: req.stdout,
                stderr: req.stderr,
                checkpoint: String::new(),
                parent_checkpoint: String::new(),
                options,
            })
            .await;
        match created {
            Ok(r) => {
                let pid = r.into_inner().pid;
                self.adopt(shim).await;
                Ok(pid)
            }
            Err(status) => {
                shim.retire();
                let _ = shim
                    .client
                    .clone()
                    .shutdown(shimapi::ShutdownRequest {
                        id: id.clone(),
                        now: true,
                    })
                    .await;
                let _ = std::fs::remove_dir_all(&bundle);
                Err(Error::Shim(status))
            }
        }
    }

    /// Deletes the task's init (it must have stopped), then lets its shim go.
    pub async fn delete(&self, ns: &str, id: &str) -> Result<api::DeleteResponse> {
        let shim = self.get(ns, id).await?;
        let r = shim
            .client
            .clone()
            .delete(shimapi::DeleteRequest {
                id: id.to_string(),
                exec_id: String::new(),
            })
            .await?
            .into_inner();
        shim.retire();
        // The shim answers, then exits; the connection may drop before the answer.
        let _ = shim
            .client
            .clone()
            .shutdown(shimapi::ShutdownRequest {
                id: id.to_string(),
                now: false,
            })
            .await;
        self.tasks.lock().await.remove(&key(ns, id));
        let _ = std::fs::remove_dir_all(&shim.bundle);
        Ok(api::DeleteResponse {
            id: id.to_string(),
            pid: r.pid,
            exit_status: r.exit_status,
            exited_at: r.exited_at,
        })
    }
}
