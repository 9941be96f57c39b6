//! Snapshot records, per namespace and snapshotter: the client's key, its kind, parent
//! and labels, and the snapshotter-internal id naming its directory.

use std::collections::{HashMap, HashSet};

use myproto::containerd::services::snapshots::v1::Kind;
use prost::Message;
use redb::{ReadableDatabase, ReadableTable};

use super::{COUNTERS, SNAPSHOTS, Store, decode, ensure_namespace, lease_add, lease_remove};
use crate::error::{Error, Result};

/// One snapshot as stored.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotRecord {
    /// The snapshotter's directory id (never reused).
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(enumeration = "Kind", tag = "2")]
    pub kind: i32,
    /// The parent's key in the same namespace and snapshotter.
    #[prost(string, tag = "3")]
    pub parent: String,
    #[prost(map = "string, string", tag = "4")]
    pub labels: HashMap<String, String>,
    #[prost(message, optional, tag = "5")]
    pub created_at: Option<prost_types::Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub updated_at: Option<prost_types::Timestamp>,
    /// Usage measured at commit (committed snapshots do not change).
    #[prost(int64, tag = "7")]
    pub size: i64,
    #[prost(int64, tag = "8")]
    pub inodes: i64,
}

pub(crate) fn snap_key(ns: &str, snapshotter: &str, key: &str) -> String {
    format!("{ns}/{snapshotter}/{key}")
}

fn snap_range(ns: &str, snapshotter: &str) -> (String, String) {
    (
        format!("{ns}/{snapshotter}/"),
        format!("{ns}/{snapshotter}0"),
    )
}

/// `(namespace, snapshotter, key)` of a table key.
pub(crate) fn split_key(k: &str) -> Option<(&str, &str, &str)> {
    let (ns, rest) = k.split_once('/')?;
    let (sn, key) = rest.split_once('/')?;
    Some((ns, sn, key))
}

pub(crate) fn lease_type(snapshotter: &str) -> String {
    format!("snapshots/{snapshotter}")
}

impl Store {
    pub fn snapshot(&self, ns: &str, snapshotter: &str, key: &str) -> Result<SnapshotRecord> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(SNAPSHOTS)?;
        match t.get(snap_key(ns, snapshotter, key).as_str())? {
            Some(v) => decode(v.value()),
            None => Err(Error::not_found("snapshot", key)),
        }
    }

    pub fn snapshots(&self, ns: &str, snapshotter: &str) -> Result<Vec<(String, SnapshotRecord)>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(SNAPSHOTS)?;
        let (lo, hi) = snap_range(ns, snapshotter);
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            let (k, v) = entry?;
            out.push((k.value()[lo.len()..].to_string(), decode(v.value())?));
        }
        Ok(out)
    }

    /// The ids of every snapshot of `snapshotter`, in all namespaces.
    pub fn snapshot_ids(&self, snapshotter: &str) -> Result<HashSet<u64>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(SNAPSHOTS)?;
        let mut out = HashSet::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            if split_key(k.value()).is_some_and(|(_, sn, _)| sn == snapshotter) {
                out.insert(decode::<SnapshotRecord>(v.value())?.id);
            }
        }
        Ok(out)
    }

    /// A fresh snapshot id (ids are never handed out twice).
    pub fn next_snapshot_id(&self) -> Result<u64> {
        let tx = self.db.begin_write()?;
        let id = {
            let mut t = tx.open_table(COUNTERS)?;
            let id = t.get("snapshot_id")?.map(|v| v.value()).unwrap_or(0) + 1;
            t.insert("snapshot_id", id)?;
            id
        };
        tx.commit()?;
        Ok(id)
    }

    /// The ids of `parent` and its ancestors, nearest first; `parent` must be committed.
    pub fn parent_ids(&self, ns: &str, snapshotter: &str, parent: &str) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let mut next = parent.to_string();
        let mut first = true;
        while !next.is_empty() {
            let rec = match self.snapshot(ns, snapshotter, &next) {
                Ok(r) => r,
                Err(Error::NotFound { .. }) if first => {
                    return Err(Error::not_found("parent snapshot", &next));
                }
                Err(e) => return Err(e),
            };
            if first && rec.kind != Kind::Committed as i32 {
                return Err(Error::InvalidArgument(format!(
                    "parent {next:?} is not a committed snapshot"
                )));
            }
            first = false;
            out.push(rec.id);
            if out.len() > 1000 {
                return Err(Error::Store(format!(
                    "snapshot {parent:?}: parent chain loops"
                )));
            }
            next = rec.parent;
        }
        Ok(out)
    }

    /// Records a new active or view snapshot.
    pub fn insert_snapshot(
        &self,
        ns: &str,
        snapshotter: &str,
        key: &str,
        rec: &SnapshotRecord,
        lease: Option<&str>,
    ) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            ensure_namespace(&tx, ns)?;
            let mut t = tx.open_table(SNAPSHOTS)?;
            let k = snap_key(ns, snapshotter, key);
            if t.get(k.as_str())?.is_some() {
                return Err(Error::exists("snapshot", key));
            }
            if !rec.parent.is_empty() {
                let p: SnapshotRecord =
                    match t.get(snap_key(ns, snapshotter, &rec.parent).as_str())? {
                        Some(v) => decode(v.value())?,
                        None => return Err(Error::not_found("parent snapshot", &rec.parent)),
                    };
                if p.kind != Kind::Committed as i32 {
                    return Err(Error::InvalidArgument(format!(
                        "parent {:?} is not a committed snapshot",
                        rec.parent
                    )));
                }
            }
            t.insert(k.as_str(), rec.encode_to_vec().as_slice())?;
            lease_add(&tx, ns, lease, &lease_type(snapshotter), key)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Turns the active snapshot `key` into the committed snapshot `name`.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_snapshot(
        &self,
        ns: &str,
        snapshotter: &str,
        key: &str,
        name: &str,
        labels: HashMap<String, String>,
        usage: (i64, i64),
        lease: Option<&str>,
    ) -> Result<SnapshotRecord> {
        let tx = self.db.begin_write()?;
        let rec = {
            let mut t = tx.open_table(SNAPSHOTS)?;
            let nk = snap_key(ns, snapshotter, name);
            if t.get(nk.as_str())?.is_some() {
                return Err(Error::exists("snapshot", name));
            }
            let k = snap_key(ns, snapshotter, key);
            let old: SnapshotRecord = match t.get(k.as_str())? {
                Some(v) => decode(v.value())?,
                None => return Err(Error::not_found("snapshot", key)),
            };
            if old.kind != Kind::Active as i32 {
                return Err(Error::FailedPrecondition(format!(
                    "snapshot {key:?} is not active"
                )));
            }
            let now = crate::services::now();
            let rec = SnapshotRecord {
                id: old.id,
                kind: Kind::Committed as i32,
                parent: old.parent,
                labels,
                created_at: now,
                updated_at: now,
                size: usage.0,
                inodes: usage.1,
            };
            t.remove(k.as_str())?;
            t.insert(nk.as_str(), rec.encode_to_vec().as_slice())?;
            let typ = lease_type(snapshotter);
            lease_add(&tx, ns, lease, &typ, name)?;
            lease_remove(&tx, ns, lease, &typ, key)?;
            rec
        };
        tx.commit()?;
        Ok(rec)
    }

    /// Removes a snapshot that no other snapshot has as its parent.
    pub fn remove_snapshot(
        &self,
        ns: &str,
        snapshotter: &str,
        key: &str,
    ) -> Result<SnapshotRecord> {
        let tx = self.db.begin_write()?;
        let rec = {
            let mut t = tx.open_table(SNAPSHOTS)?;
            let k = snap_key(ns, snapshotter, key);
            let rec: SnapshotRecord = match t.get(k.as_str())? {
                Some(v) => decode(v.value())?,
                None => return Err(Error::not_found("snapshot", key)),
            };
            let (lo, hi) = snap_range(ns, snapshotter);
            for entry in t.range(lo.as_str()..hi.as_str())? {
                let (ck, v) = entry?;
                if decode::<SnapshotRecord>(v.value())?.parent == key {
                    return Err(Error::FailedPrecondition(format!(
                        "cannot remove snapshot {key:?}: snapshot {:?} has it as its parent",
                        &ck.value()[lo.len()..]
                    )));
                }
            }
            t.remove(k.as_str())?;
            rec
        };
        tx.commit()?;
        Ok(rec)
    }

    /// Changes a record in place; `f` sees the stored one.
    pub fn update_snapshot(
        &self,
        ns: &str,
        snapshotter: &str,
        key: &str,
        f: impl FnOnce(&mut SnapshotRecord) -> Result<()>,
    ) -> Result<SnapshotRecord> {
        let tx = self.db.begin_write()?;
        let rec = {
            let mut t = tx.open_table(SNAPSHOTS)?;
            let k = snap_key(ns, snapshotter, key);
            let mut rec: SnapshotRecord = match t.get(k.as_str())? {
                Some(v) => decode(v.value())?,
                None => return Err(Error::not_found("snapshot", key)),
            };
            f(&mut rec)?;
            t.insert(k.as_str(), rec.encode_to_vec().as_slice())?;
            rec
        };
        tx.commit()?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, kind: Kind, parent: &str) -> SnapshotRecord {
        SnapshotRecord {
            id,
            kind: kind as i32,
            parent: parent.into(),
            ..SnapshotRecord::default()
        }
    }

    #[test]
    fn chains_commits_and_removal_rules() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("m.redb")).unwrap();
        assert_eq!(s.next_snapshot_id().unwrap(), 1);
        assert_eq!(s.next_snapshot_id().unwrap(), 2);
        s.insert_snapshot(
            "ns",
            "overlayfs",
            "a-active",
            &rec(1, Kind::Active, ""),
            None,
        )
        .unwrap();
        assert!(matches!(
            s.insert_snapshot(
                "ns",
                "overlayfs",
                "b",
                &rec(2, Kind::Active, "a-active"),
                None
            ),
            Err(Error::InvalidArgument(_))
        ));
        s.commit_snapshot(
            "ns",
            "overlayfs",
            "a-active",
            "a",
            HashMap::new(),
            (1, 1),
            None,
        )
        .unwrap();
        assert!(s.snapshot("ns", "overlayfs", "a-active").is_err());
        s.insert_snapshot("ns", "overlayfs", "b", &rec(2, Kind::Active, "a"), None)
            .unwrap();
        assert_eq!(s.parent_ids("ns", "overlayfs", "a").unwrap(), vec![1]);
        assert!(matches!(
            s.remove_snapshot("ns", "overlayfs", "a"),
            Err(Error::FailedPrecondition(_))
        ));
        assert!(s.snapshot("other", "overlayfs", "a").is_err());
        assert!(s.snapshot("ns", "native", "a").is_err());
        assert_eq!(s.snapshot_ids("overlayfs").unwrap(), HashSet::from([1, 2]));
        s.remove_snapshot("ns", "overlayfs", "b").unwrap();
        s.remove_snapshot("ns", "overlayfs", "a").unwrap();
        assert!(s.snapshots("ns", "overlayfs").unwrap().is_empty());
    }
}
