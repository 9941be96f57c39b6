//! Snapshots: layered filesystems addressed by (namespace, snapshotter, key).
//!
//! [`SnapshotManager`] keeps the metadata (kind, parent, labels) in the store and asks a
//! [`Snapshotter`] backend to make, mount and remove directories named by ids the store
//! hands out (never reused). Directory work happens outside transactions and is made
//! safe by order: a directory is complete (made under a temporary name, then renamed)
//! before its record is written, and a record is deleted before its directory; so a
//! crash leaves at worst a directory without a record, which `cleanup` (run at start and
//! by the Cleanup call) removes.

pub mod native;
pub mod overlay;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use myproto::containerd::events::{SnapshotCommit, SnapshotPrepare, SnapshotRemove};
use myproto::containerd::services::snapshots::v1::{Info, Kind};
use myproto::containerd::types::Mount;

use crate::error::{Error, Result};
use crate::events::Exchange;
use crate::filters::{Fields, Filter};
use crate::metadata::{SnapshotRecord, Store, clean_labels};

/// A backend: directories and mounts, no metadata.
pub trait Snapshotter: Send + Sync {
    fn name(&self) -> &'static str;
    /// The directory holding one subdirectory per snapshot id.
    fn base(&self) -> &Path;
    /// Makes the directories of snapshot `id` (`parents`: ids, nearest first).
    fn create(&self, id: u64, kind: Kind, parents: &[u64]) -> Result<()>;
    fn mounts(&self, id: u64, kind: Kind, parents: &[u64]) -> Vec<Mount>;
    /// The directory whose contents are the snapshot's own (for Usage).
    fn usage_dir(&self, id: u64) -> PathBuf;

    fn remove(&self, id: u64) -> Result<()> {
        let p = self.base().join(id.to_string());
        crate::tree::remove_tree(&p).map_err(|e| Error::io("removing", &p, e))
    }

    /// The ids that have a directory.
    fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = std::fs::read_dir(self.base())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }
}

mod dirs {
    use super::*;

    /// Makes `<base>/<id>` by filling `<base>/new-<id>` and renaming it into place.
    pub fn create(base: &Path, id: u64, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let tmp = base.join(format!("new-{id}"));
        crate::tree::remove_tree(&tmp).map_err(|e| Error::io("removing", &tmp, e))?;
        std::fs::create_dir(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        let r = fill(&tmp).and_then(|()| {
            let dst = base.join(id.to_string());
            std::fs::rename(&tmp, &dst).map_err(|e| Error::io("renaming", &tmp, e))
        });
        if r.is_err() {
            let _ = crate::tree::remove_tree(&tmp);
        }
        r
    }
}

impl Fields for Info {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first().map(String::as_str) {
            Some("kind") if path.len() == 1 => match Kind::try_from(self.kind) {
                Ok(Kind::Active) => Some("active".into()),
                Ok(Kind::View) => Some("view".into()),
                Ok(Kind::Committed) => Some("committed".into()),
                _ => None,
            },
            Some("name") if path.len() == 1 => Some(self.name.clone()),
            Some("parent") if path.len() == 1 => Some(self.parent.clone()),
            Some("labels") if path.len() > 1 => self.labels.get(&path[1..].join(".")).cloned(),
            _ => None,
        }
    }
}

fn info(key: &str, r: &SnapshotRecord) -> Info {
    Info {
        name: key.to_string(),
        parent: r.parent.clone(),
        kind: r.kind,
        created_at: r.created_at,
        updated_at: r.updated_at,
        labels: r.labels.clone(),
    }
}

fn validate_key(what: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "snapshot {what} must not be empty"
        )));
    }
    if key.len() > 4096 || key.contains('\0') {
        return Err(Error::InvalidArgument(format!(
            "invalid snapshot {what} {key:?}"
        )));
    }
    Ok(())
}

pub struct SnapshotManager {
    store: Arc<Store>,
    events: Exchange,
    backends: HashMap<&'static str, Box<dyn Snapshotter>>,
    /// Ids whose directories are being made (not yet recorded): cleanup leaves them.
    creating: Mutex<HashSet<u64>>,
}

impl SnapshotManager {
    pub fn new(
        store: Arc<Store>,
        events: Exchange,
        backends: Vec<Box<dyn Snapshotter>>,
    ) -> Arc<Self> {
        let m = Arc::new(SnapshotManager {
            store,
            events,
            backends: backends.into_iter().map(|b| (b.name(), b)).collect(),
            creating: Mutex::new(HashSet::new()),
        });
        for name in m.names() {
            if let Err(e) = m.cleanup(name) {
                tracing::warn!(snapshotter = name, error = %e, "cleaning up snapshot directories");
            }
        }
        m
    }

    /// The overlayfs and native backends under `root`.
    pub fn open(root: &Path, store: Arc<Store>, events: Exchange) -> Result<Arc<Self>> {
        Ok(Self::new(
            store,
            events,
            vec![
                Box::new(overlay::Overlay::new(root)?),
                Box::new(native::Native::new(root)?),
            ],
        ))
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut n: Vec<_> = self.backends.keys().copied().collect();
        n.sort_unstable();
        n
    }

    pub(crate) fn backend(&self, name: &str) -> Result<&dyn Snapshotter> {
        if name.is_empty() {
            return Err(Error::InvalidArgument(
                "snapshotter argument missing".into(),
            ));
        }
        self.backends
            .get(name)
            .map(|b| b.as_ref())
            .ok_or_else(|| Error::InvalidArgument(format!("snapshotter not loaded: {name}")))
    }

    /// Prepare (active) or View: a new snapshot on top of `parent`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        ns: &str,
        sn: &str,
        key: &str,
        parent: &str,
        mut labels: HashMap<String, String>,
        kind: Kind,
        lease: Option<&str>,
    ) -> Result<Vec<Mount>> {
        let b = self.backend(sn)?;
        validate_key("key", key)?;
        clean_labels(&mut labels)?;
        if self.store.snapshot(ns, sn, key).is_ok() {
            return Err(Error::exists("snapshot", key));
        }
        let parents = if parent.is_empty() {
            Vec::new()
        } else {
            self.store.parent_ids(ns, sn, parent)?
        };
        let id = self.store.next_snapshot_id()?;
        self.creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        let now = crate::services::now();
        let rec = SnapshotRecord {
            id,
            kind: kind as i32,
            parent: parent.to_string(),
            labels,
            created_at: now,
            updated_at: now,
            size: 0,
            inodes: 0,
        };
        let r = b
            .create(id, kind, &parents)
            .and_then(|()| self.store.insert_snapshot(ns, sn, key, &rec, lease));
        if r.is_err() {
            let _ = b.remove(id);
        }
        self.creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        r?;
        if kind == Kind::Active {
            self.events.publish(
                ns,
                "/snapshot/prepare",
                &SnapshotPrepare {
                    key: key.to_string(),
                    parent: parent.to_string(),
                    snapshotter: sn.to_string(),
                },
            );
        }
        Ok(b.mounts(id, kind, &parents))
    }

    pub fn mounts(&self, ns: &str, sn: &str, key: &str) -> Result<Vec<Mount>> {
        let b = self.backend(sn)?;
        let r = self.store.snapshot(ns, sn, key)?;
        let kind = Kind::try_from(r.kind).unwrap_or(Kind::Unknown);
        if !matches!(kind, Kind::Active | Kind::View) {
            return Err(Error::FailedPrecondition(format!(
                "snapshot {key:?} is committed: only active and view snapshots have mounts"
            )));
        }
        let parents = if r.parent.is_empty() {
            Vec::new()
        } else {
            self.store.parent_ids(ns, sn, &r.parent)?
        };
        Ok(b.mounts(r.id, kind, &parents))
    }

    pub fn commit(
        &self,
        ns: &str,
        sn: &str,
        name: &str,
        key: &str,
        mut labels: HashMap<String, String>,
        lease: Option<&str>,
    ) -> Result<()> {
        let b = self.backend(sn)?;
        validate_key("name", name)?;
        clean_labels(&mut labels)?;
        let r = self.store.snapshot(ns, sn, key)?;
        if r.kind != Kind::Active as i32 {
            return Err(Error::FailedPrecondition(format!(
                "snapshot {key:?} is not active"
            )));
        }
        let dir = b.usage_dir(r.id);
        let usage = crate::tree::usage(&dir).map_err(|e| Error::io("measuring", &dir, e))?;
        self.store
            .commit_snapshot(ns, sn, key, name, labels, usage, lease)?;
        self.events.publish(
            ns,
            "/snapshot/commit",
            &SnapshotCommit {
                key: key.to_string(),
                name: name.to_string(),
                snapshotter: sn.to_string(),
            },
        );
        Ok(())
    }

    pub fn remove(&self, ns: &str, sn: &str, key: &str) -> Result<()> {
        let b = self.backend(sn)?;
        let r = self.store.remove_snapshot(ns, sn, key)?;
        if let Err(e) = b.remove(r.id) {
            tracing::warn!(snapshotter = sn, key, error = %e, "snapshot directory left for cleanup");
        }
        self.events.publish(
            ns,
            "/snapshot/remove",
            &SnapshotRemove {
                key: key.to_string(),
                snapshotter: sn.to_string(),
            },
        );
        Ok(())
    }

    pub fn stat(&self, ns: &str, sn: &str, key: &str) -> Result<Info> {
        self.backend(sn)?;
        Ok(info(key, &self.store.snapshot(ns, sn, key)?))
    }

    /// Changes labels (`labels`, `labels.<key>`; no mask means all labels).
    pub fn update(&self, ns: &str, sn: &str, new: Info, paths: Vec<String>) -> Result<Info> {
        self.backend(sn)?;
        if new.name.is_empty() {
            return Err(Error::InvalidArgument("snapshot name missing".into()));
        }
        let r = self.store.update_snapshot(ns, sn, &new.name, |r| {
            if paths.is_empty() {
                r.labels = new.labels.clone();
            }
            for p in &paths {
                if p == "labels" {
                    r.labels = new.labels.clone();
                } else if let Some(k) = p.strip_prefix("labels.") {
                    match new.labels.get(k) {
                        Some(v) => r.labels.insert(k.to_string(), v.clone()),
                        None => r.labels.remove(k),
                    };
                } else {
                    return Err(Error::InvalidArgument(format!(
                        "cannot update {p:?} field on snapshot {:?}",
                        new.name
                    )));
                }
            }
            clean_labels(&mut r.labels)?;
            r.updated_at = crate::services::now();
            Ok(())
        })?;
        Ok(info(&new.name, &r))
    }

    pub fn list(&self, ns: &str, sn: &str, filters: &[String]) -> Result<Vec<Info>> {
        self.backend(sn)?;
        let filter = Filter::parse(filters)?;
        Ok(self
            .store
            .snapshots(ns, sn)?
            .iter()
            .map(|(k, r)| info(k, r))
            .filter(|i| filter.matches(i))
            .collect())
    }

    /// Bytes and inodes of the snapshot's own files (measured at commit once committed).
    pub fn usage(&self, ns: &str, sn: &str, key: &str) -> Result<(i64, i64)> {
        let b = self.backend(sn)?;
        let r = self.store.snapshot(ns, sn, key)?;
        if r.kind == Kind::Committed as i32 {
            return Ok((r.size, r.inodes));
        }
        let dir = b.usage_dir(r.id);
        crate::tree::usage(&dir).map_err(|e| Error::io("measuring", &dir, e))
    }

    /// Removes directories no record names (left by a crash or a failed removal).
    pub fn cleanup(&self, sn: &str) -> Result<()> {
        let b = self.backend(sn)?;
        let known = self.store.snapshot_ids(sn)?;
        let creating = self
            .creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for id in b.ids() {
            if !known.contains(&id) && !creating.contains(&id) {
                tracing::info!(
                    snapshotter = sn,
                    id,
                    "removing an unreferenced snapshot directory"
                );
                b.remove(id)?;
            }
        }
        // Half-made directories of a crashed Prepare.
        if let Ok(rd) = std::fs::read_dir(b.base()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(id) = name
                    .strip_prefix("new-")
                    .and_then(|s| s.parse::<u64>().ok())
                    && !creating.contains(&id)
                {
                    let _ = crate::tree::remove_tree(&e.path());
                }
            }
        }
        Ok(())
    }

    /// Removes the directories of snapshots the collector swept (records already gone).
    pub(crate) fn remove_dirs(&self, sn: &str, ids: &[u64]) {
        if let Ok(b) = self.backend(sn) {
            for id in ids {
                if let Err(e) = b.remove(*id) {
                    tracing::warn!(snapshotter = sn, id, error = %e, "removing a snapshot directory");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(dir: &Path) -> Arc<SnapshotManager> {
        let store = Arc::new(Store::open(&dir.join("meta.redb")).unwrap());
        SnapshotManager::open(dir, store, Exchange::default()).unwrap()
    }

    #[test]
    fn prepare_commit_view_remove() {
        let t = tempfile::tempdir().unwrap();
        let m = manager(t.path());
        let sn = "overlayfs";
        let mounts = m
            .create("ns", sn, "a1", "", HashMap::new(), Kind::Active, None)
            .unwrap();
        std::fs::write(Path::new(&mounts[0].source).join("f"), "hello").unwrap();
        assert!(m.usage("ns", sn, "a1").unwrap().0 > 0);
        m.commit(
            "ns",
            sn,
            "a",
            "a1",
            HashMap::from([("k".into(), "v".into())]),
            None,
        )
        .unwrap();
        assert_eq!(m.stat("ns", sn, "a").unwrap().labels["k"], "v");
        assert_eq!(m.stat("ns", sn, "a").unwrap().kind, Kind::Committed as i32);
        assert!(m.mounts("ns", sn, "a").is_err());
        let v = m
            .create("ns", sn, "v", "a", HashMap::new(), Kind::View, None)
            .unwrap();
        assert_eq!(v[0].options, ["ro", "rbind"]);
        let b = m
            .create("ns", sn, "b", "a", HashMap::new(), Kind::Active, None)
            .unwrap();
        assert_eq!(b[0].r#type, "overlay");
        assert!(matches!(
            m.create("ns", sn, "b", "a", HashMap::new(), Kind::Active, None),
            Err(Error::AlreadyExists { .. })
        ));
        assert!(matches!(
            m.create("ns", sn, "c", "b", HashMap::new(), Kind::Active, None),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            m.create("ns", sn, "c", "nope", HashMap::new(), Kind::Active, None),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            m.remove("ns", sn, "a"),
            Err(Error::FailedPrecondition(_))
        ));
        let listed = m.list("ns", sn, &["kind==active".into()]).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "b");
        let u = m
            .update(
                "ns",
                sn,
                Info {
                    name: "b".into(),
                    labels: HashMap::from([("x".into(), "1".into())]),
                    ..Info::default()
                },
                vec!["labels.x".into()],
            )
            .unwrap();
        assert_eq!(u.labels["x"], "1");
        for k in ["b", "v", "a"] {
            m.remove("ns", sn, k).unwrap();
        }
        assert!(m.backend(sn).unwrap().ids().is_empty());
        assert!(m.backend("zfs").is_err());
    }

    #[test]
    fn cleanup_removes_unrecorded_directories() {
        let t = tempfile::tempdir().unwrap();
        let m = manager(t.path());
        m.create(
            "ns",
            "native",
            "keep",
            "",
            HashMap::new(),
            Kind::Active,
            None,
        )
        .unwrap();
        let base = t.path().join("snapshots/native/snapshots");
        std::fs::create_dir_all(base.join("999/x")).unwrap();
        std::fs::create_dir_all(base.join("new-1000")).unwrap();
        m.cleanup("native").unwrap();
        assert!(!base.join("999").exists() && !base.join("new-1000").exists());
        assert_eq!(m.backend("native").unwrap().ids().len(), 1);
    }
}
