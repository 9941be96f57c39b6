//! What an import will do, decided from the scanned archive alone: which images get
//! which names and targets, which blobs go into the store with which labels. OCI
//! layouts are taken as they are (containerd prefers them when both are present);
//! `docker save` archives get a Docker schema 2 manifest written for each image.

use std::collections::{BTreeMap, HashMap};

use myproto::containerd::types::Descriptor;
use oci_spec::image::ImageIndex;
use serde::{Deserialize, Serialize};

use super::import::ImportOptions;
use super::scan::{ArchiveContents, FileEntry, clean};
use crate::digest::Digest;
use crate::error::Result;
use crate::labels;
use crate::manifest;
use crate::media;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::resolve::oci_to_proto;

const MAX_INDEX_DEPTH: usize = 4;

/// An image record the import creates.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedImage {
    pub name: String,
    pub target: Descriptor,
}

/// Where a blob's bytes come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    File(FileEntry),
    /// Made by the import (a manifest for a `docker save` image).
    Generated(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct PlannedBlob {
    pub descriptor: Descriptor,
    pub source: BlobSource,
    /// GC labels for its children.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct ImportPlan {
    pub images: Vec<PlannedImage>,
    /// In the order they are written, each once.
    pub blobs: Vec<PlannedBlob>,
}

impl ImportPlan {
    fn add_blob(&mut self, blob: PlannedBlob) {
        if !self
            .blobs
            .iter()
            .any(|b| b.descriptor.digest == blob.descriptor.digest)
        {
            self.blobs.push(blob);
        }
    }
}

#[derive(Deserialize)]
struct Layout {
    #[serde(rename = "imageLayoutVersion")]
    version: String,
}

/// One image of a `docker save` manifest.json.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// The manifest written for a `docker save` image: Go's field order, as containerd
/// marshals it.
#[derive(Serialize)]
struct DockerManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Desc<'a>,
    layers: Vec<Desc<'a>>,
}

#[derive(Serialize)]
struct Desc<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: &'a str,
    size: u64,
}

fn desc(d: &Descriptor) -> Desc<'_> {
    Desc {
        media_type: &d.media_type,
        digest: &d.digest,
        size: d.size as u64,
    }
}

/// Decides the import of `contents`.
pub fn plan(contents: &ArchiveContents, options: &ImportOptions) -> Result<ImportPlan> {
    if let Some(layout) = contents.small_file("oci-layout")? {
        let layout: Layout = serde_json::from_slice(layout)
            .map_err(|e| contents.error(format!("oci-layout: {e}")))?;
        if layout.version != "1.0.0" {
            return Err(contents.error(format!(
                "unsupported OCI layout version {:?}",
                layout.version
            )));
        }
        return plan_oci(contents, options);
    }
    if contents.files.contains_key("manifest.json") {
        return plan_docker(contents);
    }
    Err(contents.error("unrecognized image format: neither an OCI layout (oci-layout, index.json) nor a docker save archive (manifest.json)"))
}

/// The archive's file for a blob, checked against its descriptor.
fn blob_file<'a>(contents: &'a ArchiveContents, desc: &Descriptor) -> Result<&'a FileEntry> {
    let digest = Digest::parse(&desc.digest)?;
    let name = format!("blobs/sha256/{}", digest.hex());
    let entry = contents
        .files
        .get(&name)
        .ok_or_else(|| contents.error(format!("missing blob {} ({name})", desc.digest)))?;
    if entry.digest != digest {
        return Err(contents.error(format!(
            "bad blob {name}: its content has digest {}",
            entry.digest
        )));
    }
    if entry.size != desc.size as u64 {
        return Err(contents.error(format!(
            "bad blob {name}: {} bytes, its descriptor says {}",
            entry.size, desc.size
        )));
    }
    Ok(entry)
}

fn plan_oci(contents: &ArchiveContents, options: &ImportOptions) -> Result<ImportPlan> {
    let index = contents
        .small_file("index.json")?
        .ok_or_else(|| contents.error("missing index.json in OCI layout"))?;
    let index: ImageIndex = serde_json::from_slice(index).map_err(|e| {
        contents.error(format!(
            "index.json: {}",
            crate::error::one_line(&e.to_string())
        ))
    })?;
    let mut plan = ImportPlan::default();
    for entry in index.manifests() {
        let desc = oci_to_proto(entry);
        walk(contents, &desc, &options.platform, true, 0, &mut plan)?;
        let annotations: HashMap<String, String> = entry.annotations().clone().unwrap_or_default();
        if let Some(name) = image_name(&annotations, options.base_name.as_deref()) {
            plan.images.push(PlannedImage { name, target: desc });
        }
    }
    Ok(plan)
}

/// Adds `desc` and what it refers to. Below an index only the platform's manifests are
/// followed (`top`: an entry of index.json, always followed).
fn walk(
    contents: &ArchiveContents,
    desc: &Descriptor,
    platform: &Platform,
    top: bool,
    depth: usize,
    plan: &mut ImportPlan,
) -> Result<()> {
    let entry = blob_file(contents, desc)?;
    let body = || {
        entry
            .data
            .as_deref()
            .ok_or_else(|| contents.error(format!("{} is too large for a manifest", desc.digest)))
    };
    let mut labels = BTreeMap::new();
    if media::is_index(&desc.media_type) {
        if depth >= MAX_INDEX_DEPTH {
            return Err(contents.error("indexes nested too deep"));
        }
        let index = manifest::parse_index(&desc.digest, body()?)?;
        let children: Vec<Descriptor> = index.manifests().iter().map(oci_to_proto).collect();
        labels = labels::children_gc_labels(
            children
                .iter()
                .map(|d| (d.media_type.as_str(), d.digest.as_str())),
        );
        if let Some(chosen) = manifest::select_manifest(&index, platform).map(oci_to_proto) {
            walk(contents, &chosen, platform, false, depth + 1, plan)?;
        }
    } else if media::is_manifest(&desc.media_type) {
        let m = manifest::parse_manifest(&desc.digest, body()?)?;
        let children: Vec<Descriptor> = std::iter::once(m.config())
            .chain(m.layers().iter())
            .map(oci_to_proto)
            .collect();
        labels = labels::children_gc_labels(
            children
                .iter()
                .map(|d| (d.media_type.as_str(), d.digest.as_str())),
        );
        for child in children {
            let file = blob_file(contents, &child)?;
            plan.add_blob(PlannedBlob {
                descriptor: child,
                source: BlobSource::File(file.clone()),
                labels: BTreeMap::new(),
            });
        }
    } else if top {
        return Err(crate::error::Error::UnsupportedMediaType {
            what: format!("{}: index.json entry {}", contents.display, desc.digest),
            media_type: desc.media_type.clone(),
        });
    }
    plan.add_blob(PlannedBlob {
        descriptor: Descriptor {
            annotations: Default::default(),
            ..desc.clone()
        },
        source: BlobSource::File(entry.clone()),
        labels,
    });
    Ok(())
}

/// containerd's `imageName` with ctr's ref translator (`archive.AddRefPrefix`): the
/// containerd annotation as it is; else the OCI ref name, which, being a bare tag, is
/// put after `base_name` (a full reference must start with `base_name`).
pub(crate) fn image_name(
    annotations: &HashMap<String, String>,
    base_name: Option<&str>,
) -> Option<String> {
    if let Some(name) = annotations
        .get(labels::ANNOTATION_IMAGE_NAME)
        .filter(|n| !n.is_empty())
    {
        return Some(name.clone());
    }
    let ref_name = annotations
        .get(labels::ANNOTATION_REF_NAME)
        .filter(|n| !n.is_empty())?;
    let full = ref_name.contains(['/', ':', '@']);
    match base_name.filter(|b| !b.is_empty()) {
        None if full => Some(ref_name.clone()),
        None => None,
        Some(base) if full => {
            let rest = ref_name.strip_prefix(base)?;
            (rest.starts_with(':') || rest.starts_with('@')).then(|| ref_name.clone())
        }
        Some(base) => Some(format!("{base}:{ref_name}")),
    }
}

fn plan_docker(contents: &ArchiveContents) -> Result<ImportPlan> {
    let manifest_json = contents.small_file("manifest.json")?.unwrap_or_default();
    let images: Vec<DockerImage> = serde_json::from_slice(manifest_json)
        .map_err(|e| contents.error(format!("manifest.json: {e}")))?;
    // repositories: {"repo": {"tag": "<top layer id>"}}, names for images without RepoTags.
    let repositories: BTreeMap<String, BTreeMap<String, String>> =
        match contents.small_file("repositories")? {
            Some(r) => serde_json::from_slice(r)
                .map_err(|e| contents.error(format!("repositories: {e}")))?,
            None => BTreeMap::new(),
        };
    let mut plan = ImportPlan::default();
    for image in images {
        let file = |name: &str| {
            contents.files.get(&clean(name)).ok_or_else(|| {
                contents.error(format!("missing file {name} named in manifest.json"))
            })
        };
        let config_file = file(&image.config)?;
        let config_body = config_file
            .data
            .as_deref()
            .ok_or_else(|| contents.error(format!("{} is too large for a config", image.config)))?;
        let config = manifest::parse_config(config_file.digest.as_str(), config_body)?;
        let config_desc = Descriptor {
            media_type: media::DOCKER_CONFIG.into(),
            digest: config_file.digest.to_string(),
            size: config_file.size as i64,
            annotations: Default::default(),
        };
        let mut layer_descs = Vec::new();
        for layer in &image.layers {
            let f = file(layer)?;
            let desc = Descriptor {
                media_type: media::docker_layer_type(&f.head).into(),
                digest: f.digest.to_string(),
                size: f.size as i64,
                annotations: Default::default(),
            };
            plan.add_blob(PlannedBlob {
                descriptor: desc.clone(),
                source: BlobSource::File(f.clone()),
                labels: BTreeMap::new(),
            });
            layer_descs.push(desc);
        }
        if layer_descs.len() != config.rootfs().diff_ids().len() {
            return Err(contents.error(format!(
                "{}: {} layers but {} diff IDs in its config",
                image.config,
                layer_descs.len(),
                config.rootfs().diff_ids().len()
            )));
        }
        plan.add_blob(PlannedBlob {
            descriptor: config_desc.clone(),
            source: BlobSource::File(config_file.clone()),
            labels: BTreeMap::new(),
        });
        let manifest_body = serde_json::to_vec(&DockerManifest {
            schema_version: 2,
            media_type: media::DOCKER_MANIFEST,
            config: desc(&config_desc),
            layers: layer_descs.iter().map(|d| desc(d)).collect(),
        })
        .expect("serializable");
        let manifest_desc = Descriptor {
            media_type: media::DOCKER_MANIFEST.into(),
            digest: Digest::of(&manifest_body).to_string(),
            size: manifest_body.len() as i64,
            annotations: Default::default(),
        };
        plan.add_blob(PlannedBlob {
            descriptor: manifest_desc.clone(),
            source: BlobSource::Generated(manifest_body),
            labels: labels::children_gc_labels(
                std::iter::once(&config_desc)
                    .chain(layer_descs.iter())
                    .map(|d| (d.media_type.as_str(), d.digest.as_str())),
            ),
        });
        let mut names = image.repo_tags.clone().unwrap_or_default();
        if names.is_empty() {
            let top_layer_id = image
                .layers
                .last()
                .map(|l| clean(l).split('/').next().unwrap_or("").to_owned())
                .unwrap_or_default();
            for (repo, tags) in &repositories {
                for (tag, id) in tags {
                    if *id == top_layer_id {
                        names.push(format!("{repo}:{tag}"));
                    }
                }
            }
        }
        for name in names {
            let reference = Reference::parse(&name)?;
            let full = reference.to_string();
            let mut target = manifest_desc.clone();
            target.annotations = HashMap::from([
                (labels::ANNOTATION_IMAGE_NAME.to_owned(), full.clone()),
                (labels::ANNOTATION_REF_NAME.to_owned(), reference.object()),
            ]);
            plan.images.push(PlannedImage { name: full, target });
        }
    }
    Ok(plan)
}
