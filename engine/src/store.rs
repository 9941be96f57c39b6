//! The container records, persisted in redb under the data root so that a restarted
//! (or SIGKILLed) daemon knows every container it had. A record is the container's
//! configuration plus the last state the engine saw; names map to IDs in a second
//! table written in the same transaction, so the two never disagree.

use std::path::Path;

use engine_api::containers::{Config, HostConfig, NetworkingConfig};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");
const NAMES: TableDefinition<&str, &str> = TableDefinition::new("names");
const NETWORKS: TableDefinition<&str, &[u8]> = TableDefinition::new("networks");
/// Volume name → its metadata (the data itself lives under `<data-root>/volumes`).
const VOLUMES: TableDefinition<&str, &[u8]> = TableDefinition::new("volumes");

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

/// The last state the engine recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateRecord {
    pub status: Status,
    pub pid: u32,
    pub exit_code: i64,
    pub oom_killed: bool,
    /// Frozen by `POST /containers/{id}/pause` (still `Running`).
    pub paused: bool,
    pub error: String,
    /// RFC 3339; empty when never.
    pub started_at: String,
    pub finished_at: String,
    /// Exited, with a restart by its policy pending (Docker's `Restarting`).
    pub restarting: bool,
}

/// Everything the engine keeps about one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub created: String,
    /// The create request's config, with the image's defaults not merged in.
    pub config: Config,
    pub host_config: HostConfig,
    /// The image's full name (`docker.io/library/busybox:latest`).
    pub image_name: String,
    /// `sha256:` + the config digest.
    pub image_id: String,
    /// The process: args[0] and the rest.
    pub path: String,
    pub args: Vec<String>,
    /// The cgroup path of the spec (for OOM accounting).
    pub cgroups_path: String,
    pub state: StateRecord,
    pub restart_count: i64,
    /// Stopped or killed by a user since its last start: `unless-stopped` does not
    /// bring it back, not even after an engine restart.
    pub manually_stopped: bool,
    /// The networks asked for at create (and by later connects), by network name:
    /// aliases and a fixed address.
    pub networking_config: NetworkingConfig,
    /// The network set up for the current run; empty when not running.
    pub network: crate::network::ContainerNetwork,
    /// The volumes mounted into it, resolved at create (named, anonymous, the image's).
    pub volumes: Vec<crate::daemon::volumes::VolumeMount>,
}

pub struct ContainerStore {
    db: Database,
}

impl ContainerStore {
    pub fn open(path: &Path) -> Result<ContainerStore> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        tx.open_table(CONTAINERS)?;
        tx.open_table(NAMES)?;
        tx.open_table(NETWORKS)?;
        tx.open_table(VOLUMES)?;
        tx.commit()?;
        Ok(ContainerStore { db })
    }

    /// Writes `record`, claiming its name. Fails with a conflict when the name belongs
    /// to another container.
    pub fn put(&self, record: &ContainerRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Store(e.to_string()))?;
        let tx = self.db.begin_write()?;
        {
            let mut names = tx.open_table(NAMES)?;
            let owner = names
                .get(record.name.as_str())?
                .map(|v| v.value().to_owned());
            match owner {
                Some(owner) if owner != record.id => {
                    return Err(name_conflict(&record.name, &owner));
                }
                Some(_) => {}
                None => {
                    names.insert(record.name.as_str(), record.id.as_str())?;
                }
            }
            tx.open_table(CONTAINERS)?
                .insert(record.id.as_str(), bytes.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes `record` under its new name and frees `old_name`, in one transaction; a
    /// conflict when the new name belongs to another container.
    pub fn rename(&self, record: &ContainerRecord, old_name: &str) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Store(e.to_string()))?;
        let tx = self.db.begin_write()?;
        {
            let mut names = tx.open_table(NAMES)?;
            let owner = names
                .get(record.name.as_str())?
                .map(|v| v.value().to_owned());
            if let Some(owner) = owner
                && owner != record.id
            {
                return Err(name_conflict(&record.name, &owner));
            }
            let old_owner = names.get(old_name)?.map(|v| v.value().to_owned());
            if old_owner.as_deref() == Some(record.id.as_str()) {
                names.remove(old_name)?;
            }
            names.insert(record.name.as_str(), record.id.as_str())?;
            tx.open_table(CONTAINERS)?
                .insert(record.id.as_str(), bytes.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut containers = tx.open_table(CONTAINERS)?;
            let old = containers.remove(id)?.map(|v| v.value().to_vec());
            if let Some(old) = old
                && let Ok(r) = serde_json::from_slice::<ContainerRecord>(&old)
            {
                tx.open_table(NAMES)?.remove(r.name.as_str())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every record; one that cannot be decoded is logged and skipped.
    pub fn load(&self) -> Result<Vec<ContainerRecord>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTAINERS)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            match serde_json::from_slice(v.value()) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(container_id = k.value(), "unreadable record: {e}"),
            }
        }
        Ok(out)
    }

    pub fn put_network(&self, record: &crate::network::NetworkRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Store(e.to_string()))?;
        let tx = self.db.begin_write()?;
        tx.open_table(NETWORKS)?
            .insert(record.id.as_str(), bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_network(&self, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(NETWORKS)?.remove(id)?;
        tx.commit()?;
        Ok(())
    }

    /// Every network record; one that cannot be decoded is logged and skipped.
    pub fn load_networks(&self) -> Result<Vec<crate::network::NetworkRecord>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(NETWORKS)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            match serde_json::from_slice(v.value()) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(network_id = k.value(), "unreadable network record: {e}"),
            }
        }
        Ok(out)
    }

    pub fn put_volume(&self, record: &crate::daemon::volumes::VolumeRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Store(e.to_string()))?;
        let tx = self.db.begin_write()?;
        tx.open_table(VOLUMES)?
            .insert(record.name.as_str(), bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_volume(&self, name: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(VOLUMES)?.remove(name)?;
        tx.commit()?;
        Ok(())
    }

    /// Every volume record; one that cannot be decoded is logged and skipped.
    pub fn load_volumes(&self) -> Result<Vec<crate::daemon::volumes::VolumeRecord>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(VOLUMES)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            match serde_json::from_slice(v.value()) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(volume = k.value(), "unreadable volume record: {e}"),
            }
        }
        Ok(out)
    }

    pub fn id_of_name(&self, name: &str) -> Result<Option<String>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(NAMES)?;
        Ok(t.get(name)?.map(|v| v.value().to_owned()))
    }
}

pub fn name_conflict(name: &str, owner: &str) -> Error {
    Error::Conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn records_survive_reopen_and_names_stay_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let s = ContainerStore::open(&path).unwrap();
            s.put(&record("a", "web")).unwrap();
            let mut r = record("a", "web");
            r.state.status = Status::Running;
            s.put(&r).unwrap();
            let e = s.put(&record("b", "web")).unwrap_err();
            assert_eq!(e.status(), 409, "{e}");
            s.put(&record("b", "db")).unwrap();
        }
        let s = ContainerStore::open(&path).unwrap();
        let all = s.load().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].state.status, Status::Running);
        assert_eq!(s.id_of_name("db").unwrap().as_deref(), Some("b"));
        s.delete("b").unwrap();
        assert_eq!(s.id_of_name("db").unwrap(), None);
        s.put(&record("c", "db")).unwrap();
        assert_eq!(s.load().unwrap().len(), 2);
    }

    #[test]
    fn rename_frees_the_old_name_and_refuses_a_taken_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = ContainerStore::open(&dir.path().join("s.redb")).unwrap();
        s.put(&record("a", "web")).unwrap();
        s.put(&record("b", "db")).unwrap();
        s.rename(&record("a", "front"), "web").unwrap();
        assert_eq!(s.id_of_name("front").unwrap().as_deref(), Some("a"));
        assert_eq!(s.id_of_name("web").unwrap(), None);
        let e = s.rename(&record("a", "db"), "front").unwrap_err();
        assert_eq!(e.status(), 409, "{e}");
        assert_eq!(s.id_of_name("front").unwrap().as_deref(), Some("a"));
        assert_eq!(s.id_of_name("db").unwrap().as_deref(), Some("b"));
        let names: Vec<String> = s.load().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["front", "db"]);
    }
}
