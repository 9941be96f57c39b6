//! The OCI lifecycle through the CLI, each case run with myrunc and with Debian's runc.

mod common;

use common::{Bundle, Runtime, cgroup_dirs_named, pid_alive, unique_id, wait_until};

#[test]
fn create_start_kill_delete() {
    for rt in Runtime::both() {
        let bundle = Bundle::new(&["sleep", "100"]);
        let id = unique_id("life");
        rt.create(&bundle, &id);
        let st = rt.state(&id);
        assert_eq!(st["status"], "created", "{}", rt.name());
        let pid = st["pid"].as_i64().unwrap() as i32;
        assert!(pid > 0 && pid_alive(pid));
        assert_eq!(st["id"], id.as_str());
        assert_eq!(st["bundle"], bundle.path().to_str().unwrap());
        assert!(st["ociVersion"].is_string() && st["created"].is_string());

        rt.ok(&["start", &id]);
        assert_eq!(rt.status(&id), "running", "{}", rt.name());
        // Starting twice is an error.
        assert!(
            !rt.run(&["start", &id]).status.success(),
            "{}: second start succeeded",
            rt.name()
        );
        // Deleting a running container needs --force.
        assert!(
            !rt.run(&["delete", &id]).status.success(),
            "{}: delete of running succeeded",
            rt.name()
        );
        assert!(pid_alive(pid));

        rt.ok(&["kill", &id, "KILL"]);
        wait_until(10, "the container to stop", || rt.status(&id) == "stopped");
        assert_eq!(
            rt.state(&id)["pid"],
            0,
            "{}: a stopped container reports pid 0",
            rt.name()
        );
        // Signalling a stopped container is an error; starting it too.
        assert!(
            !rt.run(&["kill", &id, "TERM"]).status.success(),
            "{}: kill of stopped succeeded",
            rt.name()
        );
        assert!(!rt.run(&["start", &id]).status.success(), "{}", rt.name());

        rt.ok(&["delete", &id]);
        let out = rt.run(&["state", &id]);
        assert!(
            !out.status.success(),
            "{}: state after delete succeeded",
            rt.name()
        );
        assert!(
            cgroup_dirs_named(&id).is_empty(),
            "{}: cgroups left: {:?}",
            rt.name(),
            cgroup_dirs_named(&id)
        );
        assert!(
            !rt.root.path().join(&id).exists(),
            "{}: state dir left",
            rt.name()
        );
    }
}

#[test]
fn signals_by_name_and_number() {
    for rt in Runtime::both() {
        // The shell traps USR1 and exits with a code we can recognise.
        let bundle = Bundle::new(&[
            "sh",
            "-c",
            "trap 'exit 42' USR1; while true; do sleep 0.1; done",
        ]);
        let id = unique_id("sig");
        let mut child = rt
            .cmd()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .spawn()
            .unwrap();
        wait_until(10, "running", || {
            rt.run(&["state", &id]).status.success() && rt.status(&id) == "running"
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        rt.ok(&["kill", &id, "USR1"]);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(42), "{}", rt.name());

        let bundle = Bundle::new(&["sleep", "100"]);
        let id = unique_id("sig");
        let mut child = rt
            .cmd()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .spawn()
            .unwrap();
        wait_until(10, "running", || {
            rt.run(&["state", &id]).status.success() && rt.status(&id) == "running"
        });
        rt.ok(&["kill", &id, "9"]);
        // Foreground run reports death by signal N as 128+N.
        assert_eq!(child.wait().unwrap().code(), Some(137), "{}", rt.name());
        assert!(!rt.run(&["kill", &id, "NOTASIGNAL"]).status.success());
    }
}

#[test]
fn exit_code_of_foreground_run() {
    for rt in Runtime::both() {
        let bundle = Bundle::new(&["sh", "-c", "echo out; echo err >&2; exit 7"]);
        let (code, out, err) = rt.run_bundle(&bundle, &unique_id("code"));
        assert_eq!(code, 7, "{}", rt.name());
        assert_eq!(out, "out\n");
        assert!(err.contains("err"));
    }
}

#[test]
fn kill_all_reaches_every_process() {
    for rt in Runtime::both() {
        // Without a pid namespace the init's death does not take the others with it.
        let mut bundle = Bundle::new(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
        bundle.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "pid");
        });
        let id = unique_id("killall");
        rt.create(&bundle, &id);
        rt.ok(&["start", &id]);
        wait_until(10, "three processes", || {
            let pids: Vec<i32> =
                serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
            pids.len() == 3
        });
        let pids: Vec<i32> =
            serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        rt.ok(&["kill", "--all", &id, "KILL"]);
        wait_until(10, "every process to die", || {
            pids.iter().all(|p| !pid_alive(*p))
        });
        rt.ok(&["delete", &id]);
        assert!(cgroup_dirs_named(&id).is_empty());
    }
}

#[test]
fn delete_edge_cases() {
    for rt in Runtime::both() {
        // Unknown container: an error, unless forced.
        assert!(
            !rt.run(&["delete", "no-such-container"]).status.success(),
            "{}",
            rt.name()
        );
        assert!(
            rt.run(&["delete", "--force", "no-such-container"])
                .status
                .success(),
            "{}",
            rt.name()
        );

        // A created container: delete kills the waiting init and removes everything.
        let bundle = Bundle::new(&["sleep", "100"]);
        let id = unique_id("del");
        rt.create(&bundle, &id);
        let pid = rt.state(&id)["pid"].as_i64().unwrap() as i32;
        rt.ok(&["delete", &id]);
        wait_until(10, "the created init to die", || !pid_alive(pid));
        assert!(cgroup_dirs_named(&id).is_empty(), "{}", rt.name());

        // A running container with --force.
        let id = unique_id("del");
        rt.create(&bundle, &id);
        rt.ok(&["start", &id]);
        let pid = rt.state(&id)["pid"].as_i64().unwrap() as i32;
        rt.ok(&["delete", "--force", &id]);
        wait_until(10, "the init to die", || !pid_alive(pid));
        assert!(!rt.run(&["state", &id]).status.success());
        assert!(cgroup_dirs_named(&id).is_empty(), "{}", rt.name());
    }
}

#[test]
fn list_and_ps() {
    for rt in Runtime::both() {
        let bundle = Bundle::new(&["sleep", "100"]);
        let id = unique_id("list");
        rt.create(&bundle, &id);
        let table = rt.ok(&["list"]);
        assert!(table.starts_with("ID"), "{}: {table}", rt.name());
        assert!(table.contains(&id) && table.contains("created"));
        assert_eq!(rt.ok(&["list", "-q"]).trim(), id);
        let json: serde_json::Value =
            serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
        assert_eq!(json[0]["id"], id.as_str());
        assert_eq!(json[0]["status"], "created");
        rt.ok(&["start", &id]);
        // runc's start can return before its init has exec'd: wait for the program.
        wait_until(10, "sleep to show in ps", || {
            rt.ok(&["ps", &id]).contains("sleep 100")
        });
        let ps = rt.ok(&["ps", &id]);
        assert!(
            ps.lines().next().unwrap().contains("PID"),
            "{}: {ps}",
            rt.name()
        );
        assert!(ps.contains("sleep 100"), "{}: {ps}", rt.name());
        rt.ok(&["delete", "-f", &id]);
    }
}

#[test]
fn pause_and_resume() {
    for rt in Runtime::both() {
        let bundle = Bundle::new(&["sleep", "100"]);
        let id = unique_id("pause");
        rt.create(&bundle, &id);
        rt.ok(&["start", &id]);
        rt.ok(&["pause", &id]);
        assert_eq!(rt.status(&id), "paused", "{}", rt.name());
        assert!(
            !rt.run(&["pause", &id]).status.success(),
            "{}: pausing twice",
            rt.name()
        );
        rt.ok(&["resume", &id]);
        assert_eq!(rt.status(&id), "running", "{}", rt.name());
        assert!(!rt.run(&["resume", &id]).status.success(), "{}", rt.name());
        // A paused container can still be killed and deleted.
        rt.ok(&["pause", &id]);
        rt.ok(&["delete", "--force", &id]);
        assert!(cgroup_dirs_named(&id).is_empty());
    }
}

#[test]
fn pid_file_and_version() {
    let rt = Runtime::myrunc();
    let bundle = Bundle::new(&["sleep", "100"]);
    let id = unique_id("pidfile");
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("init.pid");
    let (ok, err) = rt.try_create(&bundle, &id, &["--pid-file", pidfile.to_str().unwrap()]);
    assert!(ok, "{err}");
    let pid: i64 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    assert_eq!(rt.state(&id)["pid"].as_i64().unwrap(), pid);
    rt.ok(&["delete", "-f", &id]);
    // go-runc parses exactly three lines: "X version V", "commit: C", "spec: S".
    let v = rt.ok(&["--version"]);
    let lines: Vec<&str> = v.trim().lines().collect();
    assert_eq!(lines.len(), 3, "{v}");
    assert!(lines[0].starts_with("myrunc version "));
    assert!(lines[1].starts_with("commit: ") && lines[2].starts_with("spec: "));
}

#[test]
fn json_log_lines_for_errors() {
    // containerd's shim reads the last error from --log in this exact shape.
    let rt = Runtime::myrunc();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.json");
    let out = rt
        .cmd()
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "start", "missing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let line = std::fs::read_to_string(&log).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("does not exist"));
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn systemd_cgroup_is_refused_clearly() {
    let rt = Runtime::myrunc();
    let out = rt.run(&["--systemd-cgroup", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported"));
}
