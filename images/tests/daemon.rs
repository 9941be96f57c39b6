//! myimages against a real daemon (containerd 1.6 unless MYCTR_TEST_DAEMON says
//! otherwise) and a real registry (Debian's docker-registry on 127.0.0.1): import,
//! export, pull, unpack, what containerd's garbage collector needs, and failures that
//! must leave nothing behind.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use myimages::progress::{Kind, Status};
use myimages::{
    Client, Credentials, ExportOptions, ImportOptions, Platform, Progress, PullOptions,
    RegistryOptions,
};
use support::fixtures::{Registry, busybox_digests, busybox_docker_archive, busybox_image};
use support::{Daemon, block_on};

const BUSYBOX: &str = "docker.io/library/busybox:latest";

fn plain_http() -> PullOptions {
    PullOptions {
        registry: RegistryOptions {
            plain_http: true,
            ..RegistryOptions::default()
        },
        ..PullOptions::default()
    }
}

/// Events a pull reported, in order.
#[derive(Default)]
struct Events(Mutex<Vec<Progress>>);

impl Events {
    fn record(&self, p: &Progress) {
        self.0.lock().unwrap().push(p.clone());
    }
    fn statuses(&self, kind: Kind) -> Vec<Status> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.status)
            .collect()
    }
}

async fn labels(client: &Client, digest: &str) -> HashMap<String, String> {
    client
        .content_info(digest)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{digest} is not in the store"))
        .labels
}

/// Nothing of a failed or finished operation is left but what an image holds.
async fn assert_no_leases(client: &Client) {
    let leases = client.list_leases(&[]).await.unwrap();
    assert!(leases.is_empty(), "leases left: {leases:?}");
}

#[test]
fn import_export_and_reimport_keep_every_digest() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let client = daemon.client("import").await;
        let imported = client
            .import(&busybox_image(), &ImportOptions::default(), &|_| {})
            .await
            .unwrap();
        let (manifest, config, layer) = busybox_digests();
        assert_eq!(imported.len(), 1);
        assert_eq!(imported[0].name, BUSYBOX);
        assert_eq!(imported[0].target.as_ref().unwrap().digest, manifest);

        let resolved = client
            .resolve_image(BUSYBOX, &Platform::host())
            .await
            .unwrap();
        assert!(client.is_unpacked(&resolved).await.unwrap());
        assert_eq!(resolved.runtime_config().cmd, ["sh"]);
        let top = resolved.top_chain_id().unwrap().to_string();
        // What containerd's garbage collector follows.
        let m = labels(&client, &manifest).await;
        assert_eq!(m["containerd.io/gc.ref.content.config"], config);
        assert_eq!(m["containerd.io/gc.ref.content.l.0"], layer);
        assert_eq!(
            labels(&client, &config).await["containerd.io/gc.ref.snapshot.overlayfs"],
            top
        );
        assert_eq!(
            labels(&client, &layer).await["containerd.io/uncompressed"],
            top
        );
        assert_no_leases(&client).await;

        // Export, twice: the same bytes.
        let export = |path: &'static str| {
            let out = dir.path().join(path);
            let client = client.clone();
            async move {
                let mut file = tokio::fs::File::create(&out).await.unwrap();
                client
                    .export(&[BUSYBOX.to_owned()], &mut file, &ExportOptions::default())
                    .await
                    .unwrap();
                out
            }
        };
        let first = export("a.tar").await;
        let second = export("b.tar").await;
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap()
        );
        let index = tar_file(&first, "index.json");
        let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
        let entry = &index["manifests"][0];
        assert_eq!(entry["digest"], manifest.as_str());
        assert_eq!(entry["annotations"]["io.containerd.image.name"], BUSYBOX);
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            "latest"
        );
        let docker: serde_json::Value =
            serde_json::from_slice(&tar_file(&first, "manifest.json")).unwrap();
        assert_eq!(docker[0]["RepoTags"][0], "busybox:latest");

        // Re-imported elsewhere: the same image, digest for digest.
        let other = daemon.client("reimport").await;
        let again = other
            .import(&first, &ImportOptions::default(), &|_| {})
            .await
            .unwrap();
        assert_eq!(again[0].name, BUSYBOX);
        assert_eq!(again[0].target, imported[0].target);
        let resolved_again = other
            .resolve_image(BUSYBOX, &Platform::host())
            .await
            .unwrap();
        assert_eq!(resolved_again.config_digest, resolved.config_digest);
        assert_eq!(resolved_again.blobs(), resolved.blobs());
        assert_eq!(resolved_again.chain_ids, resolved.chain_ids);
    });
}

fn tar_file(archive: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name} not in {}", archive.display());
    out.stdout
}

#[test]
fn pull_labels_content_and_unpacks_as_containerd_does() {
    let daemon = Daemon::start();
    let registry = Registry::start(None);
    registry.push(&busybox_image(), "busybox:1");
    let (manifest, config, layer) = busybox_digests();
    block_on(async {
        let client = daemon.client("pull").await;
        let reference = format!("{}/busybox:1", registry.host());
        let events = Events::default();
        let image = client
            .pull(&reference, &plain_http(), &|p| events.record(p))
            .await
            .unwrap();
        assert_eq!(image.name, reference);
        assert_eq!(image.target.as_ref().unwrap().digest, manifest);
        assert_eq!(
            events.statuses(Kind::Reference),
            [Status::Resolving, Status::Resolved]
        );
        assert_eq!(events.statuses(Kind::Manifest), [Status::Done]);
        assert_eq!(
            events.statuses(Kind::Config),
            [Status::Downloading, Status::Done]
        );
        let layer_events = events.statuses(Kind::Layer);
        assert_eq!(layer_events.first(), Some(&Status::Waiting));
        assert_eq!(layer_events.last(), Some(&Status::Done));
        assert_eq!(
            events.statuses(Kind::Unpack),
            [Status::Unpacking, Status::Done]
        );

        let source = "containerd.io/distribution.source.127.0.0.1";
        for digest in [&manifest, &config, &layer] {
            assert_eq!(labels(&client, digest).await[source], "busybox", "{digest}");
        }
        let m = labels(&client, &manifest).await;
        assert_eq!(m["containerd.io/gc.ref.content.config"], config);
        assert_eq!(m["containerd.io/gc.ref.content.l.0"], layer);
        let resolved = client
            .resolve_image(&reference, &Platform::host())
            .await
            .unwrap();
        let top = resolved.top_chain_id().unwrap().to_string();
        assert_eq!(
            labels(&client, &config).await["containerd.io/gc.ref.snapshot.overlayfs"],
            top
        );
        assert!(client.stat_snapshot(&top).await.unwrap().is_some());
        assert_no_leases(&client).await;

        // A container's root filesystem on top of it.
        let mounts = client
            .prepare_rootfs("c1", &resolved, &Default::default())
            .await
            .unwrap();
        assert!(!mounts.is_empty());
        assert_eq!(client.snapshot_mounts("c1").await.unwrap(), mounts);
        client.remove_snapshot("c1").await.unwrap();
        assert!(client.stat_snapshot("c1").await.unwrap().is_none());

        // Again: everything is found in place.
        let events = Events::default();
        client
            .pull(&reference, &plain_http(), &|p| events.record(p))
            .await
            .unwrap();
        assert_eq!(events.statuses(Kind::Manifest), [Status::Exists]);
        assert_eq!(events.statuses(Kind::Config), [Status::Exists]);
        assert_eq!(
            events.statuses(Kind::Layer),
            [Status::Waiting, Status::Exists]
        );
        assert_eq!(events.statuses(Kind::Unpack), [Status::Exists]);
        assert_no_leases(&client).await;
    });
}

/// Pulls that must fail with one line and leave no image, no snapshot, no lease.
fn pull_fails_cleanly(corrupt: impl FnOnce(&Path), expected: &str) {
    let daemon = Daemon::start();
    let registry = Registry::start(None);
    registry.push(&busybox_image(), "busybox:1");
    let (_, _, layer) = busybox_digests();
    corrupt(&registry.blob_file(&layer));
    block_on(async {
        let client = daemon.client("bad").await;
        let reference = format!("{}/busybox:1", registry.host());
        let e = client
            .pull(&reference, &plain_http(), &|_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let err = client.get_image(&reference).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(client.list_images(&[]).await.unwrap().is_empty());
        assert!(client.list_snapshots().await.unwrap().is_empty());
        assert!(client.content_info(&layer).await.unwrap().is_none());
        assert_no_leases(&client).await;
    });
}

#[test]
fn a_truncated_layer_fails_the_pull_and_leaves_no_image() {
    pull_fails_cleanly(
        |file| {
            let data = std::fs::read(file).unwrap();
            std::fs::write(file, &data[..data.len() / 2]).unwrap();
        },
        "size mismatch",
    );
}

#[test]
fn a_corrupt_layer_fails_the_pull_and_leaves_no_image() {
    pull_fails_cleanly(
        |file| {
            let mut data = std::fs::read(file).unwrap();
            let middle = data.len() / 2;
            data[middle] ^= 0xff;
            std::fs::write(file, &data).unwrap();
        },
        "digest mismatch",
    );
}

#[test]
fn basic_auth_takes_the_right_password_only() {
    let daemon = Daemon::start();
    let registry = Registry::start(Some(("tester", "s3cret")));
    registry.push(&busybox_image(), "busybox:1");
    block_on(async {
        let client = daemon.client("auth").await;
        let reference = format!("{}/busybox:1", registry.host());
        let with = |password: Option<&str>| PullOptions {
            registry: RegistryOptions {
                plain_http: true,
                credentials: password.map(|p| Credentials::parse(&format!("tester:{p}"))),
                ..RegistryOptions::default()
            },
            ..PullOptions::default()
        };
        for wrong in [None, Some("wrong")] {
            let e = client
                .pull(&reference, &with(wrong), &|_| {})
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("not authorized"), "{e}");
        }
        assert!(client.list_images(&[]).await.unwrap().is_empty());
        client
            .pull(&reference, &with(Some("s3cret")), &|_| {})
            .await
            .unwrap();
        assert_no_leases(&client).await;
    });
}

#[test]
fn docker_save_archives_import_as_containerd_imports_them() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let archive = busybox_docker_archive(dir.path());
    block_on(async {
        let client = daemon.client("docker").await;
        let imported = client
            .import(&archive, &ImportOptions::default(), &|_| {})
            .await
            .unwrap();
        assert_eq!(imported[0].name, BUSYBOX);
        let target = imported[0].target.clone().unwrap();
        assert_eq!(target.media_type, myimages::media::DOCKER_MANIFEST);
        let resolved = client
            .resolve_image(BUSYBOX, &Platform::host())
            .await
            .unwrap();
        assert!(client.is_unpacked(&resolved).await.unwrap());
        // Debian's ctr writes the very same manifest for the same archive.
        let out = daemon.ctr(
            "docker-ctr",
            &["images", "import", &archive.display().to_string()],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = daemon.ctr("docker-ctr", &["images", "ls"]);
        let list = String::from_utf8_lossy(&list.stdout);
        assert!(
            list.contains(&target.digest),
            "ctr made another manifest:\n{list}"
        );
    });
}

#[test]
fn a_named_user_is_looked_up_in_the_image() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let archive = image_with_user(dir.path(), "nobody");
    block_on(async {
        let client = daemon.client("user").await;
        let options = ImportOptions {
            base_name: Some("test/user".into()),
            ..ImportOptions::default()
        };
        let imported = client.import(&archive, &options, &|_| {}).await.unwrap();
        assert_eq!(imported[0].name, "test/user:latest");
        let resolved = client
            .resolve_image("test/user:latest", &Platform::host())
            .await
            .unwrap();
        assert_eq!(resolved.runtime_config().user, "nobody");
        let mounts = client
            .prepare_rootfs("u1", &resolved, &Default::default())
            .await
            .unwrap();
        let user = myimages::resolve_user(&mounts, "nobody").await;
        client.remove_snapshot("u1").await.unwrap();
        let user = user.unwrap();
        assert_eq!((user.uid, user.gid), (65534, 65534));
        let e = myimages::resolve_user(&mounts, "ghost").await;
        assert!(e.is_err());
    });
}

/// The busybox image with another config (`User`), as an OCI layout whose only name
/// is the ref name `latest`.
fn image_with_user(dir: &Path, user: &str) -> std::path::PathBuf {
    let base = busybox_image();
    let (_, config_digest, layer) = busybox_digests();
    let config = tar_file(&base, &blob(&config_digest));
    let mut config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    config["config"]["User"] = serde_json::json!(user);
    let config = serde_json::to_vec(&config).unwrap();
    let layer_body = tar_file(&base, &blob(&layer));
    let digest = |data: &[u8]| myimages::Digest::of(data).to_string();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": myimages::media::OCI_MANIFEST,
        "config": {"mediaType": myimages::media::OCI_CONFIG, "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": myimages::media::OCI_LAYER_GZIP, "digest": layer, "size": layer_body.len()}],
    }))
    .unwrap();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": myimages::media::OCI_MANIFEST, "digest": digest(&manifest),
                       "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "latest"}}],
    }))
    .unwrap();
    let path = dir.join("user.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let mut add = |name: String, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, data).unwrap();
    };
    add("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json".into(), &index);
    add(blob(&digest(&config)), &config);
    add(blob(&digest(&manifest)), &manifest);
    add(blob(&layer), &layer_body);
    builder.finish().unwrap();
    path
}

fn blob(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap())
}
