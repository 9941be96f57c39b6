//! myengined's volumes end to end: named volumes whose data outlives containers and
//! engine restarts, anonymous volumes (`-v /dst`, unnamed `--mount`, an image's
//! `Volumes`) removed by `rm -v` and `--rm`, the copy of an image's content into a new
//! volume, in-use checks, the `/volumes` API with its filters, prune and errors, volumes
//! with driver options mounted only while used, mycli's `volume` commands and the real
//! docker CLI. Each test has its own engine.

use std::path::Path;
use std::process::Output;

use integration_tests::busybox_rootfs;
use integration_tests::engine::Engine;
use integration_tests::oci::{LayerBuilder, sha256};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mycli_in(e: &Engine, args: &[&str], input: &[u8]) -> Output {
    e.mycli_with_stdin(args, input)
}

fn mycli(e: &Engine, args: &[&str]) -> Output {
    mycli_in(e, args, b"")
}

fn ok(e: &Engine, args: &[&str]) -> String {
    e.mycli_ok(args)
}

fn fails(e: &Engine, args: &[&str], code: i32, needle: &str) {
    e.mycli_fails(args, code, needle);
}

fn api(e: &Engine, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let r = e.request(method, path, body.map(str::as_bytes));
    let v = if r.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        r.json()
    };
    (r.status, v)
}

fn filters_query(json: &str) -> String {
    json.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Names of the volumes `GET /volumes` lists with `filters` (JSON, or empty).
fn volume_names(e: &Engine, filters: &str) -> Vec<String> {
    let path = if filters.is_empty() {
        "/volumes".to_owned()
    } else {
        format!("/volumes?filters={}", filters_query(filters))
    };
    let (status, v) = api(e, "GET", &path, None);
    assert_eq!(status, 200, "{v}");
    let mut names: Vec<String> = v["Volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn data_dir(e: &Engine, name: &str) -> std::path::PathBuf {
    e.data_root().join("volumes").join(name).join("_data")
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn container_mounts(e: &Engine, name: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&ok(e, &["inspect", name])).unwrap();
    v[0]["Mounts"].as_array().unwrap().clone()
}

fn mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path.to_str().unwrap()))
}

#[test]
fn named_volume_data_survives_its_container_and_the_engine() {
    let mut e = Engine::start();
    assert_eq!(ok(&e, &["volume", "create", "data"]), "data\n");
    ok(
        &e,
        &[
            "run",
            "--name",
            "writer",
            "-v",
            "data:/data",
            "busybox",
            "sh",
            "-c",
            "echo kept > /data/f",
        ],
    );
    let m = container_mounts(&e, "writer");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["Type"], "volume");
    assert_eq!(m[0]["Name"], "data");
    assert_eq!(m[0]["Destination"], "/data");
    assert_eq!(m[0]["Driver"], "local");
    assert_eq!(m[0]["Mode"], "z");
    assert_eq!(m[0]["RW"], true);
    assert_eq!(
        m[0]["Source"],
        data_dir(&e, "data").to_str().unwrap(),
        "the volume's data directory"
    );
    ok(&e, &["rm", "-v", "writer"]);
    assert_eq!(
        std::fs::read_to_string(data_dir(&e, "data").join("f")).unwrap(),
        "kept\n",
        "rm -v keeps named volumes"
    );
    // A new container sees the data; `ro` mounts it read-only.
    let out = ok(
        &e,
        &[
            "run",
            "--rm",
            "-v",
            "data:/in:ro",
            "busybox",
            "sh",
            "-c",
            "cat /in/f; touch /in/g 2>/dev/null && echo writable || echo read-only",
        ],
    );
    assert_eq!(out, "kept\nread-only\n");
    // A volume named at run is made on first use.
    ok(&e, &["run", "--rm", "-v", "made:/m", "busybox", "true"]);
    assert_eq!(volume_names(&e, ""), ["data", "made"]);
    let (_, made) = api(&e, "GET", "/volumes/made", None);
    assert_eq!(made["Labels"], serde_json::Value::Null);

    // Records and data survive a restart of the engine.
    e.signal_and_wait(libc::SIGTERM);
    e.restart();
    assert_eq!(volume_names(&e, ""), ["data", "made"]);
    assert_eq!(
        ok(
            &e,
            &["run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f"]
        ),
        "kept\n"
    );
    ok(&e, &["volume", "rm", "data", "made"]);
    assert!(!data_dir(&e, "data").exists());
    assert!(volume_names(&e, "").is_empty());
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_auto_remove() {
    let e = Engine::start();
    ok(
        &e,
        &[
            "run",
            "--name",
            "first",
            "-v",
            "/scratch",
            "busybox",
            "sh",
            "-c",
            "echo x > /scratch/f",
        ],
    );
    let m = container_mounts(&e, "first");
    let anon = m[0]["Name"].as_str().unwrap().to_owned();
    assert!(is_hex64(&anon), "{anon}");
    assert_eq!(m[0]["Mode"], "", "an image-style volume shows no mode");
    let (_, v) = api(&e, "GET", &format!("/volumes/{anon}"), None);
    assert_eq!(
        v["Labels"],
        serde_json::json!({"com.docker.volume.anonymous": ""})
    );
    // rm without -v leaves it.
    ok(&e, &["rm", "first"]);
    assert_eq!(volume_names(&e, ""), std::slice::from_ref(&anon));
    assert!(data_dir(&e, &anon).join("f").exists());

    // rm -v takes the anonymous volumes, not the named ones.
    ok(&e, &["volume", "create", "named"]);
    ok(
        &e,
        &[
            "create",
            "--name",
            "second",
            "-v",
            "/s2",
            "--mount",
            "target=/s3",
            "-v",
            "named:/n",
            "busybox",
        ],
    );
    let b_vols: Vec<String> = container_mounts(&e, "second")
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(b_vols.len(), 3, "{b_vols:?}");
    assert_eq!(volume_names(&e, "").len(), 4);
    ok(&e, &["rm", "-v", "second"]);
    let mut left = vec![anon.clone(), "named".to_owned()];
    left.sort();
    assert_eq!(volume_names(&e, ""), left);

    // --rm takes them as the container goes; an anonymous volume another container
    // also uses stays.
    ok(&e, &["run", "--rm", "-v", "/gone", "busybox", "true"]);
    ok(
        &e,
        &[
            "run",
            "--rm",
            "-v",
            &format!("{anon}:/shared"),
            "busybox",
            "cat",
            "/shared/f",
        ],
    );
    assert_eq!(volume_names(&e, ""), left);

    // docker's `rm -v` through the API.
    let out = ok(&e, &["create", "-v", "/api", "busybox"]);
    let id = out.trim();
    let before = volume_names(&e, "").len();
    let r = e.request("DELETE", &format!("/containers/{id}?v=1"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(volume_names(&e, "").len(), before - 1);
}

#[test]
fn in_use_volumes_cannot_be_removed() {
    let e = Engine::start();
    let id = ok(
        &e,
        &["create", "--name", "holder", "-v", "used:/u", "busybox"],
    )
    .trim()
    .to_owned();
    // A container that never ran still holds its volumes, with and without force.
    for q in ["", "?force=1"] {
        let r = e.request("DELETE", &format!("/volumes/used{q}"), None);
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(
            r.json()["message"],
            format!("remove used: volume is in use - [{id}]")
        );
    }
    fails(
        &e,
        &["volume", "rm", "used"],
        1,
        &format!("Error response from daemon: remove used: volume is in use - [{id}]"),
    );
    // A running one too; prune leaves it.
    let runner = ok(
        &e,
        &["run", "-d", "-v", "used:/u", "busybox", "sleep", "600"],
    )
    .trim()
    .to_owned();
    let r = e.request("DELETE", "/volumes/used", None);
    assert_eq!(r.status, 409);
    assert!(
        r.text().contains(&runner) && r.text().contains(&id),
        "{}",
        r.text()
    );
    let (_, p) = api(
        &e,
        "POST",
        &format!(
            "/volumes/prune?filters={}",
            filters_query(r#"{"all":["true"]}"#)
        ),
        None,
    );
    assert_eq!(p["VolumesDeleted"], serde_json::json!([]));
    ok(&e, &["rm", "-f", &runner]);
    ok(&e, &["rm", "holder"]);
    assert_eq!(ok(&e, &["volume", "rm", "used"]), "used\n");

    // Missing: 404, unless forced.
    let r = e.request("DELETE", "/volumes/nope", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "get nope: no such volume");
    assert_eq!(
        e.request("DELETE", "/volumes/nope?force=1", None).status,
        204
    );
    assert_eq!(ok(&e, &["volume", "rm", "-f", "nope"]), "nope\n");
    fails(
        &e,
        &["volume", "rm", "nope", "nope2"],
        1,
        "Error response from daemon: get nope: no such volume\nError response from daemon: get nope2: no such volume",
    );
}

#[test]
fn volume_api_create_inspect_list_filters_and_prune() {
    let e = Engine::start();
    let (status, v) = api(
        &e,
        "POST",
        "/volumes/create",
        Some(r#"{"Name":"a1","Driver":"local","Labels":{"k":"v","tier":"db"}}"#),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["Name"], "a1");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Options"], serde_json::Value::Null);
    assert_eq!(v["Labels"], serde_json::json!({"k":"v","tier":"db"}));
    assert_eq!(v["Mountpoint"], data_dir(&e, "a1").to_str().unwrap());
    assert!(data_dir(&e, "a1").is_dir());
    let created = v["CreatedAt"].as_str().unwrap().to_owned();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    // Creating it again answers with the existing one.
    let (status, again) = api(
        &e,
        "POST",
        "/volumes/create",
        Some(r#"{"Name":"a1","Labels":{"other":"x"}}"#),
    );
    assert_eq!(status, 201);
    assert_eq!(again, v);
    let (status, got) = api(&e, "GET", "/volumes/a1", None);
    assert_eq!(status, 200);
    assert_eq!(got, v);
    let (status, err) = api(&e, "GET", "/volumes/nope", None);
    assert_eq!(status, 404);
    assert_eq!(err["message"], "get nope: no such volume");

    // Bad names and options: 400 with the local driver's messages.
    for (body, msg) in [
        (
            r#"{"Name":"a"}"#,
            "create a: volume name is too short, names should be at least two alphanumeric characters",
        ),
        (
            r#"{"Name":"_x"}"#,
            r#"create _x: "_x" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path"#,
        ),
        (
            r#"{"Name":"../../etc"}"#,
            r#"create ../../etc: "../../etc" includes invalid characters"#,
        ),
        (
            r#"{"Name":"ok1","DriverOpts":{"colour":"red"}}"#,
            r#"create ok1: invalid option: "colour""#,
        ),
        (
            r#"{"Name":"ok2","DriverOpts":{"type":"tmpfs"}}"#,
            r#"create ok2: missing required option: "device""#,
        ),
        (r#"{"Name":"ok3","Labels":"#, "invalid JSON"),
    ] {
        let (status, err) = api(&e, "POST", "/volumes/create", Some(body));
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["message"].as_str().unwrap().starts_with(msg),
            "{body}: {err}"
        );
    }
    let (status, err) = api(
        &e,
        "POST",
        "/volumes/create",
        Some(r#"{"Name":"p1","Driver":"nfs-plugin"}"#),
    );
    assert_eq!(status, 404, "{err}");
    assert!(!e.data_root().join("volumes/ok1").exists());
    assert!(!e.data_root().join("volumes/etc").exists());
    // A bad name at run: 125 with the daemon's message, nothing made.
    fails(
        &e,
        &["run", "--rm", "-v", "x/y:/d", "busybox", "true"],
        125,
        "includes invalid characters for a local volume name",
    );
    assert!(e.container_ids().is_empty());

    // An anonymous volume through the API.
    let (status, anon) = api(&e, "POST", "/volumes/create", Some("{}"));
    assert_eq!(status, 201);
    let anon_name = anon["Name"].as_str().unwrap().to_owned();
    assert!(is_hex64(&anon_name));
    assert_eq!(
        anon["Labels"],
        serde_json::json!({"com.docker.volume.anonymous": ""})
    );
    api(&e, "POST", "/volumes/create", Some(r#"{"Name":"b2"}"#));
    api(&e, "POST", "/volumes/create", Some(r#"{"Name":"used2"}"#));
    ok(&e, &["create", "-v", "used2:/u", "busybox"]);

    // Filters.
    assert_eq!(volume_names(&e, r#"{"label":["k=v"]}"#), ["a1"]);
    assert_eq!(volume_names(&e, r#"{"label":["tier"]}"#), ["a1"]);
    assert_eq!(
        volume_names(&e, r#"{"label":["k=w"]}"#),
        Vec::<String>::new()
    );
    // A regular expression, as Docker's (a bare "b2" may also match a random anonymous name).
    assert_eq!(volume_names(&e, r#"{"name":["^b2$"]}"#), ["b2"]);
    assert_eq!(volume_names(&e, r#"{"name":["^a"]}"#), ["a1"]);
    assert_eq!(volume_names(&e, r#"{"dangling":["false"]}"#), ["used2"]);
    let mut dangling = vec!["a1".to_owned(), "b2".to_owned(), anon_name.clone()];
    dangling.sort();
    assert_eq!(volume_names(&e, r#"{"dangling":["true"]}"#), dangling);
    assert_eq!(volume_names(&e, r#"{"driver":["local"]}"#).len(), 4);
    assert!(volume_names(&e, r#"{"driver":["other"]}"#).is_empty());
    for (f, msg) in [
        (r#"{"colour":["red"]}"#, "invalid filter 'colour'"),
        (
            r#"{"dangling":["maybe"]}"#,
            "invalid filter 'dangling=[maybe]'",
        ),
    ] {
        let (status, err) = api(
            &e,
            "GET",
            &format!("/volumes?filters={}", filters_query(f)),
            None,
        );
        assert_eq!(status, 400, "{f}");
        assert_eq!(err["message"], msg);
    }

    // Prune: anonymous unused ones by default, then all unused ones; used ones stay.
    std::fs::write(data_dir(&e, &anon_name).join("blob"), vec![7u8; 4096]).unwrap();
    let (status, p) = api(&e, "POST", "/volumes/prune", None);
    assert_eq!(status, 200);
    assert_eq!(p["VolumesDeleted"], serde_json::json!([anon_name]));
    assert_eq!(p["SpaceReclaimed"], 4096);
    let (_, p) = api(
        &e,
        "POST",
        &format!(
            "/volumes/prune?filters={}",
            filters_query(r#"{"all":["true"],"label!":["k=v"]}"#)
        ),
        None,
    );
    assert_eq!(p["VolumesDeleted"], serde_json::json!(["b2"]));
    let (status, err) = api(
        &e,
        "POST",
        &format!(
            "/volumes/prune?filters={}",
            filters_query(r#"{"all":["maybe"]}"#)
        ),
        None,
    );
    assert_eq!(status, 400, "{err}");
    // Clients before API 1.42 prune named volumes too.
    let (_, p) = api(&e, "POST", "/v1.41/volumes/prune", None);
    assert_eq!(p["VolumesDeleted"], serde_json::json!(["a1"]));
    assert_eq!(volume_names(&e, ""), ["used2"]);
    // Not served (yet): swarm's volume update.
    assert_eq!(e.request("PUT", "/volumes/used2", Some(b"{}")).status, 501);
}

#[test]
fn mycli_volume_commands_print_like_docker() {
    let e = Engine::start();
    assert_eq!(
        ok(&e, &["volume", "create", "--label", "a=b", "vol-10"]),
        "vol-10\n"
    );
    ok(&e, &["volume", "create", "vol-2"]);
    let anon = ok(&e, &["volume", "create"]).trim().to_owned();
    assert!(is_hex64(&anon), "{anon}");
    assert_eq!(
        ok(&e, &["volume", "ls"]),
        format!("DRIVER    VOLUME NAME\nlocal     {anon}\nlocal     vol-2\nlocal     vol-10\n")
    );
    assert_eq!(
        ok(&e, &["volume", "ls", "-q", "-f", "label=a=b"]),
        "vol-10\n"
    );
    assert_eq!(
        ok(
            &e,
            &[
                "volume",
                "ls",
                "--format",
                "{{.Name}}:{{.Labels}}",
                "-f",
                "name=vol"
            ]
        ),
        "vol-2:\nvol-10:a=b\n"
    );
    fails(
        &e,
        &["volume", "ls", "-f", "bogus=1"],
        1,
        "Error response from daemon: invalid filter 'bogus'",
    );

    // inspect: the daemon's documents in an indented array, or a template.
    let out = ok(&e, &["volume", "inspect", "vol-10"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["Name"], "vol-10");
    assert_eq!(v[0]["Labels"], serde_json::json!({"a": "b"}));
    assert!(
        out.starts_with("[\n    {\n        \"CreatedAt\": "),
        "{out}"
    );
    assert_eq!(
        ok(
            &e,
            &[
                "volume",
                "inspect",
                "-f",
                "{{.Name}} {{.Driver}} {{.Scope}}",
                "vol-2"
            ]
        ),
        "vol-2 local local\n"
    );
    let out = mycli(&e, &["volume", "inspect", "vol-2", "missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("\"Name\": \"vol-2\""));
    assert!(
        stderr(&out).contains("get missing: no such volume"),
        "{}",
        stderr(&out)
    );

    // prune: asks first; `n` cancels quietly.
    let out = mycli_in(&e, &["volume", "prune"], b"n\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(volume_names(&e, "").len(), 3);
    std::fs::write(data_dir(&e, &anon).join("f"), vec![1u8; 2000]).unwrap();
    let out = mycli_in(&e, &["volume", "prune"], b"y\n");
    assert_eq!(
        stdout(&out),
        format!(
            "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 2kB\n"
        )
    );
    assert_eq!(
        ok(&e, &["volume", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    fails(
        &e,
        &["volume", "prune", "-a", "-f", "--filter", "all=1"],
        1,
        "conflicting options: cannot specify both --all and --filter all=1",
    );
    assert_eq!(
        ok(
            &e,
            &["volume", "prune", "-a", "-f", "--filter", "label=a=b"]
        ),
        "Deleted Volumes:\nvol-10\n\nTotal reclaimed space: 0B\n"
    );
    assert_eq!(ok(&e, &["volume", "rm", "vol-2"]), "vol-2\n");
    assert_eq!(ok(&e, &["volume", "ls", "-q"]), "");
}

/// An OCI archive of busybox plus a layer with `/data/seed` (owned by 1000:1000, in a
/// `0750` directory) whose config declares `Volumes` `/data` and `/empty`.
fn image_with_volumes(name: &str) -> Vec<u8> {
    let base = LayerBuilder::from_dir(&busybox_rootfs());
    let extra = {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(data.len() as u64);
            h.set_mtime(1_600_000_000);
            h.set_uid(1000);
            h.set_gid(1000);
            b.append_data(&mut h, path, data).unwrap();
        };
        add("data", tar::EntryType::Directory, 0o750, b"");
        add(
            "data/seed",
            tar::EntryType::Regular,
            0o640,
            b"from the image\n",
        );
        add("data/sub", tar::EntryType::Directory, 0o755, b"");
        add("data/sub/deep", tar::EntryType::Regular, 0o644, b"deep\n");
        b.into_inner().unwrap()
    };
    let layers = [base, extra];
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Volumes": {"/data": {}, "/empty": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(&config),
            "size": config.len(),
        },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": sha256(l),
            "size": l.len(),
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest),
            "size": manifest.len(),
            "annotations": {
                "io.containerd.image.name": format!("docker.io/library/{name}:latest"),
                "org.opencontainers.image.ref.name": "latest",
            },
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }))
    .unwrap();
    let mut out = tar::Builder::new(Vec::new());
    let mut add = |path: String, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_600_000_000);
        out.append_data(&mut h, path, data).unwrap();
    };
    add("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json".into(), &index);
    for blob in layers.iter().chain([&config, &manifest]) {
        add(format!("blobs/sha256/{}", &sha256(blob)[7..]), blob);
    }
    out.into_inner().unwrap()
}

#[test]
fn image_volumes_and_copy_up() {
    use std::os::unix::fs::MetadataExt;
    let e = Engine::start();
    let r = e.request("POST", "/images/load", Some(&image_with_volumes("withvol")));
    assert_eq!(r.status, 200, "{}", r.text());

    // The image's volumes become anonymous volumes, filled from the image.
    ok(&e, &["create", "--name", "cv", "withvol"]);
    let mounts = container_mounts(&e, "cv");
    let by_dest = |d: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == d)
            .unwrap_or_else(|| panic!("no mount at {d}: {mounts:?}"))
            .clone()
    };
    let data = by_dest("/data");
    let name = data["Name"].as_str().unwrap();
    assert!(is_hex64(name));
    let dir = data_dir(&e, name);
    assert_eq!(
        std::fs::read_to_string(dir.join("seed")).unwrap(),
        "from the image\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/deep")).unwrap(),
        "deep\n"
    );
    let m = std::fs::metadata(dir.join("seed")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o640));
    let root = std::fs::metadata(&dir).unwrap();
    assert_eq!((root.uid(), root.mode() & 0o7777), (1000, 0o750));
    assert!(by_dest("/empty")["Name"].as_str().is_some_and(is_hex64));
    let v: serde_json::Value = serde_json::from_str(&ok(&e, &["inspect", "cv"])).unwrap();
    assert_eq!(
        v[0]["Config"]["Volumes"],
        serde_json::json!({"/data": {}, "/empty": {}})
    );
    ok(&e, &["rm", "-v", "cv"]);
    assert!(volume_names(&e, "").is_empty(), "rm -v took both");

    // A named volume at the image's path: filled once, then its data wins.
    assert_eq!(
        ok(
            &e,
            &[
                "run",
                "--rm",
                "-v",
                "seeded:/data",
                "withvol",
                "cat",
                "/data/seed"
            ]
        ),
        "from the image\n"
    );
    std::fs::write(data_dir(&e, "seeded").join("seed"), "changed\n").unwrap();
    std::fs::remove_file(data_dir(&e, "seeded").join("sub/deep")).unwrap();
    assert_eq!(
        ok(
            &e,
            &[
                "run",
                "--rm",
                "-v",
                "seeded:/data",
                "withvol",
                "sh",
                "-c",
                "cat /data/seed; ls /data/sub"
            ]
        ),
        "changed\n"
    );
    // nocopy: left empty.
    ok(
        &e,
        &[
            "run",
            "--rm",
            "--mount",
            "type=volume,src=bare,dst=/data,volume-nocopy",
            "withvol",
            "true",
        ],
    );
    assert_eq!(std::fs::read_dir(data_dir(&e, "bare")).unwrap().count(), 0);
    // Copy-up from busybox's own /etc.
    assert!(
        ok(
            &e,
            &[
                "run",
                "--rm",
                "-v",
                "etc:/etc",
                "busybox",
                "cat",
                "/etc/passwd"
            ]
        )
        .starts_with("root:")
    );
    assert!(data_dir(&e, "etc").join("passwd").is_file());
    // `--rm` took the anonymous `/empty` volumes of those runs; the named ones stay.
    assert_eq!(volume_names(&e, ""), ["bare", "etc", "seeded"]);
}

#[test]
fn volumes_with_driver_options_are_mounted_while_used() {
    let e = Engine::start();
    ok(
        &e,
        &[
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "-o",
            "o=size=1m,mode=0755",
            "tv",
        ],
    );
    let (_, v) = api(&e, "GET", "/volumes/tv", None);
    assert_eq!(
        v["Options"],
        serde_json::json!({"device": "tmpfs", "o": "size=1m,mode=0755", "type": "tmpfs"})
    );
    let path = data_dir(&e, "tv");
    assert!(!mounted(&path));
    let id = ok(
        &e,
        &[
            "run",
            "-d",
            "-v",
            "tv:/t",
            "busybox",
            "sh",
            "-c",
            "echo hi > /t/f; sleep 600",
        ],
    )
    .trim()
    .to_owned();
    integration_tests::wait_until(10, "the file in the tmpfs volume", || {
        path.join("f").exists()
    });
    assert!(mounted(&path), "mounted while the container runs");
    let fstype = ok(&e, &["exec", &id, "sh", "-c", "grep ' /t ' /proc/mounts"]);
    assert!(fstype.contains("tmpfs"), "{fstype}");
    ok(&e, &["rm", "-f", &id]);
    assert!(!mounted(&path), "unmounted with its last user");
    assert!(!path.join("f").exists(), "a tmpfs keeps nothing");
    // A failed mount fails the start, not the create, and leaves nothing mounted.
    ok(
        &e,
        &[
            "volume",
            "create",
            "-o",
            "type=bogusfs",
            "-o",
            "device=none",
            "bad-fs",
        ],
    );
    let out = mycli(&e, &["run", "--rm", "-v", "bad-fs:/b", "busybox", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("error while mounting volume"),
        "{}",
        stderr(&out)
    );
    assert!(!mounted(&data_dir(&e, "bad-fs")));
}

#[test]
fn docker_cli_volume_commands() {
    let e = Engine::start();
    assert_eq!(e.docker_ok(&["volume", "create", "dvol"]), "dvol\n");
    assert_eq!(
        e.docker_ok(&["volume", "create", "--label", "x=y", "dvol2"]),
        "dvol2\n"
    );
    assert_eq!(
        e.docker_ok(&["volume", "ls"]),
        "DRIVER    VOLUME NAME\nlocal     dvol\nlocal     dvol2\n"
    );
    assert_eq!(
        e.docker_ok(&["volume", "ls", "-q", "--filter", "label=x"]),
        "dvol2\n"
    );
    assert_eq!(
        e.docker_ok(&[
            "volume",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}} {{.Labels}}",
            "dvol2"
        ]),
        "dvol2 local map[x:y]\n"
    );
    e.docker_ok(&[
        "run",
        "--name",
        "dw",
        "-v",
        "dvol:/d",
        "busybox",
        "sh",
        "-c",
        "echo from-docker > /d/f",
    ]);
    assert_eq!(
        e.docker_ok(&[
            "run",
            "--rm",
            "--mount",
            "type=volume,source=dvol,target=/m,readonly",
            "busybox",
            "cat",
            "/m/f",
        ]),
        "from-docker\n"
    );
    assert_eq!(
        e.docker_ok(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}",
            "dw"
        ]),
        "volume dvol /d\n"
    );
    let out = e.docker(&["volume", "rm", "dvol"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Error response from daemon: remove dvol: volume is in use"),
        "{}",
        stderr(&out)
    );
    e.docker_ok(&["rm", "dw"]);
    // Anonymous volumes with docker's -v and rm -v.
    e.docker_ok(&["create", "--name", "da", "-v", "/anon", "busybox"]);
    assert_eq!(e.docker_ok(&["volume", "ls", "-q"]).lines().count(), 3);
    e.docker_ok(&["rm", "-v", "da"]);
    assert_eq!(e.docker_ok(&["volume", "ls", "-q"]).lines().count(), 2);
    // Bad names are the daemon's 400.
    let out = e.docker(&["volume", "create", "a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("volume name is too short"),
        "{}",
        stderr(&out)
    );
    let out = e.docker(&["run", "--rm", "-v", "bad name:/x", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("includes invalid characters for a local volume name"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        e.docker_ok(&["volume", "rm", "dvol", "dvol2"]),
        "dvol\ndvol2\n"
    );
    assert_eq!(
        e.docker_ok(&["volume", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    assert_eq!(e.docker_ok(&["volume", "ls", "-q"]), "");
}
