//! The content store: blobs by digest, shared by all namespaces, at
//! `<root>/content/blobs/sha256/<hex>`; which namespace sees which blob, and its labels,
//! in the metadata store (as containerd's metadata layer does).
//!
//! A blob file is only ever created by renaming a complete, fsynced, digest-checked
//! ingest into place, and only then recorded; so after a crash a record always has its
//! blob, and a blob without a record is garbage for the collector. Resumable writes live
//! in `ingest.rs`.

mod ingest;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use myproto::containerd::services::content::v1::Info;

pub use ingest::{Ingest, IngestInfo};

use crate::digest;
use crate::error::{Error, Result};
use crate::events::Exchange;
use crate::filters::{Fields, Filter};
use crate::metadata::{Store, clean_labels};

pub struct ContentStore {
    root: PathBuf,
    store: Arc<Store>,
    events: Exchange,
    /// `<ns>/<ref>` of the writes in progress (one writer per ref).
    writing: Mutex<HashSet<String>>,
    /// Held while a blob file and its record change together (a commit), and while the
    /// collector removes blob files, so neither sees the other half-done.
    pub(crate) blob_lock: Mutex<()>,
}

impl Fields for Info {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first().map(String::as_str) {
            Some("digest") if path.len() == 1 => Some(self.digest.clone()),
            Some("labels") if path.len() > 1 => self.labels.get(&path[1..].join(".")).cloned(),
            _ => None,
        }
    }
}

impl ContentStore {
    pub fn open(root: &Path, store: Arc<Store>, events: Exchange) -> Result<Arc<ContentStore>> {
        let root = root.join("content");
        for d in [root.join("blobs/sha256"), root.join("ingest")] {
            std::fs::create_dir_all(&d).map_err(|e| Error::io("creating", &d, e))?;
        }
        let cs = ContentStore {
            root,
            store,
            events,
            writing: Mutex::new(HashSet::new()),
            blob_lock: Mutex::new(()),
        };
        cs.clean_ingests();
        Ok(Arc::new(cs))
    }

    pub fn blob_path(&self, dgst: &str) -> Result<PathBuf> {
        Ok(self.root.join("blobs/sha256").join(digest::hex(dgst)?))
    }

    pub fn info(&self, ns: &str, dgst: &str) -> Result<Info> {
        digest::validate(dgst)?;
        self.store.content_info(ns, dgst)
    }

    pub fn list(&self, ns: &str, filters: &[String]) -> Result<Vec<Info>> {
        let filter = Filter::parse(filters)?;
        Ok(self
            .store
            .content_list(ns)?
            .into_iter()
            .filter(|i| filter.matches(i))
            .collect())
    }

    /// Changes labels (`labels`, `labels.<key>`; no mask means all labels).
    pub fn update(&self, ns: &str, new: Info, paths: Vec<String>) -> Result<Info> {
        digest::validate(&new.digest)?;
        self.store.content_update(ns, &new.digest, |info| {
            if paths.is_empty() {
                info.labels = new.labels.clone();
            }
            for p in &paths {
                if p == "labels" {
                    info.labels = new.labels.clone();
                } else if let Some(k) = p.strip_prefix("labels.") {
                    match new.labels.get(k) {
                        Some(v) => info.labels.insert(k.to_string(), v.clone()),
                        None => info.labels.remove(k),
                    };
                } else {
                    return Err(Error::InvalidArgument(format!(
                        "cannot update {p:?} field on content info {:?}",
                        info.digest
                    )));
                }
            }
            clean_labels(&mut info.labels)?;
            info.updated_at = crate::services::now();
            Ok(())
        })
    }

    /// Removes the namespace's record; the blob file goes with its last record.
    pub fn delete(&self, ns: &str, dgst: &str) -> Result<()> {
        digest::validate(dgst)?;
        let _blobs = self.blob_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.store.content_delete(ns, dgst)? {
            self.remove_blob_file(dgst);
        }
        self.events.publish(
            ns,
            "/content/delete",
            &myproto::containerd::events::ContentDelete {
                digest: dgst.to_string(),
            },
        );
        Ok(())
    }

    /// The blob of a digest the namespace holds, and its size.
    pub fn open_blob(&self, ns: &str, dgst: &str) -> Result<(std::fs::File, i64)> {
        let info = self.info(ns, dgst)?;
        let path = self.blob_path(dgst)?;
        let f = std::fs::File::open(&path).map_err(|e| Error::io("opening blob", &path, e))?;
        Ok((f, info.size))
    }

    /// Removes a blob file (the caller holds `blob_lock` and knows no record names it).
    pub(crate) fn remove_blob_file(&self, dgst: &str) {
        if let Ok(p) = self.blob_path(dgst) {
            match std::fs::remove_file(&p) {
                Ok(()) => tracing::debug!(digest = dgst, "blob removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(digest = dgst, error = %e, "removing blob"),
            }
        }
    }

    /// The digests of every blob file on disk.
    pub(crate) fn blob_files(&self) -> Vec<String> {
        let dir = self.root.join("blobs/sha256");
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .map(|hex| format!("sha256:{hex}"))
                    .filter(|d| digest::validate(d).is_ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}
