//! Parsing indexes, manifests and configs (OCI and Docker v2 schema 2 share one shape),
//! choosing a platform's manifest from an index, and layer chain IDs.

use oci_spec::image::{Descriptor as OciDescriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media;
use crate::platform::Platform;

/// What every manifest-like document starts with.
#[derive(Deserialize)]
struct Versioned {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
}

fn bad(what: &'static str, digest: &str, reason: impl ToString) -> Error {
    Error::BadBlob {
        what,
        digest: digest.to_owned(),
        reason: crate::error::one_line(&reason.to_string()),
    }
}

/// The media type of a manifest or index: its `mediaType` field, else (OCI makes the
/// field optional) what its fields say it is.
pub fn detect_media_type(digest: &str, body: &[u8]) -> Result<String> {
    let v: Versioned = serde_json::from_slice(body).map_err(|e| bad("manifest", digest, e))?;
    if let Some(mt) = v.media_type.filter(|m| !m.is_empty()) {
        if mt == media::DOCKER_SCHEMA1_MANIFEST || mt == media::DOCKER_SCHEMA1_SIGNED {
            return Err(Error::UnsupportedMediaType {
                what: format!("manifest {digest} (Docker schema 1)"),
                media_type: mt,
            });
        }
        return Ok(mt);
    }
    if v.schema_version == 1 {
        return Err(Error::UnsupportedMediaType {
            what: format!("manifest {digest} (Docker schema 1)"),
            media_type: media::DOCKER_SCHEMA1_SIGNED.to_owned(),
        });
    }
    match (v.manifests.is_some(), v.layers.is_some()) {
        (true, false) => Ok(media::OCI_INDEX.to_owned()),
        (false, true) => Ok(media::OCI_MANIFEST.to_owned()),
        _ => Err(bad("manifest", digest, "neither an index nor a manifest")),
    }
}

pub fn parse_index(digest: &str, body: &[u8]) -> Result<ImageIndex> {
    serde_json::from_slice(body).map_err(|e| bad("index", digest, e))
}

pub fn parse_manifest(digest: &str, body: &[u8]) -> Result<ImageManifest> {
    let manifest: ImageManifest =
        serde_json::from_slice(body).map_err(|e| bad("manifest", digest, e))?;
    if manifest.schema_version() != 2 {
        return Err(bad("manifest", digest, "schemaVersion is not 2"));
    }
    Ok(manifest)
}

pub fn parse_config(digest: &str, body: &[u8]) -> Result<ImageConfiguration> {
    serde_json::from_slice(body).map_err(|e| bad("config", digest, e))
}

/// The platform an index entry is for, if it says.
pub fn descriptor_platform(desc: &OciDescriptor) -> Option<Platform> {
    desc.platform().as_ref().map(Platform::from_oci)
}

/// The manifest of `index` for `platform`: containerd keeps the entries whose platform
/// matches (and those with none) and takes the best: an exact variant before any other,
/// then index order.
pub fn select_manifest<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
) -> Option<&'a OciDescriptor> {
    let candidates = index.manifests().iter().filter(|d| {
        let mt = d.media_type().to_string();
        media::is_manifest(&mt) || media::is_index(&mt)
    });
    let mut best: Option<(u8, &OciDescriptor)> = None;
    for desc in candidates {
        let rank = match descriptor_platform(desc) {
            Some(p) if platform.matches(&p) && p.variant == platform.variant => 0,
            Some(p) if platform.matches(&p) => 1,
            Some(_) => continue,
            None => 2,
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, desc));
        }
    }
    best.map(|(_, d)| d)
}

/// The platforms an index offers, for error messages.
pub fn available_platforms(index: &ImageIndex) -> String {
    let list: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(descriptor_platform)
        .map(|p| p.to_string())
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// Chain IDs of a stack of layers (image-spec `config.md#layer-chainid`):
/// `ChainID(L0) = DiffID(L0)`, `ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::of(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The diff IDs of a config, validated.
pub fn diff_ids(config_digest: &str, config: &ImageConfiguration) -> Result<Vec<Digest>> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| Digest::parse(d).map_err(|e| bad("config", config_digest, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    fn index(entries: &[(&str, Option<&str>)]) -> ImageIndex {
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(digest, platform)| {
                let mut e = serde_json::json!({
                    "mediaType": media::OCI_MANIFEST, "digest": digest, "size": 1
                });
                if let Some(p) = platform {
                    let parts: Vec<&str> = p.split('/').collect();
                    let mut pj = serde_json::json!({"os": parts[0], "architecture": parts[1]});
                    if let Some(v) = parts.get(2) {
                        pj["variant"] = serde_json::json!(v);
                    }
                    e["platform"] = pj;
                }
                e
            })
            .collect();
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests
        });
        parse_index("test", body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn selects_the_platforms_manifest() {
        let amd64 = Platform::parse("linux/amd64").unwrap();
        let i = index(&[
            (A, Some("linux/arm64")),
            (B, Some("linux/amd64")),
            (C, None),
        ]);
        assert_eq!(select_manifest(&i, &amd64).unwrap().digest().to_string(), B);
        // An exact variant beats a looser match that comes first.
        let i = index(&[(A, Some("linux/arm/v6")), (B, Some("linux/arm/v7"))]);
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(select_manifest(&i, &v7).unwrap().digest().to_string(), B);
        // Entries without a platform are the fallback.
        let i = index(&[(A, Some("linux/arm64")), (C, None)]);
        assert_eq!(select_manifest(&i, &amd64).unwrap().digest().to_string(), C);
        let i = index(&[(A, Some("linux/arm64")), (B, Some("windows/amd64"))]);
        assert!(select_manifest(&i, &amd64).is_none());
        assert_eq!(available_platforms(&i), "linux/arm64, windows/amd64");
        // amd64 without variant takes amd64/v2 too.
        let i = index(&[(A, Some("linux/amd64/v2"))]);
        assert_eq!(select_manifest(&i, &amd64).unwrap().digest().to_string(), A);
    }

    #[test]
    fn media_types_are_read_or_inferred() {
        let d = "sha256:x";
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}"#;
        assert_eq!(
            detect_media_type(d, docker).unwrap(),
            media::DOCKER_MANIFEST
        );
        let oci = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert_eq!(detect_media_type(d, oci).unwrap(), media::OCI_MANIFEST);
        let idx = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(detect_media_type(d, idx).unwrap(), media::OCI_INDEX);
        let schema1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(
            detect_media_type(d, schema1)
                .unwrap_err()
                .to_string()
                .contains("schema 1")
        );
        assert!(detect_media_type(d, b"{not json").is_err());
        assert!(detect_media_type(d, b"{}").is_err());
    }

    #[test]
    fn manifests_and_configs_parse_or_fail_clearly() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{A}","size":2}},"layers":[{{"mediaType":"{}","digest":"{B}","size":3}}]}}"#,
            media::DOCKER_MANIFEST,
            media::DOCKER_CONFIG,
            media::DOCKER_LAYER_GZIP
        );
        let m = parse_manifest("m", m.as_bytes()).unwrap();
        assert_eq!(
            m.layers()[0].media_type().to_string(),
            media::DOCKER_LAYER_GZIP
        );
        assert_eq!(m.config().digest().to_string(), A);
        let e = parse_manifest("sha256:m", b"{\"schemaVersion\":2}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("manifest sha256:m: "), "{e}");
        let e = parse_config("sha256:c", b"[]").unwrap_err().to_string();
        assert!(e.starts_with("config sha256:c: "), "{e}");
        let c = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:nothex"]}}"#;
        let c = parse_config("sha256:c", c).unwrap();
        assert!(diff_ids("sha256:c", &c).is_err());
    }

    #[test]
    fn chain_ids_follow_the_image_spec() {
        let a = Digest::parse(A).unwrap();
        let b = Digest::parse(B).unwrap();
        let c = Digest::parse(C).unwrap();
        assert!(chain_ids(&[]).is_empty());
        let ids = chain_ids(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{A} {B}").as_bytes()));
        assert_eq!(ids[2], Digest::of(format!("{} {C}", ids[1]).as_bytes()));
        // The busybox image's single layer: its chain ID is its diff ID.
        let one = Digest::parse(
            "sha256:747cf8b745ef40d8b3b07caa50019567620a925c1ef9b0730d94737d10ddfacb",
        )
        .unwrap();
        assert_eq!(chain_ids(std::slice::from_ref(&one)), vec![one]);
    }
}
