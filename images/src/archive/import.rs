//! Importing a tarball: check it whole, then, under a lease, copy its blobs into the
//! Content service, write the image records and unpack them.

use std::io::SeekFrom;
use std::path::Path;

use bytes::Bytes;
use futures_util::Stream;
use myproto::containerd::services::images::v1::Image;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::plan::{BlobSource, ImportPlan, PlannedBlob, plan};
use super::scan::scan;
use crate::client::Client;
use crate::content::BlobWrite;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media;
use crate::platform::Platform;
use crate::progress::{Kind, Progress, ProgressFn, Status};
use crate::records::new_image;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Names OCI ref names (bare tags) as `BASE:TAG`, and keeps only full names that
    /// start with it (ctr's `--base-name`). `None`: only full names are used.
    pub base_name: Option<String>,
    /// The platform unpacked, and followed below indexes.
    pub platform: Platform,
    /// Unpack each image into snapshots (ctr: unless `--no-unpack`).
    pub unpack: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            base_name: None,
            platform: Platform::host(),
            unpack: true,
        }
    }
}

/// ctr's default base name: `import-YYYY-MM-DD`.
pub fn default_base_name() -> String {
    format!("import-{}", chrono::Local::now().format("%Y-%m-%d"))
}

impl Client {
    /// Imports the tarball at `path` (OCI layout or `docker save`); returns the image
    /// records written, in archive order. `progress` hears of each blob and layer.
    pub async fn import(
        &self,
        path: &Path,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<Image>> {
        let owned = path.to_owned();
        let contents = tokio::task::spawn_blocking(move || scan(&owned))
            .await
            .map_err(|e| Error::Archive {
                path: path.display().to_string(),
                reason: e.to_string(),
            })??;
        let plan = plan(&contents, options)?;
        let leased = self.create_lease().await?;
        let result = leased.import_plan(path, &plan, options, progress).await;
        if let Err(e) = leased.delete_lease().await {
            tracing::warn!("{e}");
        }
        result
    }

    async fn import_plan(
        &self,
        path: &Path,
        plan: &ImportPlan,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<Image>> {
        for blob in &plan.blobs {
            self.import_blob(path, blob, progress).await?;
        }
        let mut images = Vec::new();
        for planned in &plan.images {
            let image = new_image(&planned.name, planned.target.clone(), &Default::default());
            if options.unpack {
                match self.resolve_record(&image, &options.platform).await {
                    Ok(resolved) => {
                        self.unpack(&resolved, progress).await?;
                    }
                    // An image for another platform is imported, not unpacked.
                    Err(Error::NoMatchingManifest { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            images.push(self.update_or_create_image(image).await?);
        }
        Ok(images)
    }

    async fn import_blob(
        &self,
        path: &Path,
        blob: &PlannedBlob,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        let digest = Digest::parse(&blob.descriptor.digest)?;
        let size = blob.descriptor.size as u64;
        let kind = crate::pull::blob_kind(&blob.descriptor.media_type);
        let report = |status| {
            progress(&Progress {
                kind,
                id: digest.to_string(),
                total: size,
                done: size,
                status,
            })
        };
        // Lease first, then look (see Client::label_existing).
        self.lease_resource(digest.as_str(), "content").await?;
        if let Some(info) = self.content_info(digest.as_str()).await? {
            let changed = blob
                .labels
                .iter()
                .filter(|(k, v)| info.labels.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.update_content_labels(digest.as_str(), &changed)
                .await?;
            report(Status::Exists);
            return Ok(());
        }
        let write = BlobWrite {
            ingest_ref: format!(
                "{}-{digest}",
                media::ref_key_prefix(&blob.descriptor.media_type)
            ),
            digest: &digest,
            size,
            labels: blob.labels.clone(),
            what: format!("{} {digest}", kind_word(kind)),
        };
        match &blob.source {
            BlobSource::Generated(data) => {
                self.write_bytes(write, Bytes::from(data.clone())).await?;
            }
            BlobSource::File(entry) => {
                let stream = file_region(path, entry.offset, entry.size).await?;
                self.write_content(write, Box::pin(stream), &mut |_| {})
                    .await?;
            }
        }
        report(Status::Done);
        Ok(())
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Index => "index",
        Kind::Manifest => "manifest",
        Kind::Config => "config",
        _ => "layer",
    }
}

/// `size` bytes of the file at `path` from `offset`, in chunks.
async fn file_region(
    path: &Path,
    offset: u64,
    size: u64,
) -> Result<impl Stream<Item = std::io::Result<Bytes>> + use<>> {
    let io_err = |source| Error::Io {
        what: "reading archive",
        path: path.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io_err)?;
    file.seek(SeekFrom::Start(offset)).await.map_err(io_err)?;
    let reader = file.take(size);
    Ok(futures_util::stream::unfold(
        reader,
        |mut reader| async move {
            let mut buf = vec![0u8; 1 << 20];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        },
    ))
}
