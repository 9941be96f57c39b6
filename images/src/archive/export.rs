//! Exporting images as an OCI-layout tarball, as containerd 1.6's exporter writes one:
//! `blobs/sha256/<hex>` (read-only, owner 0, time 0), `index.json` with one entry per
//! image carrying its name in `io.containerd.image.name` and its tag in
//! `org.opencontainers.image.ref.name`, a Docker-compatible `manifest.json`, and
//! `oci-layout`. Re-importing it gives the same digests.

use std::collections::BTreeMap;

use myproto::containerd::types::Descriptor;
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::client::Client;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::labels;
use crate::manifest;
use crate::media;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::resolve::oci_to_proto;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The platform whose manifests (below an index) are exported.
    pub platform: Platform,
    /// Every platform of an index (then all must be present).
    pub all_platforms: bool,
    /// No Docker `manifest.json` (ctr's `--skip-manifest-json`).
    pub skip_manifest_json: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            platform: Platform::host(),
            all_platforms: false,
            skip_manifest_json: false,
        }
    }
}

#[derive(Serialize)]
struct IndexJson {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: Vec<IndexEntry>,
}

/// A descriptor as the image spec spells it (Go's field order).
#[derive(Serialize)]
struct IndexEntry {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// One image of docker's `manifest.json` (`save` writes it too).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DockerEntry {
    pub(super) config: String,
    pub(super) repo_tags: Vec<String>,
    pub(super) layers: Vec<String>,
}

/// Builds tar headers the way ctr's exporter does: owner 0, time 0 (`save` writes
/// its archives with them too).
pub(super) fn header(name: &str, size: u64, mode: u32, dir: bool) -> Result<[u8; 512]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).map_err(|source| Error::Stream {
        what: format!("tar header for {name}"),
        source,
    })?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    let mut out = [0u8; 512];
    out.copy_from_slice(h.as_bytes());
    Ok(out)
}

fn blob_path(digest: &str) -> Result<String> {
    Ok(format!("blobs/sha256/{}", Digest::parse(digest)?.hex()))
}

impl Client {
    /// Writes the images `names` as one OCI-layout tarball to `out`.
    pub async fn export<W: AsyncWrite + Unpin>(
        &self,
        names: &[String],
        out: &mut W,
        options: &ExportOptions,
    ) -> Result<()> {
        let mut blobs: BTreeMap<String, i64> = BTreeMap::new();
        let mut entries = Vec::new();
        let mut docker = Vec::new();
        for name in names {
            let image = self.get_image(name).await?;
            let target = image.target.clone().unwrap_or_default();
            let mut manifests = Vec::new();
            self.collect(&target, options, 0, &mut blobs, &mut manifests)
                .await?;
            let mut annotations: BTreeMap<String, String> =
                target.annotations.clone().into_iter().collect();
            annotations.insert(labels::ANNOTATION_IMAGE_NAME.into(), name.clone());
            let reference = Reference::parse(name).ok();
            annotations.insert(
                labels::ANNOTATION_REF_NAME.into(),
                reference
                    .as_ref()
                    .map(|r| r.object())
                    .unwrap_or_else(|| name.clone()),
            );
            entries.push(IndexEntry {
                media_type: target.media_type.clone(),
                digest: target.digest.clone(),
                size: target.size,
                annotations,
            });
            // Docker's manifest.json knows one manifest per image: the platform's.
            if let Some((config, layers)) = manifests.first() {
                docker.push(DockerEntry {
                    config: blob_path(config)?,
                    repo_tags: reference
                        .filter(|r| r.tag().is_some() && r.digest().is_none())
                        .map(|r| vec![r.familiar()])
                        .unwrap_or_default(),
                    layers: layers.iter().map(|l| blob_path(l)).collect::<Result<_>>()?,
                });
            }
        }

        let io = |source| Error::Stream {
            what: "writing the archive".into(),
            source,
        };
        out.write_all(&header("blobs/", 0, 0o755, true)?)
            .await
            .map_err(io)?;
        out.write_all(&header("blobs/sha256/", 0, 0o755, true)?)
            .await
            .map_err(io)?;
        for (digest, size) in &blobs {
            let size = *size as u64;
            out.write_all(&header(&blob_path(digest)?, size, 0o444, false)?)
                .await
                .map_err(io)?;
            let written = self.read_content_to(digest, out).await?;
            if written != size {
                return Err(Error::SizeMismatch {
                    what: format!("content {digest}"),
                    expected: size,
                    actual: written,
                });
            }
            pad(out, size).await.map_err(io)?;
        }
        let index = serde_json::to_vec(&IndexJson {
            schema_version: 2,
            media_type: media::OCI_INDEX,
            manifests: entries,
        })
        .expect("serializable");
        let mut files = vec![("index.json", index, 0o644)];
        if !options.skip_manifest_json {
            files.push((
                "manifest.json",
                serde_json::to_vec(&docker).expect("serializable"),
                0o644,
            ));
        }
        files.push((
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            0o444,
        ));
        for (name, data, mode) in files {
            out.write_all(&header(name, data.len() as u64, mode, false)?)
                .await
                .map_err(io)?;
            out.write_all(&data).await.map_err(io)?;
            pad(out, data.len() as u64).await.map_err(io)?;
        }
        out.write_all(&[0u8; 1024]).await.map_err(io)?;
        out.flush().await.map_err(io)?;
        Ok(())
    }

    /// Adds `desc` and its children to `blobs`; each manifest's config and layers to
    /// `manifests`.
    async fn collect(
        &self,
        desc: &Descriptor,
        options: &ExportOptions,
        depth: usize,
        blobs: &mut BTreeMap<String, i64>,
        manifests: &mut Vec<(String, Vec<String>)>,
    ) -> Result<()> {
        blobs.insert(desc.digest.clone(), desc.size);
        if media::is_index(&desc.media_type) {
            if depth > 4 {
                return Err(Error::BadBlob {
                    what: "index",
                    digest: desc.digest.clone(),
                    reason: "indexes nested too deep".into(),
                });
            }
            let body = self.read_content(&desc.digest).await?;
            let index = manifest::parse_index(&desc.digest, &body)?;
            let chosen = manifest::select_manifest(&index, &options.platform).map(oci_to_proto);
            for child in index.manifests().iter().map(oci_to_proto) {
                let wanted = options.all_platforms
                    || chosen.as_ref().is_some_and(|c| c.digest == child.digest);
                if wanted {
                    Box::pin(self.collect(&child, options, depth + 1, blobs, manifests)).await?;
                }
            }
        } else if media::is_manifest(&desc.media_type) {
            let body = self.read_content(&desc.digest).await?;
            let m = manifest::parse_manifest(&desc.digest, &body)?;
            let config = m.config().digest().to_string();
            blobs.insert(config.clone(), m.config().size() as i64);
            let mut layers = Vec::new();
            for l in m.layers() {
                blobs.insert(l.digest().to_string(), l.size() as i64);
                layers.push(l.digest().to_string());
            }
            manifests.push((config, layers));
        }
        Ok(())
    }
}

/// Zeros up to the next 512-byte boundary after `size` bytes.
async fn pad<W: AsyncWrite + Unpin>(out: &mut W, size: u64) -> std::io::Result<()> {
    let rest = (512 - size % 512) % 512;
    out.write_all(&vec![0u8; rest as usize]).await
}
