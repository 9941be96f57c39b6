//! mycontainerd + mycontainerd-shim + myrunc, driven by Debian's `ctr` 1.6 (a client nobody
//! here wrote), with the same lifecycle run against Debian's containerd in the same test.

use std::io::Write;
use std::process::Stdio;

use integration_tests::{
    Daemon, DaemonKind, busybox_rootfs, cgroup_dirs_named, pid_alive, unique, wait_until,
    zombies_of,
};

fn rootfs() -> String {
    busybox_rootfs().display().to_string()
}

fn lifecycle(d: &Daemon, runc_binary: Option<&str>) {
    let id = unique("life");
    let rootfs = rootfs();
    let mut run = vec!["run", "-d"];
    if let Some(b) = runc_binary {
        run.extend(["--runc-binary", b]);
    }
    run.extend(["--rootfs", &rootfs, &id, "/bin/sleep", "100"]);
    d.ctr_ok(&run);
    assert_eq!(
        d.task_status(&id).as_deref(),
        Some("RUNNING"),
        "{:?}",
        d.kind
    );
    let listed = d.ctr_ok(&["containers", "ls"]);
    assert!(
        listed.contains(&id) && listed.contains("io.containerd.runc.v2"),
        "{listed}"
    );
    let info = d.ctr_ok(&["containers", "info", &id]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(v["ID"], id.as_str());
    assert_eq!(
        v["Spec"]["root"]["path"],
        rootfs.as_str(),
        "spec travels as JSON in an Any"
    );

    let out = d.ctr_ok(&[
        "tasks",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "/bin/sh",
        "-c",
        "echo from-exec; exit 0",
    ]);
    assert_eq!(out, "from-exec\n");
    let out = d.ctr(&[
        "tasks",
        "exec",
        "--exec-id",
        "e2",
        &id,
        "/bin/sh",
        "-c",
        "exit 6",
    ]);
    assert_eq!(out.status.code(), Some(6), "exec exit code");
    let ps = d.ctr_ok(&["tasks", "ps", &id]);
    assert!(ps.lines().count() >= 2, "{ps}");

    d.ctr_ok(&["tasks", "kill", "--signal", "SIGKILL", &id]);
    wait_until(20, "the task to stop", || {
        d.task_status(&id).as_deref() == Some("STOPPED")
    });
    d.ctr_ok(&["tasks", "delete", &id]);
    assert_eq!(d.task_status(&id), None);
    d.ctr_ok(&["containers", "rm", &id]);
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left for {id}");
}

#[test]
fn lifecycle_with_real_ctr_matches_containerd() {
    for kind in [DaemonKind::Ours, DaemonKind::Containerd] {
        let d = Daemon::start(kind);
        lifecycle(&d, None);
    }
}

#[test]
fn lifecycle_with_runc_as_the_runtime() {
    // The shim drives Debian's runc when the runc options name it (ctr --runc-binary).
    let d = Daemon::start(DaemonKind::Ours);
    lifecycle(&d, Some("/usr/sbin/runc"));
}

#[test]
fn foreground_run_exit_code_stdout_and_stdin_eof() {
    let d = Daemon::start(DaemonKind::Ours);
    let rootfs = rootfs();
    let out = d.ctr(&[
        "run",
        "--rm",
        "--rootfs",
        &rootfs,
        &unique("fg"),
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err"));
    // Closing stdin ends `cat`.
    let mut child = d
        .ctr_cmd(&[
            "run",
            "--rm",
            "--rootfs",
            &rootfs,
            &unique("cat"),
            "/bin/cat",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through-stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through-stdin\n");
    assert!(out.status.success());
}

#[test]
fn interactive_terminal_session() {
    let d = Daemon::start(DaemonKind::Ours);
    let cmd = format!(
        "ctr --address {} --namespace {} run --rm -t --rootfs {} {} /bin/sh",
        d.socket().display(),
        d.namespace,
        rootfs(),
        unique("tty")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin
        .write_all(b"tty; echo hi-$((20+1)); exit 3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hi-21") && text.contains("/dev/pts/"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(3), "{text}");
}

#[test]
fn namespaces_isolate_and_refuse_deletion_while_used() {
    let d = Daemon::start(DaemonKind::Ours);
    let id = unique("ns");
    d.ctr_ok(&[
        "containers",
        "create",
        "--rootfs",
        &rootfs(),
        &id,
        "/bin/true",
    ]);
    let other = unique("otherns");
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["--namespace", &other, "containers", "ls", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "another namespace sees nothing"
    );
    let ns = d.ctr_ok(&["namespaces", "ls", "-q"]);
    assert!(
        ns.lines().any(|l| l == d.namespace),
        "created implicitly: {ns}"
    );
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["namespaces", "rm", &d.namespace])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a namespace with containers cannot be removed"
    );
    d.ctr_ok(&["containers", "rm", &id]);
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["namespaces", "create", &other, "team=a"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ls = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["namespaces", "ls"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ls.stdout).contains("team=a"));
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["namespaces", "rm", &other])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn twenty_containers_at_once_all_reaped() {
    let d = Daemon::start(DaemonKind::Ours);
    let rootfs = rootfs();
    let ids: Vec<String> = (0..20).map(|_| unique("many")).collect();
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut cmd = d.ctr_cmd(&[
                "run",
                "-d",
                "--rootfs",
                &rootfs,
                id,
                "/bin/sh",
                "-c",
                "sleep 1000 & sleep 1000",
            ]);
            std::thread::spawn(move || cmd.stdin(Stdio::null()).output().unwrap())
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for id in &ids {
        assert_eq!(d.task_status(id).as_deref(), Some("RUNNING"), "{id}");
    }
    let shims = d.shim_pids();
    assert_eq!(shims.len(), 20);
    for id in &ids {
        d.ctr_ok(&["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
    }
    for id in &ids {
        wait_until(20, "the task to stop", || {
            d.task_status(id).as_deref() == Some("STOPPED")
        });
        d.ctr_ok(&["tasks", "delete", id]);
        d.ctr_ok(&["containers", "rm", id]);
    }
    wait_until(10, "every shim to exit", || {
        shims.iter().all(|p| !pid_alive(*p))
    });
    assert!(zombies_of(&shims).is_empty());
    for id in &ids {
        assert!(cgroup_dirs_named(id).is_empty(), "cgroups left for {id}");
    }
    assert!(integration_tests::mounts_under(&d.state_dir()).is_empty());
}

#[test]
fn a_hundred_short_runs_every_exit_code_reported() {
    let d = Daemon::start(DaemonKind::Ours);
    let rootfs = rootfs();
    for i in 0..100 {
        let code = i % 7;
        let out = d.ctr(&[
            "run",
            "--rm",
            "--rootfs",
            &rootfs,
            &unique("short"),
            "/bin/sh",
            "-c",
            &format!("exit {code}"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A shim leaves just after answering the delete: give the last ones a moment.
    wait_until(10, "every shim to exit after its task is deleted", || {
        d.shim_pids().is_empty()
    });
}

#[test]
fn events_reach_real_ctr_in_lifecycle_order() {
    let d = Daemon::start(DaemonKind::Ours);
    let events = d
        .ctr_cmd(&["events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let id = unique("ev");
    let out = d.ctr(&["run", "--rm", "--rootfs", &rootfs(), &id, "/bin/true"]);
    assert!(out.status.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: stopping the ctr we started.
    unsafe { libc::kill(events.id() as i32, libc::SIGTERM) };
    let out = events.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let topics: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&id))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .collect();
    assert_eq!(
        topics,
        [
            "/containers/create",
            "/tasks/create",
            "/tasks/start",
            "/tasks/exit",
            "/tasks/delete",
            "/containers/delete"
        ],
        "{text}"
    );
    assert!(
        text.contains(r#""container_id":""#),
        "ctr decodes our payloads: {text}"
    );
}

#[test]
fn bad_requests_get_clear_errors() {
    let d = Daemon::start(DaemonKind::Ours);
    let out = d.ctr(&["tasks", "kill", "no-such-task"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d.ctr(&["containers", "info", "no-such-container"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(d.socket())
        .args(["--namespace", "../bad", "containers", "ls"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // The daemon keeps serving.
    d.ctr_ok(&["version"]);
}
