//! Images on mycontainerd, driven by Debian's real `ctr` 1.6, which imports and pulls
//! client-side through our Content, Images, Leases, Snapshots and Diff services (and runs
//! through Containers and Tasks). The import and registry flows run against Debian's
//! containerd too, as the reference.

use std::path::Path;
use std::process::Stdio;

use integration_tests::oci::{Compression, Image, LayerBuilder, noise, sha256};
use integration_tests::registry::Registry;
use integration_tests::{Daemon, DaemonKind, busybox_rootfs, mounts_under, unique, wait_until};

fn busybox(name: &str) -> Image {
    Image {
        name: name.into(),
        layers: vec![(LayerBuilder::from_dir(&busybox_rootfs()), Compression::Gzip)],
        cmd: vec!["sh".into()],
    }
}

/// busybox plus two layers: an uncompressed one adding files, deleting /etc/group and
/// linking /lnk, then a zstd one replacing /etc/motd and making /data opaque.
fn layered(name: &str) -> Image {
    let mut img = busybox(name);
    img.layers.push((
        LayerBuilder::new()
            .dir("etc", 0o755)
            .file("etc/motd", 0o644, b"layer2\n")
            .whiteout("etc/group")
            .dir("data", 0o700)
            .file("data/a", 0o644, b"a")
            .file("data/b", 0o644, b"b")
            .symlink("lnk", "/etc/motd")
            .file("bin/suid", 0o4755, b"#!/bin/sh\n")
            .finish(),
        Compression::None,
    ));
    img.layers.push((
        LayerBuilder::new()
            .file("etc/motd", 0o644, b"layer3\n")
            .dir("data", 0o700)
            .opaque("data")
            .file("data/c", 0o644, b"c")
            .whiteout("www/index.html")
            .finish(),
        Compression::Zstd,
    ));
    img
}

/// The first column of a ctr listing.
fn column(out: &str) -> Vec<String> {
    out.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn run(d: &Daemon, image: &str, script: &str) -> String {
    d.ctr_ok(&[
        "run",
        "--rm",
        image,
        &unique("run"),
        "/bin/sh",
        "-c",
        script,
    ])
}

const LAYERED_CHECK: &str = "cat /etc/motd /lnk; ls /data; test -e /etc/group || echo no-group; \
     test -e /www/index.html || echo no-index; stat -c %a /data /bin/suid";
const LAYERED_EXPECT: &str = "layer3\nlayer3\nc\nno-group\nno-index\n700\n4755\n";

fn import_run_remove(d: &Daemon, dir: &Path) {
    let bb = busybox(&format!("docker.io/library/{}:1", unique("bb")));
    let ly = layered(&format!("docker.io/library/{}:1", unique("layered")));
    let bb_manifest = bb.write(&dir.join("bb.tar"));
    let ly_manifest = ly.write(&dir.join("ly.tar"));
    d.ctr_ok(&["images", "import", dir.join("bb.tar").to_str().unwrap()]);
    d.ctr_ok(&["images", "import", dir.join("ly.tar").to_str().unwrap()]);

    let images = d.ctr_ok(&["images", "ls"]);
    assert!(
        images.contains(&bb.name) && images.contains(&ly.name),
        "{images}"
    );
    assert!(
        images.contains(&bb_manifest) && images.contains(&ly_manifest),
        "{images}"
    );
    // busybox: layer, config, manifest; layered: its two layers, config, manifest.
    // containerd 1.6's import also stores each archive's index, unreferenced, which its
    // next garbage collection (soon after the import's lease ends) removes.
    let mut content = Vec::new();
    wait_until(20, "exactly the images' blobs", || {
        content = column(&d.ctr_ok(&["content", "ls"]));
        content.len() == 3 + 4
    });
    for dgst in [&bb_manifest, &ly_manifest] {
        assert!(content.contains(dgst), "{content:?}");
    }
    let snaps = d.ctr_ok(&["snapshots", "ls"]);
    assert_eq!(snaps.matches("Committed").count(), 3, "{snaps}");

    assert_eq!(run(d, &bb.name, "echo hi"), "hi\n");
    assert_eq!(
        run(d, &ly.name, LAYERED_CHECK),
        LAYERED_EXPECT,
        "{:?}",
        d.kind
    );
    // The image's own files are untouched by what a container wrote.
    assert_eq!(run(d, &ly.name, "echo x > /etc/motd; cat /etc/motd"), "x\n");
    assert_eq!(run(d, &ly.name, "cat /etc/motd"), "layer3\n");

    d.ctr_ok(&["images", "rm", &bb.name]);
    d.ctr_ok(&["images", "rm", "--sync", &ly.name]);
    wait_until(30, "content and snapshots to be collected", || {
        column(&d.ctr_ok(&["content", "ls"])).is_empty()
            && column(&d.ctr_ok(&["snapshots", "ls"])).is_empty()
    });
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn import_run_and_collect_with_real_ctr_matches_containerd() {
    for kind in [DaemonKind::Ours, DaemonKind::Containerd] {
        let dir = tempfile::tempdir().unwrap();
        let d = Daemon::start(kind);
        import_run_remove(&d, dir.path());
        if kind == DaemonKind::Ours {
            let root = d.root_dir();
            assert!(files_in(&root.join("content/blobs/sha256")).is_empty());
            assert!(files_in(&root.join("content/ingest")).is_empty());
            assert!(files_in(&root.join("snapshots/overlayfs/snapshots")).is_empty());
            assert!(files_in(&root.join("tmp")).is_empty());
            assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
        }
    }
}

#[test]
fn namespaces_with_images_cannot_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(DaemonKind::Ours);
    let bb = busybox(&format!("docker.io/library/{}:1", unique("bb")));
    bb.write(&dir.path().join("bb.tar"));
    d.ctr_ok(&[
        "images",
        "import",
        dir.path().join("bb.tar").to_str().unwrap(),
    ]);
    let out = d.ctr(&["namespaces", "rm", &d.namespace]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be empty"), "{err}");
    d.ctr_ok(&["images", "rm", "--sync", &bb.name]);
    wait_until(10, "the namespace to empty", || {
        column(&d.ctr_ok(&["snapshots", "ls"])).is_empty()
    });
    d.ctr_ok(&["namespaces", "rm", &d.namespace]);
}

#[test]
fn pull_from_a_local_registry_and_run_matches_containerd() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start();
    busybox("busybox:1").write(&dir.path().join("bb.tar"));
    layered("layered:1").write(&dir.path().join("ly.tar"));
    registry.push(&dir.path().join("bb.tar"), "busybox:1");
    registry.push(&dir.path().join("ly.tar"), "layered:1");
    for kind in [DaemonKind::Ours, DaemonKind::Containerd] {
        let d = Daemon::start(kind);
        let bb = registry.reference("busybox:1");
        let ly = registry.reference("layered:1");
        d.ctr_ok(&["images", "pull", "--plain-http", &bb]);
        d.ctr_ok(&["images", "pull", "--plain-http", &ly]);
        assert_eq!(run(&d, &bb, "echo hi"), "hi\n", "{kind:?}");
        assert_eq!(run(&d, &ly, LAYERED_CHECK), LAYERED_EXPECT, "{kind:?}");
        // Pulling again finds everything there.
        d.ctr_ok(&["images", "pull", "--plain-http", &bb]);
        d.ctr_ok(&["images", "rm", "--sync", &bb, &ly]);
        wait_until(30, "content to be collected", || {
            column(&d.ctr_ok(&["content", "ls"])).is_empty()
        });
    }
}

/// Every blob the daemon lists is there, complete, and hashes to its digest; every image
/// record's target is among them.
fn assert_consistent(d: &Daemon) {
    let content = column(&d.ctr_ok(&["content", "ls"]));
    for dgst in &content {
        let out = d.ctr(&["content", "get", dgst]);
        assert!(
            out.status.success(),
            "content get {dgst}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&sha256(&out.stdout), dgst);
    }
    for line in d.ctr_ok(&["images", "ls"]).lines().skip(1) {
        let target = line.split_whitespace().nth(2).unwrap();
        assert!(
            content.iter().any(|c| c == target),
            "image without its blob: {line}"
        );
    }
    for name in files_in(&d.root_dir().join("content/blobs/sha256")) {
        let data = std::fs::read(d.root_dir().join("content/blobs/sha256").join(&name)).unwrap();
        assert_eq!(
            sha256(&data),
            format!("sha256:{name}"),
            "a blob file is incomplete"
        );
    }
}

#[test]
fn sigkill_during_a_pull_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start();
    let mut big = busybox("big:1");
    for i in 0..4u64 {
        big.layers.push((
            LayerBuilder::new()
                .file(&format!("big{i}"), 0o644, &noise(16 << 20, i + 1))
                .finish(),
            Compression::None,
        ));
    }
    big.write(&dir.path().join("big.tar"));
    registry.push(&dir.path().join("big.tar"), "big:1");
    let reference = registry.reference("big:1");

    let mut d = Daemon::start(DaemonKind::Ours);
    let mut pull = d
        .ctr_cmd(&["images", "pull", "--plain-http", &reference])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ingest = d.root_dir().join("content/ingest");
    wait_until(60, "the pull to be writing", || {
        files_in(&ingest)
            .iter()
            .any(|i| std::fs::metadata(ingest.join(i).join("data")).is_ok_and(|m| m.len() > 0))
    });
    d.signal_and_wait(libc::SIGKILL);
    let _ = pull.kill();
    let _ = pull.wait();
    d.restart();
    assert_consistent(&d);

    // The pull can be repeated (resuming or redoing what was cut) and the image runs.
    d.ctr_ok(&["images", "pull", "--plain-http", &reference]);
    assert_consistent(&d);
    assert_eq!(run(&d, &reference, "ls /big0 /big3"), "/big0\n/big3\n");
    d.ctr_ok(&["images", "rm", "--sync", &reference]);
    // The killed pull's lease (24 hours, as ctr makes them) still holds what it wrote;
    // once it goes, so does all of that, half-written ingests included.
    let leases = column(&d.ctr_ok(&["leases", "ls"]));
    assert_eq!(leases.len(), 1, "{leases:?}");
    d.ctr_ok(&["leases", "rm", &leases[0]]);
    wait_until(30, "content to be collected", || {
        column(&d.ctr_ok(&["content", "ls"])).is_empty()
            && files_in(&d.root_dir().join("content/ingest")).is_empty()
            && files_in(&d.root_dir().join("content/blobs/sha256")).is_empty()
    });
}
