//! Pulling an image from a registry on the client side, as containerd 1.x clients do:
//! under a lease, the index (if any), the platform's manifest, its config and its layers
//! go into the Content service (blobs already there are skipped), each labelled for the
//! garbage collector and with its distribution source; then the layers are unpacked
//! into snapshots, the image record is written, and the lease is let go. A failure at
//! any step leaves no image record.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use myproto::containerd::services::images::v1::Image;
use myproto::containerd::types::Descriptor;

use crate::client::Client;
use crate::content::{BlobWrite, Written};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::labels;
use crate::manifest;
use crate::media;
use crate::platform::Platform;
use crate::progress::{Kind, Progress, ProgressFn, Status};
use crate::records::new_image;
use crate::reference::Reference;
use crate::registry::{Registry, RegistryOptions};
use crate::resolve::ResolvedImage;

/// containerd's default number of concurrent layer downloads.
pub const DEFAULT_MAX_CONCURRENT_DOWNLOADS: usize = 3;
/// A config or manifest larger than this is refused (they are a few KiB).
const MAX_METADATA_SIZE: u64 = 16 << 20;
/// Indexes nested deeper than this are refused.
const MAX_INDEX_DEPTH: usize = 4;

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub registry: RegistryOptions,
    pub platform: Platform,
    /// Unpack into snapshots (a pull does; `content fetch` does not).
    pub unpack: bool,
    /// Labels of the image record.
    pub labels: BTreeMap<String, String>,
    /// 0: the default (3).
    pub max_concurrent_downloads: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            registry: RegistryOptions::default(),
            platform: Platform::host(),
            unpack: true,
            labels: BTreeMap::new(),
            max_concurrent_downloads: 0,
        }
    }
}

/// The distribution-source label every fetched blob gets.
struct Source {
    key: String,
    repository: String,
}

/// A blob to fetch into the store.
struct Wanted<'a> {
    kind: Kind,
    media_type: &'a str,
    digest: Digest,
    size: u64,
    /// GC labels for its children.
    labels: BTreeMap<String, String>,
}

impl Wanted<'_> {
    fn what(&self) -> String {
        format!("{} {}", kind_name(self.kind), self.digest)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Reference => "reference",
        Kind::Index => "index",
        Kind::Manifest => "manifest",
        Kind::Config => "config",
        Kind::Layer => "layer",
        Kind::Unpack => "unpack",
    }
}

fn kind_of(media_type: &str) -> Kind {
    if media::is_index(media_type) {
        Kind::Index
    } else if media::is_manifest(media_type) {
        Kind::Manifest
    } else if media::is_config(media_type) {
        Kind::Config
    } else {
        Kind::Layer
    }
}

impl Client {
    /// Pulls `reference` (normalised as Docker does) and records it under its full name;
    /// returns the image record.
    pub async fn pull(
        &self,
        reference: &str,
        options: &PullOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Image> {
        let reference = Reference::parse(reference)?;
        let leased = self.create_lease().await?;
        let result = leased.pull_leased(&reference, options, progress).await;
        if let Err(e) = leased.delete_lease().await {
            tracing::warn!("{e}");
        }
        result
    }

    async fn pull_leased(
        &self,
        reference: &Reference,
        options: &PullOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Image> {
        let registry = Registry::new(reference, &options.registry);
        let name = reference.to_string();
        let event = |status| Progress {
            kind: Kind::Reference,
            id: name.clone(),
            total: 0,
            done: 0,
            status,
        };
        progress(&event(Status::Resolving));
        let (body, digest) = registry.manifest(reference.digest()).await?;
        let media_type = manifest::detect_media_type(digest.as_str(), &body)?;
        progress(&event(Status::Resolved));
        let target = Descriptor {
            media_type: media_type.clone(),
            digest: digest.to_string(),
            size: body.len() as i64,
            annotations: Default::default(),
        };
        let source = Source {
            key: format!(
                "{}{}",
                labels::DISTRIBUTION_SOURCE_PREFIX,
                reference.hostname()
            ),
            repository: reference.path().to_owned(),
        };

        // Down the indexes to the platform's manifest.
        let (mut body, mut digest, mut media_type) = (body, digest, media_type);
        let mut depth = 0;
        while media::is_index(&media_type) {
            depth += 1;
            if depth > MAX_INDEX_DEPTH {
                return Err(Error::BadBlob {
                    what: "index",
                    digest: digest.to_string(),
                    reason: "indexes nested too deep".into(),
                });
            }
            let index = manifest::parse_index(digest.as_str(), &body)?;
            let children: Vec<(String, String)> = index
                .manifests()
                .iter()
                .map(|d| (d.media_type().to_string(), d.digest().to_string()))
                .collect();
            let wanted = Wanted {
                kind: Kind::Index,
                media_type: &media_type,
                digest: digest.clone(),
                size: body.len() as u64,
                labels: labels::children_gc_labels(
                    children.iter().map(|(m, d)| (m.as_str(), d.as_str())),
                ),
            };
            self.store_bytes(&wanted, body.clone(), &source, progress)
                .await?;
            let chosen = manifest::select_manifest(&index, &options.platform).ok_or_else(|| {
                Error::NoMatchingManifest {
                    what: name.clone(),
                    platform: options.platform.to_string(),
                    available: manifest::available_platforms(&index),
                }
            })?;
            let child = Digest::parse(chosen.digest().as_ref())?;
            let child_type = chosen.media_type().to_string();
            body = match self.content_info(child.as_str()).await? {
                Some(_) => Bytes::from(self.read_content(child.as_str()).await?),
                None => registry.manifest(Some(&child)).await?.0,
            };
            if body.len() as u64 != chosen.size() {
                return Err(Error::SizeMismatch {
                    what: format!("manifest {child}"),
                    expected: chosen.size(),
                    actual: body.len() as u64,
                });
            }
            child.verify(&format!("manifest {child}"), &body)?;
            digest = child;
            media_type = child_type;
        }
        if !media::is_manifest(&media_type) {
            return Err(Error::UnsupportedMediaType {
                what: format!("{name}: manifest {digest}"),
                media_type,
            });
        }

        let image_manifest = manifest::parse_manifest(digest.as_str(), &body)?;
        let config_desc = image_manifest.config();
        let mut children = vec![(
            config_desc.media_type().to_string(),
            config_desc.digest().to_string(),
        )];
        children.extend(
            image_manifest
                .layers()
                .iter()
                .map(|l| (l.media_type().to_string(), l.digest().to_string())),
        );
        let manifest_wanted = Wanted {
            kind: Kind::Manifest,
            media_type: &media_type,
            digest: digest.clone(),
            size: body.len() as u64,
            labels: labels::children_gc_labels(
                children.iter().map(|(m, d)| (m.as_str(), d.as_str())),
            ),
        };
        self.store_bytes(&manifest_wanted, body.clone(), &source, progress)
            .await?;

        // The config: small, needed to check the layers against it.
        let config_type = config_desc.media_type().to_string();
        let config_wanted = Wanted {
            kind: Kind::Config,
            media_type: &config_type,
            digest: Digest::parse(config_desc.digest().as_ref())?,
            size: config_desc.size(),
            labels: BTreeMap::new(),
        };
        let config_body = self
            .fetch_metadata(&registry, &config_wanted, &source, progress)
            .await?;
        let config_digest = config_wanted.digest.clone();
        let config = manifest::parse_config(config_digest.as_str(), &config_body)?;
        let diff_ids = manifest::diff_ids(config_digest.as_str(), &config)?;
        if diff_ids.len() != image_manifest.layers().len() {
            return Err(Error::LayerCount {
                digest: digest.to_string(),
                layers: image_manifest.layers().len(),
                diff_ids: diff_ids.len(),
            });
        }

        // The layers, a few at a time.
        let layer_types: Vec<String> = image_manifest
            .layers()
            .iter()
            .map(|l| l.media_type().to_string())
            .collect();
        let mut layers = Vec::new();
        for (layer, media_type) in image_manifest.layers().iter().zip(&layer_types) {
            if !media::is_layer(media_type) {
                return Err(Error::UnsupportedMediaType {
                    what: format!("{name}: layer {}", layer.digest()),
                    media_type: media_type.clone(),
                });
            }
            let wanted = Wanted {
                kind: Kind::Layer,
                media_type,
                digest: Digest::parse(layer.digest().as_ref())?,
                size: layer.size(),
                labels: BTreeMap::new(),
            };
            progress(&Progress {
                kind: Kind::Layer,
                id: wanted.digest.to_string(),
                total: wanted.size,
                done: 0,
                status: Status::Waiting,
            });
            layers.push(wanted);
        }
        let limit = match options.max_concurrent_downloads {
            0 => DEFAULT_MAX_CONCURRENT_DOWNLOADS,
            n => n,
        };
        // Made up front (futures do nothing until polled; buffer_unordered still runs
        // `limit` at a time): a lazy `map` over the slice would keep a closure in this
        // future whose higher-ranked lifetimes rustc cannot prove `Send`.
        let fetches: Vec<_> = layers
            .iter()
            .map(|w| self.fetch_stream(&registry, w, &source, progress))
            .collect();
        futures_util::stream::iter(fetches)
            .buffer_unordered(limit)
            .try_collect::<Vec<()>>()
            .await?;

        let manifest_descriptor = Descriptor {
            media_type: media_type.clone(),
            digest: digest.to_string(),
            size: body.len() as i64,
            annotations: Default::default(),
        };
        if options.unpack {
            let chain_ids = manifest::chain_ids(&diff_ids);
            let resolved = ResolvedImage {
                name: name.clone(),
                target: target.clone(),
                manifest_descriptor,
                manifest: image_manifest,
                config_digest,
                config,
                diff_ids,
                chain_ids,
            };
            self.unpack(&resolved, progress).await?;
        }
        self.create_or_replace_image(new_image(&name, target, &options.labels))
            .await
    }

    /// Stores a blob we hold in memory (an index or manifest from the registry).
    async fn store_bytes(
        &self,
        wanted: &Wanted<'_>,
        body: Bytes,
        source: &Source,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        if self.label_existing(wanted, source).await? {
            report(progress, wanted, wanted.size, Status::Exists);
            return Ok(());
        }
        let written = self
            .write_bytes(self.blob_write(wanted, source, None), body)
            .await?;
        self.after_write(written, wanted, source, progress).await
    }

    /// A config: from the store if it is there, else from the registry into the store.
    async fn fetch_metadata(
        &self,
        registry: &Registry,
        wanted: &Wanted<'_>,
        source: &Source,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<u8>> {
        if wanted.size > MAX_METADATA_SIZE {
            return Err(Error::BadBlob {
                what: kind_name(wanted.kind),
                digest: wanted.digest.to_string(),
                reason: format!("{} bytes is too large", wanted.size),
            });
        }
        if self.label_existing(wanted, source).await? {
            report(progress, wanted, wanted.size, Status::Exists);
            let body = self.read_content(wanted.digest.as_str()).await?;
            wanted.digest.verify(&wanted.what(), &body)?;
            return Ok(body);
        }
        report(progress, wanted, 0, Status::Downloading);
        let mut stream = registry
            .blob(wanted.media_type, &wanted.digest, wanted.size)
            .await?;
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| fetch_error(wanted, source))?;
            body.extend_from_slice(&chunk);
            if body.len() as u64 > wanted.size {
                break;
            }
        }
        if body.len() as u64 != wanted.size {
            return Err(Error::SizeMismatch {
                what: wanted.what(),
                expected: wanted.size,
                actual: body.len() as u64,
            });
        }
        wanted.digest.verify(&wanted.what(), &body)?;
        let written = self
            .write_bytes(
                self.blob_write(wanted, source, None),
                Bytes::from(body.clone()),
            )
            .await?;
        self.after_write(written, wanted, source, progress).await?;
        Ok(body)
    }

    /// A layer, streamed from the registry into the store.
    async fn fetch_stream(
        &self,
        registry: &Registry,
        wanted: &Wanted<'_>,
        source: &Source,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        if self.label_existing(wanted, source).await? {
            report(progress, wanted, wanted.size, Status::Exists);
            return Ok(());
        }
        report(progress, wanted, 0, Status::Downloading);
        let stream = registry
            .blob(wanted.media_type, &wanted.digest, wanted.size)
            .await?;
        let written = self
            .write_content(self.blob_write(wanted, source, None), stream, &mut |done| {
                report(progress, wanted, done, Status::Downloading)
            })
            .await?;
        self.after_write(written, wanted, source, progress).await
    }

    fn blob_write<'a>(
        &self,
        wanted: &'a Wanted<'_>,
        source: &Source,
        existing_source: Option<&str>,
    ) -> BlobWrite<'a> {
        let mut labels = wanted.labels.clone();
        labels.insert(
            source.key.clone(),
            labels::append_distribution_source(existing_source, &source.repository),
        );
        BlobWrite {
            ingest_ref: format!(
                "{}-{}",
                media::ref_key_prefix(wanted.media_type),
                wanted.digest
            ),
            digest: &wanted.digest,
            size: wanted.size,
            labels,
            what: wanted.what(),
        }
    }

    /// Puts the blob under our lease (before looking, so that a collection cannot take
    /// it between the look and the lease); if it is in the store, sets our labels on it
    /// (merging the distribution source); returns whether it was there.
    async fn label_existing(&self, wanted: &Wanted<'_>, source: &Source) -> Result<bool> {
        self.lease_resource(wanted.digest.as_str(), "content")
            .await?;
        let Some(info) = self.content_info(wanted.digest.as_str()).await? else {
            return Ok(false);
        };
        let existing = info.labels.get(&source.key).map(String::as_str);
        let wanted_labels = self.blob_write(wanted, source, existing).labels;
        let changed: BTreeMap<String, String> = wanted_labels
            .into_iter()
            .filter(|(k, v)| info.labels.get(k) != Some(v))
            .collect();
        self.update_content_labels(wanted.digest.as_str(), &changed)
            .await?;
        Ok(true)
    }

    async fn after_write(
        &self,
        written: Written,
        wanted: &Wanted<'_>,
        source: &Source,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        if written == Written::Existed {
            // Another writer stored it meanwhile: our labels still go on it.
            self.label_existing(wanted, source).await?;
            report(progress, wanted, wanted.size, Status::Exists);
        } else {
            report(progress, wanted, wanted.size, Status::Done);
        }
        Ok(())
    }
}

fn report(progress: ProgressFn<'_>, wanted: &Wanted<'_>, done: u64, status: Status) {
    progress(&Progress {
        kind: wanted.kind,
        id: wanted.digest.to_string(),
        total: wanted.size,
        done,
        status,
    });
}

fn fetch_error(wanted: &Wanted<'_>, source: std::io::Error) -> Error {
    Error::Stream {
        what: format!("fetching {}", wanted.what()),
        source,
    }
}

/// The kind of blob a media type names, for progress reports.
pub fn blob_kind(media_type: &str) -> Kind {
    kind_of(media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Daemons spawn pulls and imports on multi-threaded runtimes (myengined's request
    /// handlers), so both futures must be `Send`: checked when the tests compile.
    #[allow(dead_code)]
    fn pull_and_import_futures_are_send(
        client: &Client,
        pull: &PullOptions,
        import: &crate::ImportOptions,
    ) {
        fn send<T: Send>(_: T) {}
        send(client.pull("busybox", pull, &|_| {}));
        send(client.import(std::path::Path::new("x.tar"), import, &|_| {}));
    }
}
