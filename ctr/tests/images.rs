//! myctr's image commands against a real daemon (containerd 1.6 unless
//! MYCTR_TEST_DAEMON says otherwise) and a real registry (Debian's docker-registry on
//! 127.0.0.1, filled with skopeo): import, run, export, pull (plain and with basic auth),
//! content, snapshots, leases; and Debian's ctr running what myctr pulled.

mod common;
#[path = "../../images/tests/support/fixtures.rs"]
mod fixtures;

use common::{Env, Runtime, unique_id};
use fixtures::{Registry, busybox_digests, busybox_image};

const BUSYBOX: &str = "docker.io/library/busybox:latest";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn import_busybox(env: &Env) {
    let out = env.ok(&["images", "import", &busybox_image().display().to_string()]);
    assert!(out.contains(&format!("unpacking {BUSYBOX}")), "{out}");
}

/// The `images ls` line of `name`, split in columns.
fn image_line(env: &Env, name: &str) -> Vec<String> {
    let list = env.ok(&["images", "ls"]);
    list.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} not listed:\n{list}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn fails_with(env: &Env, args: &[&str], needle: &str) {
    let out = env.output(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("myctr: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

fn import_and_run(runtime: Runtime) {
    let env = Env::new(runtime);
    import_busybox(&env);
    let (manifest, _, _) = busybox_digests();
    let line = image_line(&env, BUSYBOX);
    assert_eq!(line[1], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(line[2], manifest);
    assert_eq!(line[5], "linux/amd64");

    // The image's Cmd, PATH and working directory.
    let id = unique_id("img");
    let run = env.run_args(&["--rm", BUSYBOX, &id]);
    let out = env
        .myctr(&args(&run))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = unique_id("img");
    let run = env.run_args(&[
        "--rm",
        "busybox",
        &id,
        "sh",
        "-c",
        "echo $PATH; pwd; id -u; id -G",
    ]);
    assert_eq!(
        env.ok(&args(&run)),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n0\n0\n"
    );
    let id2 = unique_id("img");
    let run = env.run_args(&[
        "--rm",
        "--env",
        "PATH=/bin",
        BUSYBOX,
        &id2,
        "sh",
        "-c",
        "echo $PATH",
    ]);
    assert_eq!(env.ok(&args(&run)), "/bin\n");

    // A detached container has its snapshot, which goes with it.
    let id3 = unique_id("img");
    let run = env.run_args(&["-d", BUSYBOX, &id3, "sleep", "60"]);
    env.ok(&args(&run));
    let info = env.ok(&["containers", "info", &id3]);
    assert!(
        info.contains(&format!("\"Image\": \"{BUSYBOX}\"")),
        "{info}"
    );
    assert!(
        info.contains(&format!("\"SnapshotKey\": \"{id3}\"")),
        "{info}"
    );
    assert!(
        info.contains("\"io.containerd.image.config.stop-signal\": \"SIGTERM\""),
        "{info}"
    );
    let snapshots = env.ok(&["snapshots", "ls"]);
    assert!(
        snapshots
            .lines()
            .any(|l| l.starts_with(&format!("{id3} ")) && l.contains("Active")),
        "{snapshots}"
    );
    env.ok(&["tasks", "kill", "-s", "SIGKILL", &id3]);
    common::wait_until(20, "the task to stop", || {
        env.task_status(&id3).as_deref() == Some("STOPPED")
    });
    env.ok(&["tasks", "rm", &id3]);
    env.ok(&["containers", "rm", &id3]);
    let snapshots = env.ok(&["snapshots", "ls"]);
    assert!(!snapshots.contains(&id3), "{snapshots}");
    env.assert_clean(&[&id, &id2, &id3]);
}

#[test]
fn import_busybox_and_run_it() {
    import_and_run(Runtime::Runc);
}

#[test]
fn import_busybox_and_run_it_with_myrunc() {
    import_and_run(Runtime::Myrunc);
}

#[test]
fn run_an_image_with_a_terminal_runs_its_cmd() {
    let env = Env::new(Runtime::Runc);
    import_busybox(&env);
    let id = unique_id("tty");
    // No command: the image's Cmd, sh, on the terminal.
    let run = env.run_args(&["--rm", "-t", "busybox", &id]);
    let mut pty = common::PtyChild::spawn(env.myctr(&args(&run)), 24, 80);
    common::wait_until(30, "the task to run", || {
        env.task_status(&id).as_deref() == Some("RUNNING")
    });
    pty.write("echo $((6*7)) $TERM; exit 4\n");
    let status = pty.wait(60);
    let out = pty.output();
    assert_eq!(status.code(), Some(4), "{out}");
    assert!(out.contains("42 xterm\r\n"), "{out}");
    env.assert_clean(&[&id]);
}

#[test]
fn export_then_reimport_gives_identical_digests() {
    let env = Env::new(Runtime::Runc);
    let dir = tempfile::tempdir().unwrap();
    import_busybox(&env);
    let before = image_line(&env, BUSYBOX);
    let exported = dir.path().join("export.tar");
    let exported_arg = exported.display().to_string();
    env.ok(&["images", "export", &exported_arg, BUSYBOX]);
    assert_eq!(env.ok(&["images", "rm", BUSYBOX]), format!("{BUSYBOX}\n"));
    assert!(env.ok(&["images", "ls", "-q"]).trim().is_empty());
    env.ok(&["images", "import", &exported_arg]);
    assert_eq!(image_line(&env, BUSYBOX), before);
    // Debian's ctr reads our export as the same image.
    let out = env.ctr(&["images", "import", "--base-name", "x", &exported_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&env.ctr(&["images", "ls"]).stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with(BUSYBOX) && l.contains(&before[2])),
        "{list}"
    );
    // And we read ctr's export: same digests again.
    let theirs = dir.path().join("ctr.tar");
    let out = env.ctr(&["images", "export", &theirs.display().to_string(), BUSYBOX]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.ok(&["images", "rm", BUSYBOX]);
    env.ok(&["images", "import", &theirs.display().to_string()]);
    assert_eq!(image_line(&env, BUSYBOX), before);
    // Tags keep the target.
    env.ok(&["images", "tag", BUSYBOX, "local/copy:1"]);
    assert_eq!(image_line(&env, "local/copy:1")[2], before[2]);
    fails_with(
        &env,
        &["images", "tag", BUSYBOX, "local/copy:1"],
        "already exists",
    );
    env.ok(&["images", "tag", "--force", BUSYBOX, "local/copy:1"]);
    env.ok(&["images", "rm", "local/copy:1"]);
    // Removing what is not there warns and succeeds, as ctr does.
    let out = env.output(&["images", "rm", "local/copy:1"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("image not found"));
}

#[test]
fn pull_from_a_local_registry_then_run_with_myctr_and_ctr() {
    let env = Env::new(Runtime::Runc);
    let registry = Registry::start(None);
    registry.push(&busybox_image(), "busybox:1");
    let reference = format!("{}/busybox:1", registry.host());
    let out = env.ok(&["images", "pull", "--plain-http", &reference]);
    assert!(out.contains(&format!("{reference}: resolved")), "{out}");
    assert!(out.contains("unpacking linux/amd64 sha256:"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("done: "), "{out}");
    // Plain HTTP is the default for 127.0.0.1, as in Docker.
    env.ok(&["images", "pull", &reference]);
    let (manifest, _, _) = busybox_digests();
    assert_eq!(image_line(&env, &reference)[2], manifest);
    assert!(env.ok(&["leases", "ls", "-q"]).trim().is_empty());

    let id = unique_id("pulled");
    let run = env.run_args(&["--rm", &reference, &id, "echo", "from myctr"]);
    assert_eq!(env.ok(&args(&run)), "from myctr\n");
    // What we pulled is what containerd's own client expects.
    let id2 = unique_id("pulled");
    let out = env.ctr(&["run", "--rm", &reference, &id2, "echo", "from ctr"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from ctr\n");
    env.assert_clean(&[&id, &id2]);

    fails_with(
        &env,
        &[
            "images",
            "pull",
            &format!("{}/busybox:nope", registry.host()),
        ],
        "manifest unknown",
    );
}

#[test]
fn pull_with_basic_auth() {
    let env = Env::new(Runtime::Runc);
    let registry = Registry::start(Some(("tester", "s3cret")));
    registry.push(&busybox_image(), "private/busybox:1");
    let reference = format!("{}/private/busybox:1", registry.host());
    fails_with(&env, &["images", "pull", &reference], "not authorized");
    fails_with(
        &env,
        &["images", "pull", "--user", "tester:wrong", &reference],
        "not authorized",
    );
    assert!(env.ok(&["images", "ls", "-q"]).trim().is_empty());
    env.ok(&["images", "pull", "--user", "tester:s3cret", &reference]);
    assert_eq!(env.ok(&["images", "ls", "-q"]), format!("{reference}\n"));
}

#[test]
fn content_snapshots_and_leases_commands() {
    let env = Env::new(Runtime::Runc);
    let registry = Registry::start(None);
    registry.push(&busybox_image(), "busybox:2");
    let (manifest, config, layer) = busybox_digests();
    let reference = format!("{}/busybox:2", registry.host());

    // fetch: content and record, no snapshot.
    env.ok(&["content", "fetch", "--plain-http", &reference]);
    assert_eq!(env.ok(&["images", "ls", "-q"]), format!("{reference}\n"));
    let snapshots = env.ok(&["snapshots", "ls"]);
    assert_eq!(snapshots.lines().count(), 1, "{snapshots}");
    let listed = env.ok(&["content", "ls", "-q"]);
    for digest in [&manifest, &config, &layer] {
        assert!(listed.contains(digest.as_str()), "{listed}");
    }
    let content = env.ok(&["content", "ls"]);
    assert!(content.starts_with("DIGEST\t"), "{content}");
    assert!(
        content.contains("containerd.io/distribution.source.127.0.0.1=busybox"),
        "{content}"
    );
    let body = env.ok(&["content", "get", &config]);
    assert!(body.contains(r#""Cmd":["sh"]"#), "{body}");

    // Running it unpacks it.
    let id = unique_id("fetched");
    let run = env.run_args(&["--rm", &reference, &id, "true"]);
    env.ok(&args(&run));
    let chain_id = env
        .ok(&["snapshots", "ls"])
        .lines()
        .find(|l| l.contains("Committed"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .expect("a committed snapshot");
    let info = env.ok(&["snapshots", "info", &chain_id]);
    assert!(info.contains("\"Kind\": \"Committed\""), "{info}");
    let usage = env.ok(&["snapshots", "usage"]);
    assert!(usage.starts_with("KEY "), "{usage}");
    assert!(usage.contains(&chain_id), "{usage}");
    let bytes = env.ok(&[
        "snapshots",
        "--snapshotter",
        "overlayfs",
        "usage",
        "-b",
        &chain_id,
    ]);
    let size: u64 = bytes
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(size > 1_000_000, "{bytes}");
    assert_eq!(env.ok(&["leases", "ls"]).trim(), "ID CREATED AT LABELS");
    // The snapshot before the image: containerd's collector may take an unreferenced
    // snapshot at any moment after the image goes.
    env.ok(&["snapshots", "rm", &chain_id]);
    env.ok(&["images", "rm", &reference]);
    assert_eq!(env.ok(&["snapshots", "ls"]).lines().count(), 1);
    fails_with(&env, &["snapshots", "info", &chain_id], "not found");
    env.assert_clean(&[&id]);
}

#[test]
fn image_errors_are_one_line_and_exit_1() {
    let env = Env::new(Runtime::Runc);
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("err");
    fails_with(
        &env,
        &["run", "--rm", "no/such-image", &id, "true"],
        "not found",
    );
    fails_with(&env, &["images", "pull", "Not/Valid"], "invalid reference");
    fails_with(
        &env,
        &[
            "images",
            "pull",
            &format!("127.0.0.1:{}/x:1", fixtures::free_port()),
        ],
        "Connection refused",
    );
    fails_with(
        &env,
        &["images", "import", "/nonexistent.tar"],
        "No such file",
    );
    let full = std::fs::read(busybox_image()).unwrap();
    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    fails_with(
        &env,
        &["images", "import", &truncated.display().to_string()],
        "truncated",
    );
    fails_with(
        &env,
        &["images", "export", "/tmp/x.tar", "no/such:1"],
        "not found",
    );
    fails_with(
        &env,
        &["content", "get", &format!("sha256:{}", "0".repeat(64))],
        "not found",
    );
    fails_with(&env, &["snapshots", "rm", "nope"], "not found");
    assert!(env.ok(&["images", "ls", "-q"]).trim().is_empty());
    assert!(env.ok(&["leases", "ls", "-q"]).trim().is_empty());
    assert!(!std::path::Path::new("/tmp/x.tar").exists());
}
