//! Image tarballs: OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/...`) and
//! `docker save` archives (`manifest.json`, config and layer files, `repositories`), in
//! and out, as containerd 1.6's importer and exporter read and write them.
//!
//! An import reads the archive twice: once to check it (every file hashed, every
//! reference resolved, nothing written), then to copy the blobs it needs into the
//! Content service. A truncated archive, a missing blob or a blob whose content does not
//! match its name fails before anything is stored.

mod export;
mod import;
mod plan;
mod save;
mod scan;

pub use export::ExportOptions;
pub use import::{ImportOptions, default_base_name};
pub use plan::{ImportPlan, PlannedBlob, PlannedImage, plan};
pub use save::{SaveImage, SavePlan};
pub use scan::{ArchiveContents, scan};

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::digest::Digest;
    use crate::media;

    /// Files of a tarball, in order.
    type Files = Vec<(String, Vec<u8>)>;

    fn write_tar(dir: &Path, files: &Files) -> PathBuf {
        let path = dir.join("image.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, name, data.as_slice()).unwrap();
        }
        builder.finish().unwrap();
        path
    }

    fn blob_name(data: &[u8]) -> String {
        format!("blobs/sha256/{}", Digest::of(data).hex())
    }

    /// An OCI layout with one single-layer image; returns the files and the manifest.
    fn oci_layout(annotations: serde_json::Value) -> (Files, Vec<u8>) {
        let layer = b"not really a tar, but nobody applies it here".to_vec();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).to_string()]},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": Digest::of(&config).to_string(), "size": config.len()},
            "layers": [{"mediaType": media::OCI_LAYER, "digest": Digest::of(&layer).to_string(), "size": layer.len()}],
        }))
        .unwrap();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": media::OCI_MANIFEST, "digest": Digest::of(&manifest).to_string(),
                           "size": manifest.len(), "annotations": annotations}],
        }))
        .unwrap();
        let files = vec![
            (
                "oci-layout".into(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            ("index.json".into(), index),
            (blob_name(&layer), layer),
            (blob_name(&config), config),
            (blob_name(&manifest), manifest.clone()),
        ];
        (files, manifest)
    }

    fn plan_of(files: &Files, options: &ImportOptions) -> crate::Result<ImportPlan> {
        let dir = tempfile::tempdir().unwrap();
        let path = write_tar(dir.path(), files);
        plan(&scan(&path)?, options)
    }

    fn named() -> serde_json::Value {
        serde_json::json!({
            "io.containerd.image.name": "docker.io/library/busybox:latest",
            "org.opencontainers.image.ref.name": "latest",
        })
    }

    #[test]
    fn oci_layout_plans_every_blob_with_gc_labels() {
        let (files, manifest) = oci_layout(named());
        let plan = plan_of(&files, &ImportOptions::default()).unwrap();
        assert_eq!(plan.images.len(), 1);
        assert_eq!(plan.images[0].name, "docker.io/library/busybox:latest");
        assert_eq!(
            plan.images[0].target.digest,
            Digest::of(&manifest).to_string()
        );
        assert_eq!(plan.blobs.len(), 3);
        let m = plan.blobs.last().unwrap();
        assert_eq!(m.descriptor.media_type, media::OCI_MANIFEST);
        assert!(m.labels.contains_key("containerd.io/gc.ref.content.config"));
        assert!(m.labels.contains_key("containerd.io/gc.ref.content.l.0"));
    }

    #[test]
    fn oci_ref_names_take_the_base_name() {
        let (files, _) =
            oci_layout(serde_json::json!({"org.opencontainers.image.ref.name": "1.0"}));
        let options = ImportOptions {
            base_name: Some("foo/bar".into()),
            ..ImportOptions::default()
        };
        let plan = plan_of(&files, &options).unwrap();
        assert_eq!(plan.images[0].name, "foo/bar:1.0");
        // Without a base name a bare tag names nothing.
        let plan = plan_of(&files, &ImportOptions::default()).unwrap();
        assert!(plan.images.is_empty());
    }

    #[test]
    fn image_names_follow_containerd() {
        let a = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let name = plan::image_name;
        let full = a(&[
            ("io.containerd.image.name", "x.io/a:1"),
            ("org.opencontainers.image.ref.name", "1"),
        ]);
        assert_eq!(name(&full, Some("other")).as_deref(), Some("x.io/a:1"));
        let tag = a(&[("org.opencontainers.image.ref.name", "v2")]);
        assert_eq!(
            name(&tag, Some("import-2024-01-01")).as_deref(),
            Some("import-2024-01-01:v2")
        );
        let reference = a(&[("org.opencontainers.image.ref.name", "foo/bar:v2")]);
        assert_eq!(
            name(&reference, Some("foo/bar")).as_deref(),
            Some("foo/bar:v2")
        );
        assert_eq!(name(&reference, Some("foo/baz")), None);
        assert_eq!(name(&reference, None).as_deref(), Some("foo/bar:v2"));
        assert_eq!(name(&a(&[]), Some("x")), None);
    }

    #[test]
    fn truncated_archives_are_refused() {
        let (files, _) = oci_layout(named());
        let dir = tempfile::tempdir().unwrap();
        let path = write_tar(dir.path(), &files);
        let full = std::fs::read(&path).unwrap();
        // Cut inside the last blob's data.
        let cut = full.len() - 1024 - 300;
        std::fs::write(&path, &full[..cut]).unwrap();
        let e = scan(&path).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn missing_and_corrupt_blobs_are_refused() {
        let (mut files, _) = oci_layout(named());
        let layer = files.remove(2);
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing blob sha256:"), "{e}");

        let (mut files, _) = oci_layout(named());
        files[2].1[0] ^= 0xff;
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("bad blob {}", layer.0)), "{e}");
        assert!(e.contains("its content has digest"), "{e}");

        let (mut files, _) = oci_layout(named());
        files.retain(|(n, _)| n != "index.json");
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing index.json"), "{e}");

        let (mut files, _) = oci_layout(named());
        files[0].1 = br#"{"imageLayoutVersion":"9"}"#.to_vec();
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported OCI layout version"), "{e}");

        let e = plan_of(
            &vec![("x".into(), b"y".to_vec())],
            &ImportOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unrecognized image format"), "{e}");
    }

    fn docker_save(repo_tags: serde_json::Value, repositories: Option<&str>) -> Files {
        let layer = vec![0u8; 1024];
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).to_string()]},
        }))
        .unwrap();
        let config_name = format!("{}.json", Digest::of(&config).hex());
        let manifest = serde_json::to_vec(&serde_json::json!([
            {"Config": config_name, "RepoTags": repo_tags, "Layers": ["abc123/layer.tar"]}
        ]))
        .unwrap();
        let mut files: Files = vec![
            ("abc123/layer.tar".into(), layer),
            ("abc123/VERSION".into(), b"1.0".to_vec()),
            (config_name, config),
            ("manifest.json".into(), manifest),
        ];
        if let Some(r) = repositories {
            files.push(("repositories".into(), r.as_bytes().to_vec()));
        }
        files
    }

    #[test]
    fn docker_save_archives_get_a_schema2_manifest() {
        let files = docker_save(serde_json::json!(["busybox:latest", "me/app:1"]), None);
        let plan = plan_of(&files, &ImportOptions::default()).unwrap();
        let names: Vec<&str> = plan.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["docker.io/library/busybox:latest", "docker.io/me/app:1"]
        );
        let target = &plan.images[0].target;
        assert_eq!(target.media_type, media::DOCKER_MANIFEST);
        assert_eq!(
            target.annotations["org.opencontainers.image.ref.name"],
            "latest"
        );
        let manifest = plan
            .blobs
            .iter()
            .find(|b| b.descriptor.digest == target.digest)
            .unwrap();
        let plan::BlobSource::Generated(body) = &manifest.source else {
            panic!("manifest not generated")
        };
        let m = crate::manifest::parse_manifest("m", body).unwrap();
        assert_eq!(m.layers()[0].media_type().to_string(), media::DOCKER_LAYER);
        assert_eq!(m.config().media_type().to_string(), media::DOCKER_CONFIG);
        assert!(
            manifest
                .labels
                .contains_key("containerd.io/gc.ref.content.l.0")
        );
    }

    #[test]
    fn docker_save_names_from_repositories() {
        let files = docker_save(
            serde_json::Value::Null,
            Some(r#"{"busybox":{"1.36":"abc123"}}"#),
        );
        let plan = plan_of(&files, &ImportOptions::default()).unwrap();
        assert_eq!(plan.images[0].name, "docker.io/library/busybox:1.36");
    }

    #[test]
    fn docker_save_with_a_missing_layer_is_refused() {
        let mut files = docker_save(serde_json::json!(["busybox:latest"]), None);
        files.remove(0);
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing file abc123/layer.tar"), "{e}");
        let mut files = docker_save(serde_json::json!(["busybox:latest"]), None);
        files[3].1 = b"[{".to_vec();
        let e = plan_of(&files, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("manifest.json"), "{e}");
    }
}
