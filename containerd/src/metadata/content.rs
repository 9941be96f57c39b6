//! Content records: which blobs a namespace sees, with their size, times and labels.

use myproto::containerd::services::content::v1::Info;
use prost::Message;
use redb::{ReadableDatabase, ReadableTable};

use super::{
    CONTENT, CONTENT_NAMESPACES, Store, decode, ensure_namespace, key, lease_add, lease_remove,
    range,
};
use crate::error::{Error, Result};

fn ns_key(digest: &str, ns: &str) -> String {
    format!("{digest}/{ns}")
}

/// What a commit did.
#[derive(Debug, PartialEq)]
pub enum Committed {
    Created(Info),
    /// The namespace already had this blob (its lease, if any, now holds it).
    Existed,
}

impl Store {
    pub fn content_info(&self, ns: &str, digest: &str) -> Result<Info> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTENT)?;
        match t.get(key(ns, digest).as_str())? {
            Some(v) => decode(v.value()),
            None => Err(Error::not_found("content", digest)),
        }
    }

    pub fn content_list(&self, ns: &str) -> Result<Vec<Info>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTENT)?;
        let (lo, hi) = range(ns);
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// Whether any namespace holds `digest`.
    pub fn content_held(&self, digest: &str) -> Result<bool> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CONTENT_NAMESPACES)?;
        let lo = format!("{digest}/");
        let hi = format!("{digest}0");
        Ok(t.range(lo.as_str()..hi.as_str())?.next().is_some())
    }

    /// Records a committed blob in `ns`, and puts it in the request's lease.
    pub fn content_commit(&self, ns: &str, info: &Info, lease: Option<&str>) -> Result<Committed> {
        let tx = self.db.begin_write()?;
        let out = {
            ensure_namespace(&tx, ns)?;
            lease_add(&tx, ns, lease, "content", &info.digest)?;
            let mut t = tx.open_table(CONTENT)?;
            let k = key(ns, &info.digest);
            if t.get(k.as_str())?.is_some() {
                Committed::Existed
            } else {
                t.insert(k.as_str(), info.encode_to_vec().as_slice())?;
                tx.open_table(CONTENT_NAMESPACES)?
                    .insert(ns_key(&info.digest, ns).as_str(), [].as_slice())?;
                Committed::Created(info.clone())
            }
        };
        tx.commit()?;
        Ok(out)
    }

    /// Puts existing content in a lease (a writer found it already there).
    pub fn content_lease(&self, ns: &str, digest: &str, lease: Option<&str>) -> Result<()> {
        if lease.is_none() {
            return Ok(());
        }
        let tx = self.db.begin_write()?;
        lease_add(&tx, ns, lease, "content", digest)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a resumable write in a lease (or takes it out again).
    pub fn ingest_lease(
        &self,
        ns: &str,
        r#ref: &str,
        lease: Option<&str>,
        add: bool,
    ) -> Result<()> {
        if lease.is_none() {
            return Ok(());
        }
        let tx = self.db.begin_write()?;
        if add {
            lease_add(&tx, ns, lease, "ingests", r#ref)?;
        } else {
            lease_remove(&tx, ns, lease, "ingests", r#ref)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Changes a record in place; `f` sees the stored one.
    pub fn content_update(
        &self,
        ns: &str,
        digest: &str,
        f: impl FnOnce(&mut Info) -> Result<()>,
    ) -> Result<Info> {
        let tx = self.db.begin_write()?;
        let info = {
            let mut t = tx.open_table(CONTENT)?;
            let k = key(ns, digest);
            let mut info: Info = match t.get(k.as_str())? {
                Some(v) => decode(v.value())?,
                None => return Err(Error::not_found("content", digest)),
            };
            f(&mut info)?;
            t.insert(k.as_str(), info.encode_to_vec().as_slice())?;
            info
        };
        tx.commit()?;
        Ok(info)
    }

    /// Removes the namespace's record; true when no namespace holds the blob any more.
    pub fn content_delete(&self, ns: &str, digest: &str) -> Result<bool> {
        let tx = self.db.begin_write()?;
        let last = {
            let mut t = tx.open_table(CONTENT)?;
            if t.remove(key(ns, digest).as_str())?.is_none() {
                return Err(Error::not_found("content", digest));
            }
            let mut n = tx.open_table(CONTENT_NAMESPACES)?;
            n.remove(ns_key(digest, ns).as_str())?;
            let lo = format!("{digest}/");
            let hi = format!("{digest}0");
            n.range(lo.as_str()..hi.as_str())?.next().is_none()
        };
        tx.commit()?;
        Ok(last)
    }
}

/// Removes a record inside a caller's transaction (garbage collection).
pub(crate) fn remove_in(tx: &redb::WriteTransaction, ns: &str, digest: &str) -> Result<()> {
    tx.open_table(CONTENT)?.remove(key(ns, digest).as_str())?;
    tx.open_table(CONTENT_NAMESPACES)?
        .remove(ns_key(digest, ns).as_str())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_per_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("m.redb")).unwrap();
        let info = Info {
            digest: "sha256:aa".into(),
            size: 3,
            ..Info::default()
        };
        assert!(matches!(
            s.content_commit("a", &info, None).unwrap(),
            Committed::Created(_)
        ));
        assert_eq!(
            s.content_commit("a", &info, None).unwrap(),
            Committed::Existed
        );
        s.content_commit("b", &info, None).unwrap();
        assert!(s.content_info("c", "sha256:aa").is_err());
        assert!(!s.content_delete("a", "sha256:aa").unwrap());
        assert!(s.content_held("sha256:aa").unwrap());
        assert!(s.content_delete("b", "sha256:aa").unwrap());
        assert!(!s.content_held("sha256:aa").unwrap());
        assert!(s.content_commit("a", &info, Some("nolease")).is_err());
    }
}
