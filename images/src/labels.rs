//! The labels containerd's clients put on content and snapshots, which its garbage
//! collector follows (containerd `images/mediatypes.go` `ChildGCLabels`,
//! `remotes/docker/handler.go`, the unpacker, `leases`).

use std::collections::BTreeMap;

use crate::media;

/// On a manifest: its config.
pub const GC_REF_CONFIG: &str = "containerd.io/gc.ref.content.config";
/// On a manifest: its layers, `l.0`, `l.1`, ...
pub const GC_REF_LAYER_PREFIX: &str = "containerd.io/gc.ref.content.l.";
/// On an index: its manifests, `m.0`, `m.1`, ...
pub const GC_REF_MANIFEST_PREFIX: &str = "containerd.io/gc.ref.content.m.";
/// Anything else a blob refers to.
pub const GC_REF_CONTENT_PREFIX: &str = "containerd.io/gc.ref.content.";
/// On a config: the top snapshot of the unpacked image, `...snapshot.<snapshotter>`.
pub const GC_REF_SNAPSHOT_PREFIX: &str = "containerd.io/gc.ref.snapshot.";
/// On a compressed layer: the digest of its uncompressed tar (its diff ID).
pub const UNCOMPRESSED: &str = "containerd.io/uncompressed";
/// On content fetched from a registry: `...source.<host>` = the repositories, sorted,
/// comma-separated.
pub const DISTRIBUTION_SOURCE_PREFIX: &str = "containerd.io/distribution.source.";
/// On a lease: when the daemon may drop it (RFC 3339).
pub const GC_EXPIRE: &str = "containerd.io/gc.expire";
/// On snapshots made while unpacking: the chain ID they become.
pub const SNAPSHOT_REF: &str = "containerd.io/snapshot.ref";
/// On a container: the image's stop signal (containerd `WithImageStopSignal`).
pub const STOP_SIGNAL: &str = "io.containerd.image.config.stop-signal";

/// Image name annotations on index entries (containerd's and OCI's).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The GC labels a blob gets for its children (containerd's `SetChildrenMappedLabels`
/// with `ChildGCLabels`): a key per kind, numbered within the kind, except the config's.
pub fn children_gc_labels<'a>(
    children: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    for (media_type, digest) in children {
        let prefix = if media::is_config(media_type) {
            GC_REF_CONFIG
        } else if media::is_manifest(media_type) {
            GC_REF_MANIFEST_PREFIX
        } else if media::is_layer(media_type) {
            GC_REF_LAYER_PREFIX
        } else {
            GC_REF_CONTENT_PREFIX
        };
        let n = counts.entry(prefix).or_default();
        let key = if *n > 0 || prefix.ends_with('.') {
            format!("{prefix}{n}")
        } else {
            prefix.to_owned()
        };
        *n += 1;
        labels.insert(key, digest.to_owned());
    }
    labels
}

/// `existing` with `repo` added, sorted and without duplicates (containerd's
/// `appendDistributionSourceLabel`).
pub fn append_distribution_source(existing: Option<&str>, repo: &str) -> String {
    let mut repos: Vec<&str> = existing
        .unwrap_or("")
        .split(',')
        .filter(|r| !r.is_empty())
        .collect();
    repos.push(repo);
    repos.sort_unstable();
    repos.dedup();
    repos.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_labels_like_containerd() {
        let labels = children_gc_labels([
            (media::OCI_CONFIG, "sha256:c"),
            (media::OCI_LAYER_GZIP, "sha256:l0"),
            (media::OCI_LAYER_GZIP, "sha256:l1"),
        ]);
        assert_eq!(labels[GC_REF_CONFIG], "sha256:c");
        assert_eq!(labels["containerd.io/gc.ref.content.l.0"], "sha256:l0");
        assert_eq!(labels["containerd.io/gc.ref.content.l.1"], "sha256:l1");
        let labels = children_gc_labels([
            (media::DOCKER_MANIFEST, "sha256:a"),
            (media::OCI_MANIFEST, "sha256:b"),
            (media::OCI_INDEX, "sha256:i"),
        ]);
        assert_eq!(labels["containerd.io/gc.ref.content.m.0"], "sha256:a");
        assert_eq!(labels["containerd.io/gc.ref.content.m.1"], "sha256:b");
        assert_eq!(labels["containerd.io/gc.ref.content.0"], "sha256:i");
    }

    #[test]
    fn distribution_sources_merge_sorted() {
        assert_eq!(
            append_distribution_source(None, "library/busybox"),
            "library/busybox"
        );
        assert_eq!(append_distribution_source(Some("b,d"), "c"), "b,c,d");
        assert_eq!(append_distribution_source(Some("b"), "b"), "b");
    }
}
