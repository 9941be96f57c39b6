//! What the engine does for containers, execs and images, independent of HTTP: the
//! [`Daemon`] owns the containerd connection, the store and the in-memory view of every
//! container; the API layer only decodes requests and calls it.

pub mod archive;
pub mod containers;
pub mod disk_usage;
pub mod etc_files;
pub mod events;
pub mod exec;
pub mod images;
pub mod logs;
pub mod names;
pub mod networks;
pub mod ops;
pub mod publish;
pub mod restart;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod stats;
pub mod volumes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::config::Config;
use crate::containerd::Containerd;
use crate::error::{Error, Result};
use crate::network::NetworkManager;
use crate::store::{ContainerStore, Status};

pub use containers::{Container, WaitCondition};
pub use exec::Exec;

/// The engine's state and behaviour.
pub struct Daemon {
    pub config: Config,
    pub containerd: Containerd,
    pub images: myimages::Client,
    pub network: NetworkManager,
    /// The volumes and which containers use them.
    pub volumes: volumes::Volumes,
    /// What `GET /events` streams.
    pub events: crate::events::Events,
    store: ContainerStore,
    containers: Mutex<HashMap<String, Arc<Container>>>,
    execs: Mutex<HashMap<String, Arc<Exec>>>,
    /// Serialises name generation and creation so two creates never pick one name.
    create_lock: tokio::sync::Mutex<()>,
    pub started: SystemTime,
    /// The restarts the policies ask for at engine start were scheduled.
    booted: std::sync::atomic::AtomicBool,
}

impl Daemon {
    /// Opens the store under the data root, loads every container record and sets up the
    /// networks (taking back the addresses and proxies of running containers); nothing is
    /// reconciled with containerd yet (the event loop does that once subscribed).
    pub async fn new(config: Config, containerd: Containerd) -> Result<Daemon> {
        for dir in [
            config.data_root.clone(),
            config.data_root.join("containers"),
            config.exec_root.clone(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        clear_dir(&config.data_root.join("tmp"));
        let store = ContainerStore::open(&config.data_root.join("engine.redb"))?;
        let images = myimages::Client::new(containerd.channel(), containerd.namespace())?;
        let (network, changed) = NetworkManager::new(
            config.network.clone(),
            &config.exec_root,
            store.load_networks()?,
        )
        .await?;
        for record in &changed {
            store.put_network(record)?;
        }
        let volumes =
            volumes::Volumes::open(config.data_root.join("volumes"), store.load_volumes()?)?;
        let mut records = store.load()?;
        let mut running: Vec<(String, crate::network::ContainerNetwork)> = records
            .iter()
            .filter(|r| r.state.status == Status::Running)
            .map(|r| (r.id.clone(), r.network.clone()))
            .collect();
        network.restore(&mut running).await;
        let mut map = HashMap::new();
        for mut record in records.drain(..) {
            // Set up for a start that never recorded its run (a crash in between).
            if record.state.status != Status::Running && !record.network.is_empty() {
                network.detach(&record.network).await;
                record.network = Default::default();
                store.put(&record)?;
            }
            if let Some((_, net)) = running.iter().find(|(id, _)| *id == record.id)
                && *net != record.network
            {
                record.network = net.clone();
                store.put(&record)?;
            }
            map.insert(record.id.clone(), Arc::new(Container::from_record(record)));
        }
        let running_volumes: Vec<(String, Vec<volumes::VolumeMount>)> = map
            .values()
            .map(|c| c.record())
            .filter(|r| r.state.status == Status::Running)
            .map(|r| (r.id, r.volumes))
            .collect();
        volumes.restore(
            running_volumes
                .iter()
                .map(|(id, v)| (id.as_str(), v.as_slice())),
        );
        tracing::info!(containers = map.len(), "store loaded");
        Ok(Daemon {
            config,
            containerd,
            images,
            network,
            volumes,
            events: crate::events::Events::new(),
            store,
            containers: Mutex::new(map),
            execs: Mutex::new(HashMap::new()),
            create_lock: tokio::sync::Mutex::new(()),
            started: SystemTime::now(),
            booted: Default::default(),
        })
    }

    /// Publishes a container event; its attributes are the container's labels, `name`
    /// and `image` (as Docker's), plus `extra` (e.g. `exitCode`, `signal`).
    pub fn container_event(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let record = c.record();
        let mut attributes = record.config.labels.clone();
        attributes.insert("name".into(), record.name.clone());
        attributes.insert("image".into(), record.config.image.clone());
        for (k, v) in extra {
            attributes.insert((*k).to_string(), v.clone());
        }
        self.events.publish("container", action, &c.id, attributes);
    }

    /// `<data-root>/containers/<id>`: the log, hostname, hosts, resolv.conf.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.config.data_root.join("containers").join(id)
    }

    /// `<exec-root>/<id>`: FIFOs of the container's stdin and of its execs.
    pub fn fifo_dir(&self, id: &str) -> PathBuf {
        self.config.exec_root.join(id)
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }

    /// Every container, in no particular order.
    pub fn all_containers(&self) -> Vec<Arc<Container>> {
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn container_by_id(&self, id: &str) -> Option<Arc<Container>> {
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Finds a container as Docker does: full ID, then name, then a unique ID prefix.
    pub fn find_container(&self, reference: &str) -> Result<Arc<Container>> {
        let map = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(reference) {
            return Ok(c.clone());
        }
        let name = reference.strip_prefix('/').unwrap_or(reference);
        if let Some(c) = map.values().find(|c| c.name() == name) {
            return Ok(c.clone());
        }
        if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut found = map.values().filter(|c| c.id.starts_with(reference));
            if let Some(first) = found.next() {
                if found.next().is_some() {
                    return Err(Error::NotFound(format!(
                        "multiple IDs found with provided prefix: {reference}"
                    )));
                }
                return Ok(first.clone());
            }
        }
        Err(Error::no_such_container(reference))
    }

    fn insert_container(&self, c: Arc<Container>) {
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c.id.clone(), c);
    }

    fn forget_container(&self, id: &str) {
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.container_id != id);
    }
}

/// 64 random hex digits, as Docker's IDs.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: writing into our own buffer.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n > 0 {
            filled += n as usize;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now, as RFC 3339 with nanoseconds (Docker's timestamps).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Empties `dir` of what an earlier run left (image-load spools cut short by a crash);
/// a missing directory is fine. Failures are logged: they only cost disk space.
fn clear_dir(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = result {
            tracing::warn!("removing stale {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_spools_are_cleared_at_start() {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        std::fs::create_dir_all(tmp.join("sub")).unwrap();
        std::fs::write(tmp.join("load-1.tar"), b"x").unwrap();
        std::fs::write(tmp.join("sub/f"), b"x").unwrap();
        clear_dir(&tmp);
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        clear_dir(&root.path().join("missing"));
    }
}
