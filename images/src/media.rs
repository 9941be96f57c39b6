//! Media types of the OCI image spec and of Docker's v2 schema 2, and what each one is.

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker's v2 schema 1 (signed JSON): long deprecated, not supported.
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Media types a registry may answer a manifest request with, most wanted first.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

pub fn is_manifest(media_type: &str) -> bool {
    matches!(media_type, OCI_MANIFEST | DOCKER_MANIFEST)
}

pub fn is_config(media_type: &str) -> bool {
    matches!(media_type, OCI_CONFIG | DOCKER_CONFIG)
}

/// Layer types containerd's differ applies (containerd's `IsLayerType`, without the
/// non-distributable variants' special handling).
pub fn is_layer(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

/// The key prefix a content ingest is named with (containerd's `remotes.MakeRefKey`).
pub fn ref_key_prefix(media_type: &str) -> &'static str {
    if is_index(media_type) {
        "index"
    } else if is_manifest(media_type) {
        "manifest"
    } else if is_config(media_type) {
        "config"
    } else if is_layer(media_type) {
        "layer"
    } else {
        "unknown"
    }
}

/// The layer media type for content starting with `head` in a Docker archive:
/// compressed layers stay as they are (containerd 1.6 without `--compress-blobs`).
pub fn docker_layer_type(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1f, 0x8b]) {
        DOCKER_LAYER_GZIP
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        // Docker has no zstd type of its own; the OCI one is what containerd uses.
        OCI_LAYER_ZSTD
    } else {
        DOCKER_LAYER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(is_manifest(OCI_MANIFEST) && is_manifest(DOCKER_MANIFEST));
        assert!(is_config(DOCKER_CONFIG) && !is_config(OCI_MANIFEST));
        for l in [
            OCI_LAYER,
            OCI_LAYER_GZIP,
            OCI_LAYER_ZSTD,
            DOCKER_LAYER_GZIP,
            DOCKER_LAYER,
        ] {
            assert!(is_layer(l), "{l}");
            assert_eq!(ref_key_prefix(l), "layer");
        }
        assert_eq!(ref_key_prefix(OCI_INDEX), "index");
        assert_eq!(ref_key_prefix("text/plain"), "unknown");
        assert_eq!(docker_layer_type(&[0x1f, 0x8b, 8]), DOCKER_LAYER_GZIP);
        assert_eq!(docker_layer_type(b"bin/\0\0"), DOCKER_LAYER);
    }
}
