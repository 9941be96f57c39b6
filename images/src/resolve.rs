//! From an image record to what running it needs: the platform's manifest, its config,
//! its layers and their chain IDs, read from the Content service.

use myproto::containerd::services::images::v1::Image;
use myproto::containerd::types::Descriptor;
use oci_spec::image::{Descriptor as OciDescriptor, ImageConfiguration, ImageManifest};

use crate::client::Client;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest;
use crate::media;
use crate::platform::Platform;
use crate::runtime_config::RuntimeConfig;

/// Nested indexes deeper than this are refused (a loop or a hostile image).
const MAX_INDEX_DEPTH: usize = 4;

/// An image resolved for one platform.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The record's name.
    pub name: String,
    /// The record's target (an index or a manifest).
    pub target: Descriptor,
    /// The platform's manifest.
    pub manifest_descriptor: Descriptor,
    pub manifest: ImageManifest,
    pub config_digest: Digest,
    pub config: ImageConfiguration,
    /// One per layer, from the config.
    pub diff_ids: Vec<Digest>,
    /// The chain ID of each layer stack; the last one is the image's root filesystem.
    pub chain_ids: Vec<Digest>,
}

impl ResolvedImage {
    pub fn layers(&self) -> &[OciDescriptor] {
        self.manifest.layers()
    }

    /// The snapshot holding the unpacked image (`None` for an image without layers).
    pub fn top_chain_id(&self) -> Option<&Digest> {
        self.chain_ids.last()
    }

    /// What the config says a container of this image runs.
    pub fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig::from_image(&self.config)
    }

    /// The platform the config declares.
    pub fn platform(&self) -> Platform {
        Platform::new(
            &self.config.os().to_string(),
            &self.config.architecture().to_string(),
            self.config.variant().as_deref(),
        )
    }

    /// Every blob of this image for its platform: the target, the manifest (if the
    /// target is an index), the config and the layers.
    pub fn blobs(&self) -> Vec<Descriptor> {
        let mut all = vec![self.target.clone()];
        if self.manifest_descriptor.digest != self.target.digest {
            all.push(self.manifest_descriptor.clone());
        }
        all.push(oci_to_proto(self.manifest.config()));
        all.extend(self.layers().iter().map(oci_to_proto));
        all
    }
}

/// An OCI descriptor as containerd's wire type.
pub fn oci_to_proto(d: &OciDescriptor) -> Descriptor {
    Descriptor {
        media_type: d.media_type().to_string(),
        digest: d.digest().to_string(),
        size: d.size() as i64,
        annotations: d
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    }
}

impl Client {
    /// The image named `name`, resolved for `platform`.
    pub async fn resolve_image(&self, name: &str, platform: &Platform) -> Result<ResolvedImage> {
        let image = self.get_image(name).await?;
        self.resolve_record(&image, platform).await
    }

    /// `image`, resolved for `platform`.
    pub async fn resolve_record(
        &self,
        image: &Image,
        platform: &Platform,
    ) -> Result<ResolvedImage> {
        let target = image.target.clone().unwrap_or_default();
        let manifest_descriptor = self
            .platform_manifest(&image.name, &target, platform)
            .await?;
        let digest = &manifest_descriptor.digest;
        let body = self.read_content(digest).await?;
        Digest::parse(digest)?.verify(&format!("manifest {digest}"), &body)?;
        let manifest = manifest::parse_manifest(digest, &body)?;
        let config_digest = Digest::parse(manifest.config().digest().as_ref())?;
        let body = self.read_content(config_digest.as_str()).await?;
        config_digest.verify(&format!("config {config_digest}"), &body)?;
        let config = manifest::parse_config(config_digest.as_str(), &body)?;
        let diff_ids = manifest::diff_ids(config_digest.as_str(), &config)?;
        if diff_ids.len() != manifest.layers().len() {
            return Err(Error::LayerCount {
                digest: digest.clone(),
                layers: manifest.layers().len(),
                diff_ids: diff_ids.len(),
            });
        }
        let chain_ids = manifest::chain_ids(&diff_ids);
        Ok(ResolvedImage {
            name: image.name.clone(),
            target,
            manifest_descriptor,
            manifest,
            config_digest,
            config,
            diff_ids,
            chain_ids,
        })
    }

    /// The manifest `target` stands for on `platform`: itself, or its index's choice.
    async fn platform_manifest(
        &self,
        name: &str,
        target: &Descriptor,
        platform: &Platform,
    ) -> Result<Descriptor> {
        let mut current = target.clone();
        for _ in 0..MAX_INDEX_DEPTH {
            if media::is_manifest(&current.media_type) {
                return Ok(current);
            }
            if !media::is_index(&current.media_type) {
                return Err(Error::UnsupportedMediaType {
                    what: format!("image {name:?}"),
                    media_type: current.media_type.clone(),
                });
            }
            let body = self.read_content(&current.digest).await?;
            Digest::parse(&current.digest)?.verify(&format!("index {}", current.digest), &body)?;
            let index = manifest::parse_index(&current.digest, &body)?;
            let chosen = manifest::select_manifest(&index, platform).ok_or_else(|| {
                Error::NoMatchingManifest {
                    what: format!("image {name:?}"),
                    platform: platform.to_string(),
                    available: manifest::available_platforms(&index),
                }
            })?;
            current = oci_to_proto(chosen);
        }
        Err(Error::BadBlob {
            what: "index",
            digest: target.digest.clone(),
            reason: "indexes nested too deep".into(),
        })
    }

    /// The platforms an image record offers (`images ls`): an index's entries, or the
    /// platform of a manifest's config.
    pub async fn image_platforms(&self, image: &Image) -> Result<Vec<Platform>> {
        let target = image.target.clone().unwrap_or_default();
        if media::is_index(&target.media_type) {
            let body = self.read_content(&target.digest).await?;
            let index = manifest::parse_index(&target.digest, &body)?;
            return Ok(index
                .manifests()
                .iter()
                .filter_map(manifest::descriptor_platform)
                .collect());
        }
        let body = self.read_content(&target.digest).await?;
        let manifest = manifest::parse_manifest(&target.digest, &body)?;
        let digest = manifest.config().digest().to_string();
        let config = manifest::parse_config(&digest, &self.read_content(&digest).await?)?;
        Ok(vec![Platform::new(
            &config.os().to_string(),
            &config.architecture().to_string(),
            config.variant().as_deref(),
        )])
    }
}
