//! `docker save`: one tarball that both loaders read, as Docker 25+ writes it. It is an
//! OCI layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) and a docker-archive
//! (`manifest.json`, `repositories`) over the same blobs. Layers are stored uncompressed,
//! named by their diff ID, because docker-archive loaders (Docker 20.10's among them)
//! check each layer file against the config's `rootfs.diff_ids`; each image therefore
//! gets a new OCI manifest naming the uncompressed layers, while its config, and so its
//! image ID, stays the same.
//!
//! Saving is two passes over the compressed blobs: [`Client::plan_save`] decompresses
//! every layer once to learn its size (a tar header needs it first) and to check its
//! diff ID, before the caller has sent anything; [`Client::write_save`] then streams.
//! Nothing is held in memory beyond a chunk of a layer.

use std::collections::BTreeMap;
use std::io::Write;

use myproto::containerd::services::content::v1::ReadContentRequest;
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::export::{DockerEntry, header};
use crate::client::Client;
use crate::digest::{Digest, Verifier};
use crate::error::{Error, Result};
use crate::labels;
use crate::media;
use crate::reference::Reference;
use crate::resolve::ResolvedImage;

/// One image to save and the names it is saved under (full references such as
/// `docker.io/library/busybox:latest`; none for an image saved by ID).
#[derive(Debug, Clone)]
pub struct SaveImage {
    pub resolved: ResolvedImage,
    pub names: Vec<String>,
}

/// A layer as saved: the compressed blob it comes from and its uncompressed size.
#[derive(Debug, Clone)]
struct SavedLayer {
    blob: String,
    media_type: String,
    size: u64,
}

/// Everything a save writes except the layers' content, which is streamed.
#[derive(Debug, Default)]
pub struct SavePlan {
    /// By diff ID.
    layers: BTreeMap<String, SavedLayer>,
    /// Configs and generated manifests by digest.
    small: BTreeMap<String, Vec<u8>>,
    index: Vec<IndexEntry>,
    docker: Vec<DockerEntry>,
    repositories: BTreeMap<String, BTreeMap<String, String>>,
}

impl SavePlan {
    /// The bytes of the layers as they will be written (uncompressed).
    pub fn layers_size(&self) -> u64 {
        self.layers.values().map(|l| l.size).sum()
    }
}

#[derive(Serialize)]
struct IndexJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: &'a [IndexEntry],
}

#[derive(Debug, Serialize)]
struct IndexEntry {
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct OciManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

/// How a layer blob is compressed, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn compression(media_type: &str) -> Result<Compression> {
    if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Ok(Compression::Gzip)
    } else if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
        Ok(Compression::Zstd)
    } else if media_type.ends_with(".tar") || media_type.ends_with(".tar.v1") {
        Ok(Compression::None)
    } else {
        Err(Error::UnsupportedMediaType {
            what: "saving a layer".into(),
            media_type: media_type.to_owned(),
        })
    }
}

/// Where decompressed bytes go: hashed always, kept for the writer when streaming.
struct Sink {
    verifier: Verifier,
    keep: bool,
    buf: Vec<u8>,
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.verifier.update(data);
        if self.keep {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    Plain(Sink),
    Gzip(Box<flate2::write::MultiGzDecoder<Sink>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Sink>>),
}

impl Decoder {
    fn new(kind: Compression, keep: bool) -> std::io::Result<Decoder> {
        let sink = Sink {
            verifier: Verifier::new(),
            keep,
            buf: Vec::new(),
        };
        Ok(match kind {
            Compression::None => Decoder::Plain(sink),
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(sink))),
            Compression::Zstd => Decoder::Zstd(Box::new(zstd::stream::write::Decoder::new(sink)?)),
        })
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Decoder::Plain(s) => s.write_all(data),
            Decoder::Gzip(d) => d.write_all(data),
            Decoder::Zstd(d) => d.write_all(data),
        }
    }

    fn sink(&mut self) -> &mut Sink {
        match self {
            Decoder::Plain(s) => s,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Zstd(d) => d.get_mut(),
        }
    }

    fn finish(self) -> std::io::Result<Sink> {
        match self {
            Decoder::Plain(s) => Ok(s),
            Decoder::Gzip(d) => d.finish(),
            Decoder::Zstd(mut d) => {
                d.flush()?;
                Ok(d.into_inner())
            }
        }
    }
}

impl Client {
    /// Reads the layers of `images` once (checking each against its diff ID) and lays
    /// out the archive. Errors here come before anything is written.
    pub async fn plan_save(&self, images: &[SaveImage]) -> Result<SavePlan> {
        let mut plan = SavePlan::default();
        for image in images {
            let r = &image.resolved;
            if r.layers().len() != r.diff_ids.len() {
                return Err(Error::LayerCount {
                    digest: r.config_digest.to_string(),
                    layers: r.layers().len(),
                    diff_ids: r.diff_ids.len(),
                });
            }
            let mut layer_descs = Vec::new();
            for (layer, diff_id) in r.layers().iter().zip(&r.diff_ids) {
                let key = diff_id.to_string();
                if !plan.layers.contains_key(&key) {
                    let saved = SavedLayer {
                        blob: layer.digest().to_string(),
                        media_type: layer.media_type().to_string(),
                        size: 0,
                    };
                    let size = self
                        .decompress_layer(&saved, diff_id, None::<&mut tokio::io::Sink>)
                        .await?;
                    plan.layers
                        .insert(key.clone(), SavedLayer { size, ..saved });
                }
                layer_descs.push(Descriptor {
                    media_type: media::OCI_LAYER,
                    digest: key.clone(),
                    size: plan.layers[&key].size,
                });
            }
            let config_digest = r.config_digest.to_string();
            let config = self.read_content(&config_digest).await?;
            r.config_digest.verify("image config", &config)?;
            let manifest = serde_json::to_vec(&OciManifest {
                schema_version: 2,
                media_type: media::OCI_MANIFEST,
                config: Descriptor {
                    media_type: media::OCI_CONFIG,
                    digest: config_digest.clone(),
                    size: config.len() as u64,
                },
                layers: layer_descs,
            })
            .expect("serializable");
            let manifest_digest = Digest::of(&manifest);
            let manifest_size = manifest.len() as u64;
            plan.small.insert(config_digest.clone(), config);
            plan.small.insert(manifest_digest.to_string(), manifest);

            let mut tags = Vec::new();
            for name in &image.names {
                let reference = Reference::parse(name)?;
                plan.index.push(IndexEntry {
                    media_type: media::OCI_MANIFEST,
                    digest: manifest_digest.to_string(),
                    size: manifest_size,
                    annotations: BTreeMap::from([
                        (
                            labels::ANNOTATION_IMAGE_NAME.to_owned(),
                            reference.to_string(),
                        ),
                        (labels::ANNOTATION_REF_NAME.to_owned(), reference.object()),
                    ]),
                });
                if let Some(tag) = reference.tag().filter(|_| reference.digest().is_none()) {
                    let familiar = reference.familiar();
                    let repo = familiar
                        .rsplit_once(':')
                        .map_or(familiar.as_str(), |(repo, _)| repo)
                        .to_owned();
                    if let Some(top) = r.diff_ids.last() {
                        plan.repositories
                            .entry(repo)
                            .or_default()
                            .insert(tag.to_owned(), top.hex().to_owned());
                    }
                    tags.push(familiar);
                }
            }
            if image.names.is_empty() {
                plan.index.push(IndexEntry {
                    media_type: media::OCI_MANIFEST,
                    digest: manifest_digest.to_string(),
                    size: manifest_size,
                    annotations: BTreeMap::new(),
                });
            }
            plan.docker.push(DockerEntry {
                config: blob_path(&r.config_digest),
                repo_tags: tags,
                layers: r.diff_ids.iter().map(blob_path).collect(),
            });
        }
        Ok(plan)
    }

    /// Streams the archive `plan` describes to `out`.
    pub async fn write_save<W: AsyncWrite + Unpin>(
        &self,
        plan: &SavePlan,
        out: &mut W,
    ) -> Result<()> {
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
        for (diff_id, layer) in &plan.layers {
            let digest = Digest::parse(diff_id)?;
            out.write_all(&header(&blob_path(&digest), layer.size, 0o444, false)?)
                .await
                .map_err(io)?;
            self.decompress_layer(layer, &digest, Some(&mut *out))
                .await?;
            pad(out, layer.size).await.map_err(io)?;
        }
        let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
        for (digest, data) in &plan.small {
            files.push((blob_path(&Digest::parse(digest)?), data.clone(), 0o444));
        }
        let index = serde_json::to_vec(&IndexJson {
            schema_version: 2,
            media_type: media::OCI_INDEX,
            manifests: &plan.index,
        })
        .expect("serializable");
        files.push(("index.json".into(), index, 0o644));
        files.push((
            "manifest.json".into(),
            serde_json::to_vec(&plan.docker).expect("serializable"),
            0o644,
        ));
        if !plan.repositories.is_empty() {
            files.push((
                "repositories".into(),
                serde_json::to_vec(&plan.repositories).expect("serializable"),
                0o644,
            ));
        }
        files.push((
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            0o444,
        ));
        for (name, data, mode) in files {
            out.write_all(&header(&name, data.len() as u64, mode, false)?)
                .await
                .map_err(io)?;
            out.write_all(&data).await.map_err(io)?;
            pad(out, data.len() as u64).await.map_err(io)?;
        }
        out.write_all(&[0u8; 1024]).await.map_err(io)?;
        out.flush().await.map_err(io)?;
        Ok(())
    }

    /// Decompresses the layer's blob, into `out` if given; checks the result against
    /// `diff_id` (and, when writing, against the size planned); returns its size.
    async fn decompress_layer<W: AsyncWrite + Unpin>(
        &self,
        layer: &SavedLayer,
        diff_id: &Digest,
        mut out: Option<&mut W>,
    ) -> Result<u64> {
        let what = || format!("reading layer {}", layer.blob);
        let stream_error = |source| Error::Stream {
            what: what(),
            source,
        };
        let mut decoder =
            Decoder::new(compression(&layer.media_type)?, out.is_some()).map_err(stream_error)?;
        let mut stream = self
            .content()
            .read(self.request(ReadContentRequest {
                digest: layer.blob.clone(),
                offset: 0,
                size: 0,
            }))
            .await
            .map_err(|s| Error::rpc(what(), s))?
            .into_inner();
        while let Some(chunk) = stream.message().await.map_err(|s| Error::rpc(what(), s))? {
            decoder.write(&chunk.data).map_err(stream_error)?;
            if let Some(out) = out.as_deref_mut() {
                let sink = decoder.sink();
                out.write_all(&sink.buf).await.map_err(stream_error)?;
                sink.buf.clear();
            }
        }
        let sink = decoder.finish().map_err(stream_error)?;
        if let Some(out) = out.as_deref_mut() {
            out.write_all(&sink.buf).await.map_err(stream_error)?;
        }
        let size = sink.verifier.size();
        if out.is_some() && size != layer.size {
            return Err(Error::SizeMismatch {
                what: format!("layer {diff_id}"),
                expected: layer.size,
                actual: size,
            });
        }
        let actual = sink.verifier.digest();
        if actual != *diff_id {
            return Err(Error::DiffIdMismatch {
                layer: layer.blob.clone(),
                expected: diff_id.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(size)
    }
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Zeros up to the next 512-byte boundary after `size` bytes.
async fn pad<W: AsyncWrite + Unpin>(out: &mut W, size: u64) -> std::io::Result<()> {
    let rest = (512 - size % 512) % 512;
    out.write_all(&vec![0u8; rest as usize]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_compression_comes_from_the_media_type() {
        assert_eq!(
            compression(media::DOCKER_LAYER_GZIP).unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            compression(media::OCI_LAYER_GZIP).unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            compression(media::OCI_LAYER_ZSTD).unwrap(),
            Compression::Zstd
        );
        assert_eq!(compression(media::OCI_LAYER).unwrap(), Compression::None);
        assert_eq!(compression(media::DOCKER_LAYER).unwrap(), Compression::None);
        assert!(compression("application/json").is_err());
    }

    #[test]
    fn gzip_layers_decompress_to_their_diff_id() {
        let data = b"layer content ".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let compressed = gz.finish().unwrap();
        let mut d = Decoder::new(Compression::Gzip, true).unwrap();
        for chunk in compressed.chunks(100) {
            d.write(chunk).unwrap();
        }
        let sink = d.finish().unwrap();
        assert_eq!(sink.buf, data);
        assert_eq!(sink.verifier.size(), data.len() as u64);
        assert_eq!(sink.verifier.digest(), Digest::of(&data));
    }
}
