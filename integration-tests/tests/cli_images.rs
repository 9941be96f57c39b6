//! mycli's image commands against a real engine: load (file and stdin), images, tag,
//! rmi, inspect, pull from Debian's docker-registry on 127.0.0.1, and `run` pulling a
//! missing image. Run against the engine `MYCLI_TEST_ENGINE` names (dockerd by default).

use std::process::{Output, Stdio};

use integration_tests::dockerd::{Engine, busybox_docker_archive, busybox_oci_archive};
use integration_tests::registry::Registry;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn load_images_tag_rmi() {
    let e = Engine::start();
    let archive = busybox_docker_archive();
    assert_eq!(e.ok(&["images", "-q"]), "");

    let out = e.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: busybox:latest\n");

    let list = e.ok(&["images"]);
    let mut lines = list.lines();
    assert_eq!(
        lines.next(),
        Some("REPOSITORY   TAG       IMAGE ID       CREATED        SIZE")
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(row[0], "busybox");
    assert_eq!(row[1], "latest");
    let id = row[2];
    assert_eq!(id.len(), 12);
    assert!(row[4].ends_with('B'), "a size: {row:?}");
    assert_eq!(e.ok(&["images", "-q"]), format!("{id}\n"));
    let full_id = e.ok(&["images", "-q", "--no-trunc"]);
    assert!(full_id.starts_with(&format!("sha256:{id}")), "{full_id}");

    assert_eq!(e.ok(&["tag", "busybox", "example.com/team/box:v1"]), "");
    let list = e.ok(&["images"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("example.com/team/box   v1 ")),
        "{list}"
    );
    // One image, two names: -q lists it once.
    assert_eq!(e.ok(&["images", "-q"]), format!("{id}\n"));
    let inspected: serde_json::Value =
        serde_json::from_str(&e.ok(&["inspect", "--type", "image", "example.com/team/box:v1"]))
            .unwrap();
    assert_eq!(inspected[0]["Id"].as_str().unwrap(), full_id.trim());

    assert_eq!(
        e.ok(&["rmi", "example.com/team/box:v1"]),
        "Untagged: example.com/team/box:v1\n"
    );
    let out = e.run(&["rmi", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("Error response from daemon: ") && stderr(&out).contains("nosuch"),
        "{}",
        stderr(&out)
    );

    // An image a container uses needs -f; the container keeps running meanwhile.
    e.ok(&["create", "--name", "user", "busybox", "true"]);
    let out = e.run(&["rmi", "busybox"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("conflict"), "{}", stderr(&out));
    e.ok(&["rm", "user"]);

    let out = e.ok(&["rmi", "busybox"]);
    assert!(out.starts_with("Untagged: busybox:latest\n"), "{out}");
    assert!(
        out.contains(&format!("Deleted: {}", full_id.trim())),
        "{out}"
    );
    assert_eq!(e.ok(&["images", "-q"]), "");

    // The archive on stdin.
    let out = e
        .mycli()
        .arg("load")
        .stdin(Stdio::from(std::fs::File::open(&archive).unwrap()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Loaded image: busybox:latest\n");

    let out = e.run(&["load", "-i", "/nonexistent/image.tar"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/image.tar"),
        "{}",
        stderr(&out)
    );
    let out = e.run(&["tag", "busybox", "Bad:Name"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid reference format"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pull_from_a_registry_and_run_pulls_missing_images() {
    let e = Engine::start();
    let registry = Registry::start();
    registry.push(&busybox_oci_archive(), "busybox:latest");
    registry.push(&busybox_oci_archive(), "other:v2");
    let image = registry.reference("busybox");

    let out = e.run(&["pull", &image]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Using default tag: latest");
    assert_eq!(lines[1], "latest: Pulling from busybox");
    assert!(text.contains(": Pull complete\n"), "{text}");
    assert!(text.contains("\nDigest: sha256:"), "{text}");
    assert!(
        text.contains(&format!(
            "Status: Downloaded newer image for {image}:latest\n"
        )),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&format!("{image}:latest").as_str()));
    // Not a terminal: no byte-by-byte progress lines.
    assert!(!text.contains("Downloading ["), "{text}");

    let again = e.ok(&["pull", &format!("{image}:latest")]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {image}:latest\n")),
        "{again}"
    );
    assert_eq!(e.ok(&["pull", "-q", &image]), format!("{image}:latest\n"));
    let list = e.ok(&["images"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&format!("{image}   latest"))),
        "{list}"
    );

    // run pulls what is missing, with docker's notice and progress on stderr.
    let other = registry.reference("other:v2");
    let out = e.run(&["run", "--rm", &other, "echo", "pulled-and-ran"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pulled-and-ran\n");
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("Unable to find image '{other}' locally\n")),
        "{err}"
    );
    // Its only layer is busybox's, which the engine already has.
    assert!(
        err.contains(&format!("Status: Downloaded newer image for {other}\n")),
        "{err}"
    );

    let missing = registry.reference("missing:latest");
    let out = e.run(&["pull", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).is_empty());
    let out = e.run(&["run", "--rm", &missing, "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("Unable to find image '{missing}' locally")));
}
