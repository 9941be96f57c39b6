//! myengined's file copies and filesystem views end to end: `cp` into and out of
//! running and stopped containers (contents, modes, symlinks; `DIR/.`; volumes),
//! escapes that must stay inside the container (`..`, a symlink to `/`, a tar with
//! `../` entries), read-only rootfs, `diff` and `export`, the archive API's errors, no
//! mounts left behind, and the real docker CLI's `cp` and `diff` against us.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use integration_tests::engine::Engine;
use integration_tests::{mounts_under, unique};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run_sleeping(e: &Engine, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "1000"]);
    e.mycli_ok(&args).trim().to_owned()
}

fn sh(e: &Engine, id: &str, script: &str) -> String {
    e.mycli_ok(&["exec", id, "sh", "-c", script])
}

fn no_mounts_left(e: &Engine) {
    let left = mounts_under(e.dir());
    let ours: Vec<&String> = left.iter().filter(|m| m.contains("/archive/")).collect();
    assert!(ours.is_empty(), "copy mounts left behind: {ours:?}");
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

#[test]
fn cp_in_and_out_of_a_running_container() {
    let e = Engine::start();
    let id = run_sleeping(&e, &[]);
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("hello.txt");
    std::fs::write(&f, "hello from the host\n").unwrap();
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/tmp/")]);
    assert_eq!(
        e.mycli_ok(&["exec", &id, "cat", "/tmp/hello.txt"]),
        "hello from the host\n"
    );
    // Renamed: the destination does not exist.
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/tmp/renamed")]);
    assert_eq!(
        e.mycli_ok(&["exec", &id, "cat", "/tmp/renamed"]),
        "hello from the host\n"
    );
    // Without -a the file belongs to the container's root.
    assert_eq!(
        e.mycli_ok(&["exec", &id, "stat", "-c", "%u:%g", "/tmp/hello.txt"])
            .trim(),
        "0:0"
    );

    sh(
        &e,
        &id,
        "mkdir -p /data/sub && echo one > /data/one && chmod 640 /data/one && \
         echo two > /data/sub/two && ln -s one /data/link && chmod 750 /data/sub",
    );
    let out = host.path().join("out");
    std::fs::create_dir(&out).unwrap();
    e.mycli_ok(&["cp", &format!("{id}:/data"), out.to_str().unwrap()]);
    let d = out.join("data");
    assert_eq!(std::fs::read_to_string(d.join("one")).unwrap(), "one\n");
    assert_eq!(std::fs::read_to_string(d.join("sub/two")).unwrap(), "two\n");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&d.join("one")), 0o640);
    assert_eq!(mode(&d.join("sub")), 0o750);
    assert_eq!(
        std::fs::read_link(d.join("link")).unwrap(),
        Path::new("one")
    );

    // `DIR/.` copies the contents into an existing directory.
    let contents = host.path().join("contents");
    std::fs::create_dir(&contents).unwrap();
    e.mycli_ok(&["cp", &format!("{id}:/data/."), contents.to_str().unwrap()]);
    assert!(contents.join("one").is_file());
    assert!(contents.join("sub/two").is_file());

    // A tar on stdout.
    let o = e.mycli(&["cp", &format!("{id}:/data/one"), "-"]);
    ok(&o, "cp to stdout");
    let mut a = tar::Archive::new(&o.stdout[..]);
    let names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["one"]);

    // -L copies what the link points to, under the link's name.
    e.mycli_ok(&[
        "cp",
        "-L",
        &format!("{id}:/data/link"),
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(out.join("link")).unwrap(), "one\n");
    assert!(
        !std::fs::symlink_metadata(out.join("link"))
            .unwrap()
            .is_symlink()
    );

    e.mycli_fails(
        &["cp", &format!("{id}:/nope"), out.to_str().unwrap()],
        1,
        "Could not find the file /nope in container",
    );
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id]);
}

#[test]
fn cp_to_and_from_a_stopped_container_and_volumes() {
    let e = Engine::start();
    let vol = unique("cpvol");
    let id = e
        .mycli_ok(&[
            "create",
            "-v",
            &format!("{vol}:/vol"),
            "busybox",
            "cat",
            "/copied",
            "/vol/f",
        ])
        .trim()
        .to_owned();
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    std::fs::write(&f, "copied while stopped\n").unwrap();
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/copied")]);
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/vol/")]);
    no_mounts_left(&e);
    // The volume's copy is in the volume's data directory, not in the rootfs.
    let data = e.data_root().join("volumes").join(&vol).join("_data");
    assert_eq!(
        std::fs::read_to_string(data.join("f")).unwrap(),
        "copied while stopped\n"
    );
    // And out again, still stopped.
    let out = host.path().join("back");
    e.mycli_ok(&["cp", &format!("{id}:/copied"), out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "copied while stopped\n"
    );
    // The container sees both when it runs.
    e.mycli_ok(&["start", "-a", &id]);
    let logs = e.mycli_ok(&["logs", &id]);
    assert_eq!(logs, "copied while stopped\ncopied while stopped\n");

    // Into a volume of a running container.
    let id2 = run_sleeping(&e, &["-v", &format!("{vol}:/data")]);
    std::fs::write(&f, "second\n").unwrap();
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id2}:/data/g")]);
    assert_eq!(std::fs::read_to_string(data.join("g")).unwrap(), "second\n");
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id, &id2]);
}

#[test]
fn escapes_stay_inside_the_container() {
    let e = Engine::start();
    let id = run_sleeping(&e, &[]);
    let marker = unique("cp-escape-");
    sh(
        &e,
        &id,
        "ln -s / /tmp/root && ln -s ../../../../../../ /tmp/up",
    );
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    std::fs::write(&f, "inside\n").unwrap();
    let host_etc = Path::new("/etc").join(&marker);
    for dest in [
        format!("{id}:/tmp/root/etc/{marker}"),
        format!("{id}:/tmp/up/etc/{marker}"),
        format!("{id}:../../../../etc/{marker}"),
    ] {
        e.mycli_ok(&["cp", f.to_str().unwrap(), &dest]);
        assert!(!host_etc.exists(), "{dest} wrote to the host's /etc");
        assert_eq!(
            e.mycli_ok(&["exec", &id, "cat", &format!("/etc/{marker}")]),
            "inside\n"
        );
        sh(&e, &id, &format!("rm /etc/{marker}"));
    }
    // Out of the container: the container's files, never the host's.
    let out = host.path().join("passwd");
    e.mycli_ok(&[
        "cp",
        &format!("{id}:/tmp/up/etc/passwd"),
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        e.mycli_ok(&["exec", &id, "cat", "/etc/passwd"])
    );

    // A tar whose entries climb out is refused whole: nothing is written.
    let mut tar = Vec::new();
    for (name, body) in [("ok-first", "x"), ("../../../x-escape", "x")] {
        let mut h = tar::Header::new_old();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        let mut data = body.as_bytes().to_vec();
        data.resize(512, 0);
        tar.extend_from_slice(&data);
    }
    tar.extend_from_slice(&[0; 1024]);
    let r = e.request(
        "PUT",
        &format!("/containers/{id}/archive?path=/tmp"),
        Some(&tar),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("outside"), "{}", r.text());
    let listing = sh(&e, &id, "ls /tmp /");
    assert!(!listing.contains("ok-first"), "{listing}");
    assert!(!listing.contains("x-escape"), "{listing}");
    assert!(!Path::new("/x-escape").exists());
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id]);
}

#[test]
fn archive_api_errors_and_read_only_rootfs() {
    let e = Engine::start();
    let id = run_sleeping(&e, &["--read-only"]);
    let r = e.request(
        "HEAD",
        &format!("/containers/{id}/archive?path=/nope"),
        None,
    );
    assert_eq!(r.status, 404);
    let r = e.request("GET", &format!("/containers/{id}/archive?path=/nope"), None);
    assert_eq!(r.status, 404);
    assert!(
        r.text()
            .contains(&format!("Could not find the file /nope in container {id}")),
        "{}",
        r.text()
    );
    let r = e.request("GET", &format!("/containers/{id}/archive?path="), None);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = e.request("GET", "/containers/nosuch/archive?path=/", None);
    assert_eq!(r.status, 404);
    let r = e.request("HEAD", &format!("/containers/{id}/archive?path=/etc"), None);
    assert_eq!(r.status, 200);
    let stat = r.header("x-docker-container-path-stat").unwrap().to_owned();
    assert!(!stat.is_empty());

    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    std::fs::write(&f, "x").unwrap();
    e.mycli_fails(
        &["cp", f.to_str().unwrap(), &format!("{id}:/tmp/")],
        1,
        "container rootfs is marked read-only",
    );
    let r = e.request(
        "PUT",
        &format!("/containers/{id}/archive?path=/etc/passwd"),
        Some(&[0; 1024]),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    e.mycli_ok(&["rm", "-f", &id]);

    e.mycli_fails(
        &["cp", f.to_str().unwrap(), "nosuch:/tmp/"],
        1,
        "No such container: nosuch",
    );
    e.mycli_fails(
        &["cp", f.to_str().unwrap(), "/tmp/x"],
        1,
        "must specify at least one container source",
    );
    // -a: the files belong to the container's user.
    let id = run_sleeping(&e, &["-u", "1000:1000"]);
    e.mycli_ok(&["cp", "-a", f.to_str().unwrap(), &format!("{id}:/tmp/owned")]);
    assert_eq!(
        e.mycli_ok(&["exec", &id, "stat", "-c", "%u:%g", "/tmp/owned"])
            .trim(),
        "1000:1000"
    );
    e.mycli_ok(&["rm", "-f", &id]);
}

#[test]
fn diff_and_export() {
    let e = Engine::start();
    let id = run_sleeping(&e, &[]);
    sh(
        &e,
        &id,
        "touch /tmp/new && echo x >> /etc/passwd && rm /bin/ls && mkdir -p /added/d",
    );
    let diff = e.mycli_ok(&["diff", &id]);
    let lines: Vec<&str> = diff.lines().collect();
    for want in [
        "A /tmp/new",
        "C /tmp",
        "C /etc/passwd",
        "D /bin/ls",
        "C /bin",
        "A /added",
        "A /added/d",
    ] {
        assert!(lines.contains(&want), "{want:?} missing in:\n{diff}");
    }
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| &l[2..]);
    assert_eq!(lines, sorted);

    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("export.tar");
    e.mycli_ok(&["export", "-o", file.to_str().unwrap(), &id]);
    let names = |data: &[u8]| -> Vec<String> {
        tar::Archive::new(data)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    };
    let exported = names(&std::fs::read(&file).unwrap());
    // busybox's hundreds of names of one binary are hard links, not copies.
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size < 8 << 20, "export is {size} bytes");
    assert!(exported.iter().any(|n| n == "bin/busybox"), "{exported:?}");
    assert!(exported.iter().any(|n| n == "tmp/new"));
    assert!(!exported.iter().any(|n| n == "bin/ls"));
    // To stdout when it is not a terminal.
    let o = e.mycli(&["export", &id]);
    ok(&o, "export to stdout");
    assert!(names(&o.stdout).iter().any(|n| n == "bin/busybox"));
    no_mounts_left(&e);

    // Stopped containers diff and export too.
    e.mycli_ok(&["stop", "-t", "0", &id]);
    assert_eq!(e.mycli_ok(&["diff", &id]), diff);
    e.mycli_ok(&["export", "-o", file.to_str().unwrap(), &id]);
    assert!(
        names(&std::fs::read(&file).unwrap())
            .iter()
            .any(|n| n == "tmp/new")
    );
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id]);
}

#[test]
fn docker_cli_cp_and_diff() {
    let e = Engine::start();
    let id = run_sleeping(&e, &[]);
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a"), "alpha\n").unwrap();
    std::os::unix::fs::symlink("a", src.join("l")).unwrap();
    let o = e.docker(&["cp", src.to_str().unwrap(), &format!("{id}:/tmp/")]);
    ok(&o, "docker cp in");
    assert_eq!(e.mycli_ok(&["exec", &id, "cat", "/tmp/src/a"]), "alpha\n");
    assert_eq!(
        e.mycli_ok(&["exec", &id, "readlink", "/tmp/src/l"]).trim(),
        "a"
    );
    let back = host.path().join("back");
    let o = e.docker(&["cp", &format!("{id}:/tmp/src"), back.to_str().unwrap()]);
    ok(&o, "docker cp out");
    assert_eq!(std::fs::read_to_string(back.join("a")).unwrap(), "alpha\n");
    assert_eq!(std::fs::read_link(back.join("l")).unwrap(), Path::new("a"));
    let o = e.docker(&["cp", &format!("{id}:/nope"), back.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("Could not find the file /nope"),
        "{}",
        text(&o.stderr)
    );
    let o = e.docker(&["diff", &id]);
    ok(&o, "docker diff");
    assert_eq!(text(&o.stdout), e.mycli_ok(&["diff", &id]));
    assert!(text(&o.stdout).contains("A /tmp/src/a"));
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id]);
}

/// One run of the mycli steps on an engine: what `diff` says after the changes, and
/// what comes back out of a directory copied in.
fn reference_steps(e: &integration_tests::dockerd::Engine) -> (String, Vec<String>) {
    e.load_busybox();
    let id = e
        .ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_owned();
    e.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "touch /tmp/new && echo x >> /etc/passwd && rm /bin/ls && mkdir -p /added/d",
    ]);
    let diff = e.ok(&["diff", &id]);
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/a"), "alpha\n").unwrap();
    std::os::unix::fs::symlink("sub/a", src.join("l")).unwrap();
    e.ok(&["cp", src.to_str().unwrap(), &format!("{id}:/tmp/")]);
    e.ok(&[
        "cp",
        &format!("{src}/.", src = src.display()),
        &format!("{id}:/tmp/contents"),
    ]);
    let out = host.path().join("out");
    std::fs::create_dir(&out).unwrap();
    e.ok(&["cp", &format!("{id}:/tmp/src"), out.to_str().unwrap()]);
    e.ok(&[
        "cp",
        &format!("{id}:/tmp/contents/."),
        out.to_str().unwrap(),
    ]);
    let mut found = Vec::new();
    for p in ["src/sub/a", "src/l", "sub/a", "l"] {
        let m = std::fs::symlink_metadata(out.join(p));
        found.push(match m {
            Ok(m) if m.is_symlink() => format!(
                "{p} -> {}",
                std::fs::read_link(out.join(p)).unwrap().display()
            ),
            Ok(_) => format!("{p}: {}", std::fs::read_to_string(out.join(p)).unwrap()),
            Err(_) => format!("{p} missing"),
        });
    }
    e.ok(&["rm", "-f", &id]);
    (diff, found)
}

#[test]
fn mycli_cp_and_diff_match_dockerd() {
    use integration_tests::dockerd::{Engine as AnyEngine, EngineKind};
    let reference = reference_steps(&AnyEngine::start_kind(EngineKind::Dockerd));
    let ours = reference_steps(&AnyEngine::start_kind(EngineKind::Myengined));
    assert_eq!(ours.1, reference.1);
    // dockerd lists in its walk's order; we sort (the same set either way).
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&ours.0), sorted(&reference.0));
}

/// Over Debian's containerd 1.6 (its overlayfs snapshotter's mounts, its shim's
/// rootfs): copies into running and stopped containers, out again, and diff.
#[test]
fn cp_and_diff_over_containerd_1_6() {
    let e = Engine::start_on(integration_tests::DaemonKind::Containerd);
    e.load_busybox();
    let id = run_sleeping(&e, &[]);
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    std::fs::write(&f, "over containerd\n").unwrap();
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/tmp/f")]);
    assert_eq!(
        e.mycli_ok(&["exec", &id, "cat", "/tmp/f"]),
        "over containerd\n"
    );
    assert!(e.mycli_ok(&["diff", &id]).contains("A /tmp/f"));
    e.mycli_ok(&["stop", "-t", "0", &id]);
    e.mycli_ok(&["cp", f.to_str().unwrap(), &format!("{id}:/tmp/g")]);
    let out = host.path().join("g");
    e.mycli_ok(&["cp", &format!("{id}:/tmp/g"), out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "over containerd\n");
    assert!(e.mycli_ok(&["diff", &id]).contains("A /tmp/g"));
    no_mounts_left(&e);
    e.mycli_ok(&["rm", "-f", &id]);
}
