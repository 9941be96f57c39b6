//! What containers and volumes take on disk, for `GET /system/df` (the images' part is
//! in `images.rs`, beside the image listing it extends).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use engine_api::filters::Filters;
use engine_api::volumes::{UsageData, Volume};

use super::Daemon;
use crate::error::{Error, Result};

impl Daemon {
    /// Bytes in a container's writable layer: the usage of its snapshot (keyed by the
    /// container ID); 0 when the snapshotter cannot tell.
    pub async fn container_size_rw(&self, id: &str) -> i64 {
        match self.images.snapshot_usage(id).await {
            Ok(u) => u.size,
            Err(e) => {
                tracing::debug!(container_id = id, "snapshot usage: {e}");
                0
            }
        }
    }

    /// Every volume with its usage: the bytes under its data directory and how many
    /// containers refer to it.
    pub async fn volume_disk_usage(&self) -> Result<Vec<Volume>> {
        let mut volumes = self.list_volumes(&Filters::default())?.volumes;
        let records: Vec<_> = self.all_containers().iter().map(|c| c.record()).collect();
        for v in &mut volumes {
            let path = self.volumes.data_path(&v.name);
            let size = tokio::task::spawn_blocking(move || dir_size(&path))
                .await
                .map_err(Error::Handler)?;
            let ref_count = records
                .iter()
                .filter(|r| r.volumes.iter().any(|m| m.name == v.name))
                .count() as i64;
            v.usage_data = Some(UsageData {
                ref_count,
                size: size.map_or(-1, |s| s as i64),
            });
        }
        Ok(volumes)
    }
}

/// Bytes of the files under `root` (symlinks not followed, a hard-linked file counted
/// once), as Docker's `directory.Size`; None when `root` cannot be read.
fn dir_size(root: &Path) -> Option<u64> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_owned()];
    std::fs::symlink_metadata(root).ok()?;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.nlink() < 2 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_sizes_count_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![0u8; 1000]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![0u8; 24]).unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("sub/a2")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let link_len = std::fs::symlink_metadata(dir.path().join("link"))
            .unwrap()
            .len();
        assert_eq!(dir_size(dir.path()), Some(1024 + link_len));
        assert_eq!(dir_size(&dir.path().join("missing")), None);
    }
}
