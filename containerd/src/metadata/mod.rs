//! Metadata in one crash-safe embedded database (redb): namespaces, containers, leases,
//! images, content records and snapshots, each stored as its protobuf message, keyed
//! `<namespace>/<id>` so a namespace is one range. Blobs and snapshot directories live on
//! disk (`content`, `snapshots`); a record here is what makes them visible.

pub(crate) mod content;
mod images;
pub(crate) mod snapshots;

pub use snapshots::SnapshotRecord;

use std::path::Path;

use myproto::containerd::services::containers::v1::Container;
use myproto::containerd::services::leases::v1::Lease;
use myproto::containerd::services::namespaces::v1::Namespace;
use prost::Message;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, Result};

pub(crate) const NAMESPACES: TableDefinition<&str, &[u8]> = TableDefinition::new("namespaces");
pub(crate) const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");
pub(crate) const LEASES: TableDefinition<&str, &[u8]> = TableDefinition::new("leases");
/// `<ns>/<lease>\0<type>\0<id>` → nothing: the resources a lease keeps alive.
pub(crate) const LEASE_RESOURCES: TableDefinition<&str, &[u8]> =
    TableDefinition::new("lease_resources");
/// `<ns>/<name>` → `images.v1.Image`.
pub(crate) const IMAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("images");
/// `<ns>/<digest>` → `content.v1.Info`: the blobs a namespace can see, with its labels.
pub(crate) const CONTENT: TableDefinition<&str, &[u8]> = TableDefinition::new("content");
/// `<digest>/<ns>` → nothing: which namespaces hold a blob (its file goes with the last).
pub(crate) const CONTENT_NAMESPACES: TableDefinition<&str, &[u8]> =
    TableDefinition::new("content_namespaces");
/// `<ns>/<snapshotter>/<key>` → [`SnapshotRecord`].
pub(crate) const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
/// Counters (`snapshot_id`).
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

pub struct Store {
    pub(crate) db: Database,
}

pub(crate) fn key(ns: &str, id: &str) -> String {
    format!("{ns}/{id}")
}

/// The key range of one namespace: `ns/` up to (excluding) `ns0` ('0' follows '/').
pub(crate) fn range(ns: &str) -> (String, String) {
    (format!("{ns}/"), format!("{ns}0"))
}

/// Labels as containerd stores them: an empty value means no label; key and value
/// together at most 4096 bytes.
pub(crate) fn clean_labels(labels: &mut std::collections::HashMap<String, String>) -> Result<()> {
    labels.retain(|_, v| !v.is_empty());
    for (k, v) in labels.iter() {
        if k.is_empty() {
            return Err(Error::InvalidArgument("label key must not be empty".into()));
        }
        if k.len() + v.len() > 4096 {
            return Err(Error::InvalidArgument(format!(
                "label {k:?}: key and value greater than maximum size (4096 bytes)"
            )));
        }
    }
    Ok(())
}

/// Makes the namespace's record if it has none (objects create their namespace).
pub(crate) fn ensure_namespace(tx: &redb::WriteTransaction, ns: &str) -> Result<()> {
    let mut t = tx.open_table(NAMESPACES)?;
    if t.get(ns)?.is_none() {
        let rec = Namespace {
            name: ns.to_string(),
            ..Namespace::default()
        };
        t.insert(ns, rec.encode_to_vec().as_slice())?;
    }
    Ok(())
}

/// Adds a resource to the lease a request runs under (containerd's `containerd-lease`
/// header), inside the caller's transaction.
pub(crate) fn lease_add(
    tx: &redb::WriteTransaction,
    ns: &str,
    lease: Option<&str>,
    typ: &str,
    id: &str,
) -> Result<()> {
    let Some(lease) = lease else { return Ok(()) };
    if tx
        .open_table(LEASES)?
        .get(key(ns, lease).as_str())?
        .is_none()
    {
        return Err(Error::not_found("lease", lease));
    }
    tx.open_table(LEASE_RESOURCES)?
        .insert(resource_key(ns, lease, typ, id).as_str(), [].as_slice())?;
    Ok(())
}

pub(crate) fn lease_remove(
    tx: &redb::WriteTransaction,
    ns: &str,
    lease: Option<&str>,
    typ: &str,
    id: &str,
) -> Result<()> {
    if let Some(lease) = lease {
        tx.open_table(LEASE_RESOURCES)?
            .remove(resource_key(ns, lease, typ, id).as_str())?;
    }
    Ok(())
}

pub(crate) fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|e| Error::Store(format!("corrupt record: {e}")))
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let db = Database::create(path)?;
        // Create the tables up front so readers never see them missing.
        let tx = db.begin_write()?;
        tx.open_table(NAMESPACES)?;
        tx.open_table(CONTAINERS)?;
        tx.open_table(LEASES)?;
        tx.open_table(LEASE_RESOURCES)?;
        tx.open_table(IMAGES)?;
        tx.open_table(CONTENT)?;
        tx.open_table(CONTENT_NAMESPACES)?;
        tx.open_table(SNAPSHOTS)?;
        tx.open_table(COUNTERS)?;
        tx.commit()?;
        Ok(Store { db })
    }

    // --- namespaces ---

    pub fn namespace(&self, name: &str) -> Result<Option<Namespace>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(NAMESPACES)?;
        match t.get(name)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    pub fn namespaces(&self) -> Result<Vec<Namespace>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(NAMESPACES)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (_, v) = entry?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// Creates a namespace; false if it already existed.
    pub fn create_namespace(&self, ns: &Namespace) -> Result<bool> {
        let tx = self.db.begin_write()?;
        let created = {
            let mut t = tx.open_table(NAMESPACES)?;
            if t.get(ns.name.as_str())?.is_some() {
                false
            } else {
                t.insert(ns.name.as_str(), ns.encode_to_vec().as_slice())?;
                true
            }
        };
        tx.commit()?;
        Ok(created)
    }

    pub fn update_namespace(&self, ns: &Namespace) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(NAMESPACES)?;
            if t.get(ns.name.as_str())?.is_none() {
                return Err(Error::not_found("namespace", &ns.name));
            }
            t.insert(ns.name.as_str(), ns.encode_to_vec().as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes an empty namespace.
    pub fn delete_namespace(&self, name: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let containers = tx.open_table(CONTAINERS)?;
            let (lo, hi) = range(name);
            if containers.range(lo.as_str()..hi.as_str())?.next().is_some() {
                return Err(Error::FailedPrecondition(format!(
                    "namespace {name:?} must be empty, but it still has containers"
                )));
            }
            for (table, what) in [
                (IMAGES, "images"),
                (CONTENT, "blobs"),
                (SNAPSHOTS, "snapshots"),
                (LEASES, "leases"),
            ] {
                if tx
                    .open_table(table)?
                    .range(lo.as_str()..hi.as_str())?
                    .next()
                    .is_some()
                {
                    return Err(Error::FailedPrecondition(format!(
                        "namespace {name:?} must be empty, but it still has {what}"
                    )));
                }
            }
            let mut t = tx.open_table(NAMESPACES)?;
            if t.remove(name)?.is_none() {
                return Err(Error::not_found("namespace", name));
            }
        }
        tx.commit()?;
        Ok(())
    }

    // --- containers ---

    pub fn container(&self, ns: &str, id: &str) -> Result<Container> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTAINERS)?;
        match t.get(key(ns, id).as_str())? {
            Some(v) => decode(v.value()),
            None => Err(Error::not_found("container", id)),
        }
    }

    pub fn containers(&self, ns: &str) -> Result<Vec<Container>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTAINERS)?;
        let (lo, hi) = range(ns);
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            let (_, v) = entry?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// Creates the container (and its namespace if new; true when the namespace was made).
    pub fn create_container(&self, ns: &str, c: &Container) -> Result<bool> {
        let tx = self.db.begin_write()?;
        let ns_created = {
            let mut namespaces = tx.open_table(NAMESPACES)?;
            let created = namespaces.get(ns)?.is_none();
            if created {
                let rec = Namespace {
                    name: ns.to_string(),
                    ..Namespace::default()
                };
                namespaces.insert(ns, rec.encode_to_vec().as_slice())?;
            }
            let mut t = tx.open_table(CONTAINERS)?;
            let k = key(ns, &c.id);
            if t.get(k.as_str())?.is_some() {
                return Err(Error::exists("container", &c.id));
            }
            t.insert(k.as_str(), c.encode_to_vec().as_slice())?;
            created
        };
        tx.commit()?;
        Ok(ns_created)
    }

    pub fn update_container(&self, ns: &str, c: &Container) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(CONTAINERS)?;
            let k = key(ns, &c.id);
            if t.get(k.as_str())?.is_none() {
                return Err(Error::not_found("container", &c.id));
            }
            t.insert(k.as_str(), c.encode_to_vec().as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_container(&self, ns: &str, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(CONTAINERS)?;
            if t.remove(key(ns, id).as_str())?.is_none() {
                return Err(Error::not_found("container", id));
            }
        }
        tx.commit()?;
        Ok(())
    }
}

pub(crate) fn resource_key(ns: &str, lease: &str, typ: &str, id: &str) -> String {
    format!("{ns}/{lease}\0{typ}\0{id}")
}

impl Store {
    // --- leases ---

    pub fn create_lease(&self, ns: &str, lease: &Lease) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(LEASES)?;
            let k = key(ns, &lease.id);
            if t.get(k.as_str())?.is_some() {
                return Err(Error::exists("lease", &lease.id));
            }
            t.insert(k.as_str(), lease.encode_to_vec().as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn leases(&self, ns: &str) -> Result<Vec<Lease>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(LEASES)?;
        let (lo, hi) = range(ns);
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// Deletes a lease and its resource references (what they pointed at is then up to GC).
    pub fn delete_lease(&self, ns: &str, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(LEASES)?;
            if t.remove(key(ns, id).as_str())?.is_none() {
                return Err(Error::not_found("lease", id));
            }
            let mut r = tx.open_table(LEASE_RESOURCES)?;
            let lo = format!("{ns}/{id}\0");
            let hi = format!("{ns}/{id}\u{1}");
            r.retain_in(lo.as_str()..hi.as_str(), |_, _| false)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn add_lease_resource(&self, ns: &str, lease: &str, typ: &str, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            if tx
                .open_table(LEASES)?
                .get(key(ns, lease).as_str())?
                .is_none()
            {
                return Err(Error::not_found("lease", lease));
            }
            let mut r = tx.open_table(LEASE_RESOURCES)?;
            r.insert(resource_key(ns, lease, typ, id).as_str(), [].as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_lease_resource(&self, ns: &str, lease: &str, typ: &str, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            if tx
                .open_table(LEASES)?
                .get(key(ns, lease).as_str())?
                .is_none()
            {
                return Err(Error::not_found("lease", lease));
            }
            tx.open_table(LEASE_RESOURCES)?
                .remove(resource_key(ns, lease, typ, id).as_str())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The (type, id) resources of a lease.
    pub fn lease_resources(&self, ns: &str, lease: &str) -> Result<Vec<(String, String)>> {
        let tx = self.db.begin_read()?;
        if tx
            .open_table(LEASES)?
            .get(key(ns, lease).as_str())?
            .is_none()
        {
            return Err(Error::not_found("lease", lease));
        }
        let t = tx.open_table(LEASE_RESOURCES)?;
        let lo = format!("{ns}/{lease}\0");
        let hi = format!("{ns}/{lease}\u{1}");
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            let (k, _) = entry?;
            let rest = &k.value()[lo.len()..];
            if let Some((typ, id)) = rest.split_once('\0') {
                out.push((typ.to_string(), id.to_string()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("meta.redb")).unwrap();
        (dir, s)
    }

    fn container(id: &str) -> Container {
        Container {
            id: id.into(),
            ..Container::default()
        }
    }

    #[test]
    fn containers_live_in_namespaces() {
        let (_d, s) = store();
        assert!(s.create_container("a", &container("c1")).unwrap());
        assert!(!s.create_container("a", &container("c2")).unwrap());
        s.create_container("ab", &container("c1")).unwrap();
        assert!(matches!(
            s.create_container("a", &container("c1")),
            Err(Error::AlreadyExists { .. })
        ));
        assert_eq!(s.containers("a").unwrap().len(), 2);
        assert_eq!(s.containers("ab").unwrap().len(), 1);
        assert!(matches!(
            s.container("b", "c1"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            s.delete_namespace("a"),
            Err(Error::FailedPrecondition(_))
        ));
        s.delete_container("a", "c1").unwrap();
        s.delete_container("a", "c2").unwrap();
        s.delete_namespace("a").unwrap();
        assert!(s.namespace("a").unwrap().is_none());
        assert!(s.namespace("ab").unwrap().is_some());
    }

    #[test]
    fn leases_and_resources() {
        let (_d, s) = store();
        let lease = Lease {
            id: "l1".into(),
            ..Lease::default()
        };
        s.create_lease("ns", &lease).unwrap();
        assert!(matches!(
            s.create_lease("ns", &lease),
            Err(Error::AlreadyExists { .. })
        ));
        s.add_lease_resource("ns", "l1", "content", "sha256:abc")
            .unwrap();
        s.add_lease_resource("ns", "l1", "snapshots/overlayfs", "a/b")
            .unwrap();
        assert!(s.add_lease_resource("ns", "l2", "content", "x").is_err());
        let mut r = s.lease_resources("ns", "l1").unwrap();
        r.sort();
        assert_eq!(
            r,
            vec![
                ("content".into(), "sha256:abc".into()),
                ("snapshots/overlayfs".into(), "a/b".into())
            ]
        );
        s.delete_lease_resource("ns", "l1", "content", "sha256:abc")
            .unwrap();
        assert_eq!(s.lease_resources("ns", "l1").unwrap().len(), 1);
        assert!(matches!(
            s.delete_namespace("ns"),
            Err(Error::FailedPrecondition(_)) | Err(Error::NotFound { .. })
        ));
        s.delete_lease("ns", "l1").unwrap();
        assert!(s.lease_resources("ns", "l1").is_err());
        assert!(s.leases("ns").unwrap().is_empty());
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.redb");
        {
            let s = Store::open(&path).unwrap();
            let mut c = container("keep");
            c.labels.insert("k".into(), "v".into());
            s.create_container("default", &c).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.container("default", "keep").unwrap().labels["k"], "v");
    }
}
