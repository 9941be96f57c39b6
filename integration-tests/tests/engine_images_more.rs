//! myengined's image history, save, image prune, system df and system prune end to end:
//! through the API, mycli and the real docker CLI. `save` archives load back into a
//! second engine (and into Debian's dockerd 20.10 when asked for); prune keeps what
//! containers use. Each test has its own engine.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Output;

use integration_tests::engine::Engine;
use integration_tests::oci::{Compression, Image, LayerBuilder, noise, sha256};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn api(e: &Engine, method: &str, path: &str) -> (u16, serde_json::Value) {
    let r = e.request(method, path, None);
    let v = if r.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
    };
    (r.status, v)
}

fn image_id(e: &Engine, name: &str) -> String {
    let (status, v) = api(e, "GET", &format!("/images/{name}/json"));
    assert_eq!(status, 200, "{v}");
    v["Id"].as_str().unwrap().to_owned()
}

fn image_ids(e: &Engine) -> Vec<String> {
    let (_, v) = api(e, "GET", "/images/json");
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_owned())
        .collect()
}

/// The files of a tar archive by name.
fn tar_files(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        out.insert(name, body);
    }
    out
}

/// Loads a one-layer image of its own (a distinct ID) under `name` through the API.
fn load_image(e: &Engine, dir: &Path, name: &str, seed: u64) {
    let layer = LayerBuilder::new()
        .file("data", 0o644, &noise(2000, seed))
        .finish();
    let image = Image {
        name: name.into(),
        layers: vec![(layer, Compression::Gzip)],
        cmd: vec!["sh".into()],
    };
    let path = dir.join(format!("image-{seed}.tar"));
    image.write(&path);
    let r = e.request("POST", "/images/load", Some(&std::fs::read(&path).unwrap()));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn history_of_busybox_and_of_a_tagged_image() {
    let e = Engine::start();
    let id = image_id(&e, "busybox");
    let (status, h) = api(&e, "GET", "/images/busybox/history");
    assert_eq!(status, 200, "{h}");
    let h = h.as_array().unwrap();
    assert!(!h.is_empty());
    assert_eq!(h[0]["Id"], id.as_str());
    assert_eq!(h[0]["Tags"], serde_json::json!(["busybox:latest"]));
    for entry in &h[1..] {
        assert_eq!(entry["Id"], "<missing>");
    }
    // One entry per non-empty layer carries a size; they add up to something.
    assert!(h.iter().map(|x| x["Size"].as_i64().unwrap()).sum::<i64>() > 0);

    e.mycli_ok(&["tag", "busybox", "me/box:1"]);
    let (_, h) = api(&e, "GET", "/images/me/box:1/history");
    assert_eq!(
        h[0]["Tags"],
        serde_json::json!(["busybox:latest", "me/box:1"])
    );

    let out = e.mycli_ok(&["history", "me/box:1"]);
    let head = out.lines().next().unwrap();
    for col in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(head.contains(col), "{out}");
    }
    let short = &id["sha256:".len().."sha256:".len() + 12];
    assert!(out.lines().nth(1).unwrap().starts_with(short), "{out}");
    let quiet = e.mycli_ok(&["image", "history", "-q", "--no-trunc", "busybox"]);
    assert_eq!(quiet.lines().next(), Some(id.as_str()));
    assert_eq!(quiet.lines().count(), h.as_array().unwrap().len());
    // The group's other names are the top-level commands.
    let inspected = e.mycli_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    assert_eq!(inspected.trim(), id);
    assert!(e.mycli_ok(&["image", "ls"]).contains("me/box"));
    e.mycli_fails(&["history", "nosuch"], 1, "No such image");
    assert_eq!(api(&e, "GET", "/images/nosuch/history").0, 404);

    let docker = e.docker_ok(&["history", "--no-trunc", "busybox"]);
    assert!(docker.contains(&id), "{docker}");
    // The same table as docker's, byte for byte.
    assert_eq!(
        e.mycli_ok(&["history", "busybox"]),
        e.docker_ok(&["history", "busybox"])
    );

    // An image whose config has no history: one entry per layer.
    let dir = tempfile::tempdir().unwrap();
    load_image(&e, dir.path(), "docker.io/library/nohist:1", 3);
    let (_, h) = api(&e, "GET", "/images/nohist:1/history");
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["Id"], image_id(&e, "nohist:1").as_str());
    assert!(h[0]["Size"].as_i64().unwrap() >= 2000, "{h:?}");
}

#[test]
fn save_loads_back_into_another_engine_and_unknown_images_fail_cleanly() {
    let e = Engine::start();
    let dir = tempfile::tempdir().unwrap();
    e.mycli_ok(&["tag", "busybox", "me/box:1"]);
    let id = image_id(&e, "busybox");
    let file = dir.path().join("out.tar");
    e.mycli_ok(&["save", "-o", file.to_str().unwrap(), "busybox", "me/box:1"]);
    let data = std::fs::read(&file).unwrap();
    let files = tar_files(&data);
    for f in ["manifest.json", "index.json", "oci-layout", "repositories"] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    // docker-archive view: one image, both tags, layers named by diff ID and holding
    // the uncompressed diff.
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest.as_array().unwrap().len(), 1, "{manifest}");
    let m = &manifest[0];
    assert_eq!(
        m["RepoTags"],
        serde_json::json!(["busybox:latest", "me/box:1"])
    );
    let config_path = m["Config"].as_str().unwrap();
    assert_eq!(sha256(&files[config_path]), id);
    let (_, inspect) = api(&e, "GET", "/images/busybox/json");
    let diff_ids = inspect["RootFS"]["Layers"].as_array().unwrap();
    let layers = m["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), diff_ids.len());
    for (path, diff_id) in layers.iter().zip(diff_ids) {
        assert_eq!(
            sha256(&files[path.as_str().unwrap()]),
            diff_id.as_str().unwrap()
        );
    }
    // OCI view: named entries in index.json.
    let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["io.containerd.image.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        ["docker.io/library/busybox:latest", "docker.io/me/box:1"]
    );

    // Into a second engine, by mycli load; it runs.
    let other = Engine::start_empty();
    let out = other.mycli_ok(&["load", "-i", file.to_str().unwrap()]);
    assert!(out.contains("busybox:latest"), "{out}");
    assert_eq!(image_id(&other, "busybox"), id);
    assert_eq!(image_id(&other, "me/box:1"), id);
    let hi = other.mycli_ok(&["run", "--rm", "me/box:1", "echo", "hi"]);
    assert_eq!(hi.trim(), "hi");

    // A repository alone means all its tags, as with Docker.
    e.mycli_ok(&["tag", "busybox", "busybox:other"]);
    let r = e.request("GET", "/images/busybox/get", None);
    assert_eq!(r.status, 200);
    let m: serde_json::Value =
        serde_json::from_slice(&tar_files(&r.body)["manifest.json"]).unwrap();
    assert_eq!(
        m[0]["RepoTags"],
        serde_json::json!(["busybox:latest", "busybox:other"])
    );

    // By ID: no names, still loadable as an archive.
    let (status, _) = api(&e, "GET", &format!("/images/{}/get", &id[7..19]));
    assert_eq!(status, 200);

    // The docker CLI reads the same stream from the API.
    let docker_file = dir.path().join("docker.tar");
    e.docker_ok(&["save", "-o", docker_file.to_str().unwrap(), "busybox"]);
    let docker_files = tar_files(&std::fs::read(&docker_file).unwrap());
    assert!(docker_files.contains_key("manifest.json"));

    // `docker save IMAGE | ...`: the archive on stdout.
    let piped = e
        .docker_cmd(&["save", "me/box:1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(tar_files(&piped.stdout).contains_key("index.json"));

    // Unknown images: 404 before any body, a clear error, no file left behind.
    let r = e.request("GET", "/images/get?names=busybox&names=nosuch", None);
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("No such image: nosuch"), "{}", r.text());
    let bad = dir.path().join("bad.tar");
    e.mycli_fails(
        &["save", "-o", bad.to_str().unwrap(), "nosuch"],
        1,
        "No such image: nosuch",
    );
    assert!(!bad.exists());
    let out = e.docker(&["save", "-o", bad.to_str().unwrap(), "nosuch"]);
    assert!(!out.status.success());
    assert!(!bad.exists());
}

#[test]
fn image_prune_keeps_used_and_tagged_images() {
    let e = Engine::start();
    let dir = tempfile::tempdir().unwrap();
    let busybox = image_id(&e, "busybox");
    // A dangling image: known only by digest, no tag.
    load_image(
        &e,
        dir.path(),
        &format!("docker.io/library/dangling@sha256:{}", "0".repeat(64)),
        1,
    );
    load_image(&e, dir.path(), "docker.io/library/unused:1", 2);
    let unused = image_id(&e, "unused:1");
    assert_eq!(image_ids(&e).len(), 3);
    let dangling: String = image_ids(&e)
        .into_iter()
        .find(|i| *i != busybox && *i != unused)
        .unwrap();
    e.mycli_ok(&["create", "--name", "user", "busybox", "true"]);

    // Default: only the dangling one goes.
    let (status, v) = api(&e, "POST", "/images/prune");
    assert_eq!(status, 200, "{v}");
    let deleted: Vec<&str> = v["ImagesDeleted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["Deleted"].as_str())
        .collect();
    assert_eq!(deleted, [dangling.as_str()]);
    assert!(v["SpaceReclaimed"].as_u64().unwrap() > 0, "{v}");
    // Announced as an image delete event.
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let events = e.request("GET", &format!("/events?since=0&until={until}"), None);
    let deletes: Vec<serde_json::Value> = events
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["Type"] == "image" && m["Action"] == "delete")
        .collect();
    assert_eq!(deletes.len(), 1, "{}", events.text());
    assert_eq!(deletes[0]["Actor"]["ID"], dangling.as_str());
    let mut left = image_ids(&e);
    left.sort();
    let mut want = vec![busybox.clone(), unused.clone()];
    want.sort();
    assert_eq!(left, want);

    // Bad filters are a 400.
    let (status, _) = api(
        &e,
        "POST",
        "/images/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
    );
    assert_eq!(status, 400);

    // -a: every image no container uses, with docker's report.
    let out = e.mycli_ok(&["image", "prune", "-a", "-f"]);
    assert!(
        out.contains("Deleted Images:\nuntagged: unused:1\n"),
        "{out}"
    );
    assert!(out.contains(&format!("deleted: {unused}")), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(image_ids(&e), [busybox.as_str()]);

    // Nothing more to prune; the docker CLI agrees.
    let out = e.docker_ok(&["image", "prune", "-f"]);
    assert_eq!(out.trim(), "Total reclaimed space: 0B");
    e.mycli_ok(&["rm", "user"]);
    let out = e.docker_ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains(&format!("deleted: {busybox}")), "{out}");
    assert!(image_ids(&e).is_empty());
}

#[test]
fn system_df_counts_images_containers_and_volume_bytes() {
    let e = Engine::start();
    e.mycli_ok(&["volume", "create", "data"]);
    e.mycli_ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "head -c 50000 /dev/zero > /data/blob; head -c 7000 /dev/zero > /rw",
    ]);
    let (status, df) = api(&e, "GET", "/system/df");
    assert_eq!(status, 200, "{df}");
    assert_eq!(df["Images"].as_array().unwrap().len(), 1);
    assert_eq!(df["Images"][0]["Containers"], 1);
    assert!(df["LayersSize"].as_i64().unwrap() > 0);
    let containers = df["Containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["Names"], serde_json::json!(["/writer"]));
    assert!(containers[0]["SizeRw"].as_i64().unwrap() >= 7000, "{df}");
    let volume = &df["Volumes"][0];
    assert_eq!(volume["Name"], "data");
    assert_eq!(volume["UsageData"]["RefCount"], 1);
    assert!(
        volume["UsageData"]["Size"].as_i64().unwrap() >= 50000,
        "{df}"
    );
    assert_eq!(df["BuildCache"], serde_json::json!([]));

    let out = e.mycli_ok(&["system", "df"]);
    let lines: Vec<&str> = out.lines().collect();
    for col in ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"] {
        assert!(lines[0].contains(col), "{out}");
    }
    let row = |kind: &str| -> Vec<String> {
        let line = lines.iter().find(|l| l.starts_with(kind)).unwrap();
        line[kind.len()..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("Images")[..2], ["1", "1"]);
    // The exited container's writable layer is all reclaimable.
    assert_eq!(row("Containers")[..2], ["1", "0"]);
    assert_eq!(row("Local Volumes")[..2], ["1", "1"]);
    assert!(row("Local Volumes")[2].ends_with("kB"), "{out}");
    let verbose = e.mycli_ok(&["system", "df", "-v"]);
    for section in [
        "Images space usage:",
        "Containers space usage:",
        "Local Volumes space usage:",
        "Build cache usage: 0B",
    ] {
        assert!(verbose.contains(section), "{verbose}");
    }
    assert!(verbose.contains("writer"), "{verbose}");
    let formatted = e.mycli_ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
    assert!(formatted.contains("Local Volumes=1"), "{formatted}");

    let docker = e.docker_ok(&["system", "df"]);
    assert_eq!(out, docker);
    let docker_v = e.docker_ok(&["system", "df", "-v"]);
    assert!(
        docker_v.contains("writer") && docker_v.contains("data"),
        "{docker_v}"
    );
}

#[test]
fn system_prune_removes_stopped_containers_and_unused_networks() {
    let e = Engine::start();
    e.mycli_ok(&["create", "--name", "stopped", "busybox", "true"]);
    e.mycli_ok(&["network", "create", "spare"]);
    // Refusing the prompt changes nothing.
    let out = e.mycli_with_stdin(&["system", "prune"], b"n\n");
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("WARNING! This will remove:"),
        "{}",
        stdout(&out)
    );
    assert_eq!(e.container_ids().len(), 1);

    let out = e.mycli_ok(&["system", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:\n"), "{out}");
    assert!(out.contains("Deleted Networks:\nspare\n"), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert!(e.container_ids().is_empty());
    let nets = e.mycli_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.lines().any(|n| n == "spare"), "{nets}");
    // busybox is tagged: only -a would take it.
    assert_eq!(image_ids(&e).len(), 1);
    let out = e.mycli_ok(&["system", "prune", "-a", "-f", "--volumes"]);
    assert!(out.contains("deleted: sha256:"), "{out}");
    assert!(image_ids(&e).is_empty());
}

/// The reference loader: Debian's dockerd 20.10 reads only the docker-archive half of
/// the archive (manifest.json, the config, layers checked against their diff IDs).
#[test]
fn dockerd_20_10_loads_what_save_writes() {
    use integration_tests::dockerd::{Engine as AnyEngine, EngineKind};
    let e = Engine::start();
    e.mycli_ok(&["tag", "busybox", "me/box:1"]);
    let id = image_id(&e, "busybox");
    let r = e.request("GET", "/images/get?names=busybox&names=me/box:1", None);
    assert_eq!(r.status, 200);
    let dockerd = AnyEngine::start_kind(EngineKind::Dockerd);
    let (status, body) = dockerd
        .api("POST", "/images/load?quiet=1", Some(&r.body))
        .expect("dockerd did not answer");
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("errorDetail"), "{text}");
    let (status, inspect) = dockerd
        .api("GET", "/images/me/box:1/json", None)
        .expect("dockerd did not answer");
    assert_eq!(status, 200);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
    assert_eq!(inspect["Id"], id.as_str());
    assert_eq!(
        inspect["RepoTags"],
        serde_json::json!(["busybox:latest", "me/box:1"])
    );
}
