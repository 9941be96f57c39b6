//! Resumable writes ("ingests"), one directory per namespace and ref:
//! `<root>/content/ingest/<sha256 of "<ns>/<ref>">/` holding `data`, `ref`, `namespace`,
//! `startedat`, and `total`, `expected` and `lease` when known. A client that loses its
//! stream (or a daemon that restarts) picks the write up where `data` ends: the digest
//! state is rebuilt by hashing what is there.
//!
//! Commit: fsync `data`, check size and digest, rename it to the blob path, fsync the
//! blob directory, then record it in the namespace; then remove the ingest directory.
//! A crash leaves either a resumable ingest, or a blob without a record (garbage), never
//! a record without its blob. New ingest directories are made under a temporary name and
//! renamed into place, so a half-made one is never resumed; leftovers are cleaned on start.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use myproto::containerd::services::content::v1::{Info, Status};
use sha2::{Digest as _, Sha256};

use super::ContentStore;
use crate::digest;
use crate::error::{Error, Result};
use crate::metadata::clean_labels;
use crate::metadata::content::Committed;

/// `/content/create`: containerd 2.x publishes this on commit (1.6 publishes nothing);
/// our proto package has no such message, so it is declared here with upstream's shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContentCreate {
    #[prost(string, tag = "1")]
    pub digest: String,
    #[prost(int64, tag = "2")]
    pub size: i64,
    #[prost(string, tag = "3")]
    pub media_type: String,
}

impl prost::Name for ContentCreate {
    const NAME: &'static str = "ContentCreate";
    const PACKAGE: &'static str = "containerd.events";
}

/// An ingest as the collector and ListStatuses see it.
#[derive(Debug, Clone)]
pub struct IngestInfo {
    pub namespace: String,
    pub r#ref: String,
    pub expected: String,
    pub lease: Option<String>,
    pub updated_at: SystemTime,
    pub status: Status,
}

/// An open write, owned by one Write stream (the ref stays locked until it is dropped).
pub struct Ingest {
    cs: Arc<ContentStore>,
    ns: String,
    r#ref: String,
    dir: PathBuf,
    file: std::fs::File,
    hasher: Sha256,
    offset: i64,
    total: i64,
    expected: String,
    started_at: SystemTime,
    updated_at: SystemTime,
    lease: Option<String>,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.cs.unlock(&self.ns, &self.r#ref);
    }
}

fn read_str(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
}

fn from_nanos(s: &str) -> Option<SystemTime> {
    let n: u64 = s.trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(n))
}

fn write_file(path: &Path, data: &str) -> Result<()> {
    std::fs::write(path, data).map_err(|e| Error::io("writing", path, e))
}

/// The state of an ingest directory, if it is a complete one of `ns`/`ref`.
fn read_ingest(dir: &Path) -> Option<IngestInfo> {
    let namespace = read_str(dir, "namespace")?;
    let r#ref = read_str(dir, "ref")?;
    let data = std::fs::metadata(dir.join("data")).ok()?;
    let started = read_str(dir, "startedat").and_then(|s| from_nanos(&s))?;
    let updated = data.modified().unwrap_or(started);
    let total = read_str(dir, "total")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let expected = read_str(dir, "expected").unwrap_or_default();
    Some(IngestInfo {
        lease: read_str(dir, "lease"),
        status: Status {
            started_at: Some(started.into()),
            updated_at: Some(updated.into()),
            r#ref: r#ref.clone(),
            offset: data.len() as i64,
            total,
            expected: expected.clone(),
        },
        namespace,
        r#ref,
        expected,
        updated_at: updated,
    })
}

impl ContentStore {
    fn ingest_dir(&self, ns: &str, r#ref: &str) -> PathBuf {
        self.root
            .join("ingest")
            .join(digest::hex_of(&format!("{ns}/{}", r#ref)))
    }

    fn unlock(&self, ns: &str, r#ref: &str) {
        self.writing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&format!("{ns}/{}", r#ref));
    }

    fn lock(&self, ns: &str, r#ref: &str) -> Result<()> {
        if !self
            .writing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{ns}/{}", r#ref))
        {
            return Err(Error::Unavailable(format!(
                "ref {:?} locked: another client is writing it",
                r#ref
            )));
        }
        Ok(())
    }

    /// Removes what a crash may have left: half-made ingest directories, and ingests whose
    /// data was already committed.
    pub(super) fn clean_ingests(&self) {
        let Ok(rd) = std::fs::read_dir(self.root.join("ingest")) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let tmp = e.file_name().to_string_lossy().starts_with("tmp-");
            if tmp || read_ingest(&p).is_none() {
                tracing::info!(path = %p.display(), "removing an incomplete ingest");
                if let Err(e) = crate::tree::remove_tree(&p) {
                    tracing::warn!(path = %p.display(), error = %e, "removing an ingest");
                }
            }
        }
    }

    /// Opens (or resumes) the write of `ref`. AlreadyExists when the namespace already
    /// has the expected digest (which then joins the request's lease).
    pub fn writer(
        self: &Arc<Self>,
        ns: &str,
        r#ref: &str,
        total: i64,
        expected: &str,
        lease: Option<&str>,
    ) -> Result<Ingest> {
        if r#ref.is_empty() {
            return Err(Error::InvalidArgument(
                "first message must have a reference".into(),
            ));
        }
        if !expected.is_empty() {
            digest::validate(expected)?;
        }
        self.lock(ns, r#ref)?;
        let open = || -> Result<Ingest> {
            if !expected.is_empty() && self.store.content_info(ns, expected).is_ok() {
                self.store.content_lease(ns, expected, lease)?;
                return Err(Error::exists("content", expected));
            }
            let dir = self.ingest_dir(ns, r#ref);
            let resumed = read_ingest(&dir).filter(|i| {
                i.namespace == ns
                    && i.r#ref == r#ref
                    && (total <= 0 || i.status.total <= 0 || i.status.total == total)
            });
            let (mut file, hasher, offset, status) = match resumed {
                Some(i) => {
                    let path = dir.join("data");
                    let mut f = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(|e| Error::io("opening", &path, e))?;
                    let mut hasher = Sha256::new();
                    let mut buf = vec![0u8; 1 << 20];
                    let mut n = 0i64;
                    loop {
                        let r = f
                            .read(&mut buf)
                            .map_err(|e| Error::io("reading", &path, e))?;
                        if r == 0 {
                            break;
                        }
                        hasher.update(&buf[..r]);
                        n += r as i64;
                    }
                    tracing::debug!(r#ref, offset = n, "resuming a write");
                    (f, hasher, n, Some(i.status))
                }
                None => {
                    self.make_ingest(&dir, ns, r#ref, total, expected, lease)?;
                    let path = dir.join("data");
                    let f = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(|e| Error::io("opening", &path, e))?;
                    (f, Sha256::new(), 0, None)
                }
            };
            file.seek(SeekFrom::Start(offset as u64))
                .map_err(|e| Error::io("seeking", &dir, e))?;
            self.store.ingest_lease(ns, r#ref, lease, true)?;
            let now = SystemTime::now();
            let started_at = status
                .as_ref()
                .and_then(|s| s.started_at)
                .and_then(|t| SystemTime::try_from(t).ok())
                .unwrap_or(now);
            Ok(Ingest {
                cs: self.clone(),
                ns: ns.to_string(),
                r#ref: r#ref.to_string(),
                dir,
                file,
                hasher,
                offset,
                total: status
                    .as_ref()
                    .map(|s| s.total)
                    .filter(|t| *t > 0)
                    .unwrap_or(total),
                expected: expected.to_string(),
                started_at,
                updated_at: now,
                lease: lease.map(str::to_string),
            })
        };
        match open() {
            Ok(i) => Ok(i),
            Err(e) => {
                self.unlock(ns, r#ref);
                Err(e)
            }
        }
    }

    fn make_ingest(
        &self,
        dir: &Path,
        ns: &str,
        r#ref: &str,
        total: i64,
        expected: &str,
        lease: Option<&str>,
    ) -> Result<()> {
        crate::tree::remove_tree(dir).map_err(|e| Error::io("removing", dir, e))?;
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.with_file_name(format!("tmp-{name}"));
        crate::tree::remove_tree(&tmp).map_err(|e| Error::io("removing", &tmp, e))?;
        std::fs::create_dir(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        write_file(&tmp.join("ref"), r#ref)?;
        write_file(&tmp.join("namespace"), ns)?;
        write_file(
            &tmp.join("startedat"),
            &nanos(SystemTime::now()).to_string(),
        )?;
        if total > 0 {
            write_file(&tmp.join("total"), &total.to_string())?;
        }
        if !expected.is_empty() {
            write_file(&tmp.join("expected"), expected)?;
        }
        if let Some(l) = lease {
            write_file(&tmp.join("lease"), l)?;
        }
        write_file(&tmp.join("data"), "")?;
        std::fs::rename(&tmp, dir).map_err(|e| Error::io("renaming", &tmp, e))?;
        Ok(())
    }

    /// The ingests of every namespace.
    pub fn ingests(&self) -> Vec<IngestInfo> {
        let Ok(rd) = std::fs::read_dir(self.root.join("ingest")) else {
            return Vec::new();
        };
        rd.flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with("tmp-"))
            .filter_map(|e| read_ingest(&e.path()))
            .collect()
    }

    pub fn statuses(&self, ns: &str, filters: &[String]) -> Result<Vec<Status>> {
        let filter = crate::filters::Filter::parse(filters)?;
        Ok(self
            .ingests()
            .into_iter()
            .filter(|i| i.namespace == ns)
            .map(|i| i.status)
            .filter(|s| filter.matches(&RefField(&s.r#ref)))
            .collect())
    }

    pub fn status(&self, ns: &str, r#ref: &str) -> Result<Status> {
        read_ingest(&self.ingest_dir(ns, r#ref))
            .filter(|i| i.namespace == ns && i.r#ref == r#ref)
            .map(|i| i.status)
            .ok_or_else(|| Error::not_found("ref", r#ref))
    }

    /// Drops an ingest and its data.
    pub fn abort(&self, ns: &str, r#ref: &str) -> Result<()> {
        self.lock(ns, r#ref)?;
        let dir = self.ingest_dir(ns, r#ref);
        let r = match read_ingest(&dir).filter(|i| i.namespace == ns && i.r#ref == r#ref) {
            None => Err(Error::not_found("ref", r#ref)),
            Some(i) => crate::tree::remove_tree(&dir)
                .map_err(|e| Error::io("removing", &dir, e))
                .and_then(|()| {
                    self.store
                        .ingest_lease(ns, r#ref, i.lease.as_deref(), false)
                }),
        };
        self.unlock(ns, r#ref);
        r
    }
}

struct RefField<'a>(&'a str);

impl crate::filters::Fields for RefField<'_> {
    fn field(&self, path: &[String]) -> Option<String> {
        (path.len() == 1 && path[0] == "ref").then(|| self.0.to_string())
    }
}

impl Ingest {
    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn total(&self) -> i64 {
        self.total
    }

    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    pub fn updated_at(&self) -> SystemTime {
        self.updated_at
    }

    /// The digest of what has been written so far.
    pub fn digest(&self) -> String {
        digest::format(&self.hasher.clone().finalize())
    }

    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all(data)
            .map_err(|e| Error::io("writing", self.dir.join("data"), e))?;
        self.hasher.update(data);
        self.offset += data.len() as i64;
        self.updated_at = SystemTime::now();
        Ok(())
    }

    /// Starts over (a client writing again from offset 0).
    pub fn truncate(&mut self) -> Result<()> {
        let p = self.dir.join("data");
        self.file
            .set_len(0)
            .map_err(|e| Error::io("truncating", &p, e))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("seeking", &p, e))?;
        self.hasher = Sha256::new();
        self.offset = 0;
        Ok(())
    }

    /// Verifies and publishes the blob. Err(AlreadyExists) when the namespace had it.
    pub fn commit(
        &mut self,
        size: i64,
        expected: &str,
        mut labels: std::collections::HashMap<String, String>,
    ) -> Result<String> {
        let data = self.dir.join("data");
        self.file
            .sync_all()
            .map_err(|e| Error::io("syncing", &data, e))?;
        if size > 0 && size != self.offset {
            return Err(Error::FailedPrecondition(format!(
                "{:?} failed size validation: {} != {size}",
                self.r#ref, self.offset
            )));
        }
        let dgst = self.digest();
        let expected = if expected.is_empty() {
            self.expected.as_str()
        } else {
            expected
        };
        if !expected.is_empty() && expected != dgst {
            return Err(Error::FailedPrecondition(format!(
                "unexpected commit digest {dgst}, expected {expected}"
            )));
        }
        clean_labels(&mut labels)?;
        let target = self.cs.blob_path(&dgst)?;
        let committed = {
            let _blobs = self.cs.blob_lock.lock().unwrap_or_else(|e| e.into_inner());
            if !target.exists() {
                std::fs::rename(&data, &target).map_err(|e| Error::io("renaming", &data, e))?;
                let _ = std::fs::set_permissions(
                    &target,
                    std::os::unix::fs::PermissionsExt::from_mode(0o444),
                );
                if let Some(parent) = target.parent() {
                    std::fs::File::open(parent)
                        .and_then(|d| d.sync_all())
                        .map_err(|e| Error::io("syncing", parent, e))?;
                }
            }
            let now = crate::services::now();
            self.cs.store.content_commit(
                &self.ns,
                &Info {
                    digest: dgst.clone(),
                    size: self.offset,
                    created_at: now,
                    updated_at: now,
                    labels,
                },
                self.lease.as_deref(),
            )?
        };
        if let Err(e) = crate::tree::remove_tree(&self.dir) {
            tracing::warn!(path = %self.dir.display(), error = %e, "removing a committed ingest");
        }
        self.cs
            .store
            .ingest_lease(&self.ns, &self.r#ref, self.lease.as_deref(), false)?;
        match committed {
            Committed::Created(_) => {
                self.cs.events.publish(
                    &self.ns,
                    "/content/create",
                    &ContentCreate {
                        digest: dgst.clone(),
                        size: self.offset,
                        media_type: String::new(),
                    },
                );
                Ok(dgst)
            }
            Committed::Existed => Err(Error::exists("content", &dgst)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Exchange;
    use crate::metadata::Store;

    fn cs(dir: &Path) -> Arc<ContentStore> {
        let store = Arc::new(Store::open(&dir.join("meta.redb")).unwrap());
        ContentStore::open(dir, store, Exchange::default()).unwrap()
    }

    #[test]
    fn writes_resume_verify_and_commit() {
        let t = tempfile::tempdir().unwrap();
        let want = digest::of(b"hello world");
        {
            let c = cs(t.path());
            let mut w = c.writer("ns", "r1", 11, &want, None).unwrap();
            w.write(b"hello ").unwrap();
            assert!(matches!(
                c.writer("ns", "r1", 11, &want, None),
                Err(Error::Unavailable(_))
            ));
            assert_eq!(c.status("ns", "r1").unwrap().offset, 6);
            assert!(c.status("other", "r1").is_err());
        }
        // A restarted store resumes at the offset with the digest state rebuilt.
        let c = cs(t.path());
        let mut w = c.writer("ns", "r1", 11, &want, None).unwrap();
        assert_eq!(w.offset(), 6);
        w.write(b"world").unwrap();
        assert!(matches!(
            w.commit(12, "", Default::default()),
            Err(Error::FailedPrecondition(_))
        ));
        assert!(matches!(
            w.commit(11, &digest::of(b"nope"), Default::default()),
            Err(Error::FailedPrecondition(_))
        ));
        assert_eq!(w.commit(11, "", Default::default()).unwrap(), want);
        drop(w);
        assert_eq!(
            std::fs::read(c.blob_path(&want).unwrap()).unwrap(),
            b"hello world"
        );
        assert_eq!(c.info("ns", &want).unwrap().size, 11);
        assert!(c.statuses("ns", &[]).unwrap().is_empty());
        assert!(matches!(
            c.writer("ns", "r2", 0, &want, None),
            Err(Error::AlreadyExists { .. })
        ));
        // Another namespace writes it again and shares the blob.
        let mut w = c.writer("ns2", "r1", 0, "", None).unwrap();
        w.write(b"hello world").unwrap();
        w.commit(0, &want, Default::default()).unwrap();
        drop(w);
        c.delete("ns", &want).unwrap();
        assert!(c.blob_path(&want).unwrap().exists());
        c.delete("ns2", &want).unwrap();
        assert!(!c.blob_path(&want).unwrap().exists());
    }

    #[test]
    fn abort_and_restart_from_zero() {
        let t = tempfile::tempdir().unwrap();
        let c = cs(t.path());
        let mut w = c.writer("ns", "r", 0, "", None).unwrap();
        w.write(b"garbage").unwrap();
        w.truncate().unwrap();
        w.write(b"ok").unwrap();
        assert_eq!(w.digest(), digest::of(b"ok"));
        assert!(matches!(c.abort("ns", "r"), Err(Error::Unavailable(_))));
        drop(w);
        assert_eq!(c.statuses("ns", &["ref==r".into()]).unwrap().len(), 1);
        c.abort("ns", "r").unwrap();
        assert!(c.status("ns", "r").is_err());
        assert!(matches!(c.abort("ns", "r"), Err(Error::NotFound { .. })));
    }
}
