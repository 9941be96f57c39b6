//! myengined end to end: the real docker CLI 28 and raw API requests against myengined
//! over mycontainerd, each test with its own daemons in temp dirs.

use std::time::{Duration, Instant};

use integration_tests::engine::Engine;
use integration_tests::wait_until;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn docker_cli_version_info_and_run_rm() {
    let e = Engine::start();
    let v = e.docker_ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.MinAPIVersion}}",
    ]);
    assert_eq!(v.trim(), "1.47 1.24");
    let info = e.docker_ok(&[
        "info",
        "--format",
        "{{.OSType}} {{.LoggingDriver}} {{.Images}}",
    ]);
    assert_eq!(info.trim(), "linux json-file 1");
    assert_eq!(
        e.docker_ok(&["run", "--rm", "busybox", "echo", "hi"]),
        "hi\n"
    );
    assert!(e.container_ids().is_empty(), "--rm left a container");
    let images = e.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.trim(), "busybox:latest");
    let id = e.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{json .Config.Cmd}}",
        "busybox",
    ]);
    assert!(id.starts_with("sha256:") && id.contains("[\"sh\"]"), "{id}");
}

#[test]
fn docker_cli_detached_lifecycle() {
    let e = Engine::start();
    let id = e
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "-e",
            "GREETING=hello",
            "-l",
            "tier=web",
            "busybox",
            "sh",
            "-c",
            "echo $GREETING; echo oops >&2; trap 'exit 0' TERM; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_owned();
    assert_eq!(id.len(), 64, "{id}");
    let ps = e.docker_ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Up"), "{ps}");
    let filtered = e.docker_ok(&[
        "ps",
        "-q",
        "--filter",
        "label=tier=web",
        "--filter",
        "status=running",
    ]);
    assert_eq!(filtered.trim(), &id[..12]);
    wait_until(10, "the log", || {
        stdout(&e.docker(&["logs", "web"])) == "hello\n"
    });
    let logs = e.docker(&["logs", "web"]);
    assert_eq!(stderr(&logs), "oops\n");
    let exec = e.docker(&["exec", "web", "sh", "-c", "echo in $(hostname); exit 3"]);
    assert_eq!(exec.status.code(), Some(3), "{}", stderr(&exec));
    assert_eq!(stdout(&exec), format!("in {}\n", &id[..12]));
    let piped = e.docker_with_stdin(&["exec", "-i", "web", "cat"], b"through exec\n");
    assert_eq!(stdout(&piped), "through exec\n");
    let started = Instant::now();
    e.docker_ok(&["stop", "web"]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "stop used the timeout"
    );
    let state = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}} {{.Name}} {{.Config.Labels.tier}}",
        "web",
    ]);
    assert_eq!(state.trim(), "exited 0 /web web");
    let rm_running = e.docker(&["rm", "web"]);
    assert!(rm_running.status.success(), "{}", stderr(&rm_running));
    assert!(e.container_ids().is_empty());
}

#[test]
fn rm_refuses_a_running_container_without_force() {
    let e = Engine::start();
    e.docker_ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "100"]);
    let out = e.docker(&["rm", "busy"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("You cannot remove a running container"),
        "{}",
        stderr(&out)
    );
    e.docker_ok(&["rm", "-f", "busy"]);
    assert!(e.container_ids().is_empty());
}

#[test]
fn init_exit_code_is_quick_and_stdin_eof_ends_cat() {
    let e = Engine::start();
    let started = Instant::now();
    let out = e.docker(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "sleep 100 & sleep 100 & exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    let out = e.docker_with_stdin(&["run", "-i", "--rm", "busybox", "cat"], b"x\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "x\n");
}

#[test]
fn not_found_and_not_executable_exit_127_and_126() {
    let e = Engine::start();
    let out = e.docker(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    let out = e.docker(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
    // --rm removed them even though they never ran.
    assert!(e.container_ids().is_empty());
}

#[test]
fn oom_kill_is_137_and_recorded() {
    let e = Engine::start();
    let out = e.docker(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=a; while :; do x=$x$x; done",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    let state = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(state.trim(), "true 137");
}

#[test]
fn engine_sigkill_keeps_containers_and_their_output() {
    let mut e = Engine::start();
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "survivor",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.1; done; exit 4",
    ]);
    e.signal_and_wait(libc::SIGKILL);
    // Output goes on while the engine is away, and nothing blocks.
    std::thread::sleep(Duration::from_millis(800));
    e.restart();
    let ps = e.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(ps.contains("survivor"), "{ps}");
    let out = e.docker(&["wait", "survivor"]);
    assert_eq!(stdout(&out).trim(), "4", "{}", stderr(&out));
    let logs = e.docker_ok(&["logs", "survivor"]);
    let expected: String = (0..30).map(|i| format!("line{i}\n")).collect();
    assert_eq!(logs, expected);
}

#[test]
fn exit_during_engine_downtime_is_recorded_on_restart() {
    let mut e = Engine::start();
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "quick",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; exit 6",
    ]);
    e.docker_ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5",
    ]);
    e.signal_and_wait(libc::SIGKILL);
    std::thread::sleep(Duration::from_secs(2));
    e.restart();
    let state = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "quick",
    ]);
    assert_eq!(state.trim(), "exited 6");
    wait_until(10, "the --rm container to be removed", || {
        !stdout(&e.docker(&["ps", "-a", "--format", "{{.Names}}"])).contains("gone")
    });
}

#[test]
fn containerd_sigkill_under_the_engine_then_exit_is_seen() {
    let mut e = Engine::start();
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "busybox",
        "sh",
        "-c",
        "sleep 3; exit 9",
    ]);
    e.kill_and_restart_containerd();
    let out = e.docker(&["wait", "late"]);
    assert_eq!(stdout(&out).trim(), "9", "{}", stderr(&out));
    // And the engine still runs new containers on the restarted daemon.
    assert_eq!(
        e.docker_ok(&["run", "--rm", "busybox", "echo", "again"]),
        "again\n"
    );
}

#[test]
fn bad_input_gets_the_right_status_and_the_daemon_keeps_serving() {
    let e = Engine::start();
    let check = |method: &str, path: &str, body: Option<&[u8]>, status: u16, needle: &str| {
        let r = e.request(method, path, body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        if status != 304 {
            let msg = r.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(msg.contains(needle), "{method} {path}: {msg}");
        }
    };
    check(
        "POST",
        "/containers/create",
        Some(b"{not json"),
        400,
        "invalid JSON",
    );
    check(
        "POST",
        "/v1.47/containers/create?name=../x",
        Some(br#"{"Image":"busybox"}"#),
        400,
        "Invalid container name",
    );
    check(
        "POST",
        "/containers/create?name=/",
        Some(br#"{"Image":"busybox"}"#),
        400,
        "Invalid container name",
    );
    let long = "a".repeat(300);
    check(
        "POST",
        &format!("/containers/create?name={long}"),
        Some(br#"{"Image":"busybox"}"#),
        400,
        "Invalid container name",
    );
    check(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"nosuchimage"}"#),
        404,
        "No such image: nosuchimage:latest",
    );
    check(
        "GET",
        "/containers/0123456789ab/json",
        None,
        404,
        "No such container",
    );
    check(
        "POST",
        "/containers/nope/start",
        None,
        404,
        "No such container",
    );
    check("DELETE", "/containers/nope", None, 404, "No such container");
    check("GET", "/exec/nope/json", None, 404, "No such exec");
    check("GET", "/containers/create", None, 405, "not allowed");
    check("PUT", "/_ping", None, 405, "not allowed");
    check("GET", "/no/such/route", None, 404, "page not found");
    check("GET", "/v1.12/info", None, 400, "too old");
    check("GET", "/swarm", None, 501, "not implemented");
    check(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":1024}}"#),
        400,
        "Minimum memory",
    );
    // Name conflict.
    let r = e.request(
        "POST",
        "/containers/create?name=dup",
        Some(br#"{"Image":"busybox","Cmd":["true"]}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    check(
        "POST",
        "/containers/create?name=dup",
        Some(br#"{"Image":"busybox","Cmd":["true"]}"#),
        409,
        "already in use",
    );
    check("POST", "/containers/dup/kill", None, 409, "is not running");
    check("POST", "/containers/dup/stop", None, 304, "");
    check(
        "POST",
        "/containers/dup/wait?condition=bogus",
        None,
        400,
        "invalid condition",
    );
    let ping = e.request("HEAD", "/_ping", None);
    assert_eq!(ping.status, 200);
    assert_eq!(ping.header("api-version"), Some("1.47"));
    assert_eq!(e.request("GET", "/v1.44/_ping", None).text(), "OK");
}

#[test]
fn wait_registered_before_start_sees_a_fast_exit() {
    let e = Engine::start();
    let r = e.request(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"busybox","Cmd":["sh","-c","exit 3"]}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_owned();
    // A wait with next-exit on a raw connection, then start, then read the answer.
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(e.socket()).unwrap();
    write!(s, "POST /containers/{id}/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = e.request("POST", &format!("/containers/{id}/start"), None);
    assert_eq!(start.status, 204, "{}", start.text());
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.contains(r#""StatusCode":3"#), "{resp}");
    assert_eq!(
        e.request("POST", &format!("/containers/{id}/start"), None)
            .status,
        204
    );
    let logs = e.request(
        "GET",
        &format!("/containers/{id}/logs?stdout=1&stderr=1"),
        None,
    );
    assert_eq!(logs.status, 200);
}

#[test]
fn docker_pull_from_a_local_registry() {
    let e = Engine::start();
    let registry = integration_tests::registry::Registry::start();
    registry.push(
        &integration_tests::dockerd::busybox_oci_archive(),
        "tools/bb:1",
    );
    let name = registry.reference("tools/bb:1");
    let out = e.docker(&["pull", &name]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Status: Downloaded newer image for {name}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", &name, "echo", "pulled"]),
        "pulled\n"
    );
    // A missing image: run pulls it first (the 404 on create leads the CLI there).
    let other = registry.reference("tools/bb:latest");
    registry.push(
        &integration_tests::dockerd::busybox_oci_archive(),
        "tools/bb:latest",
    );
    let out = e.docker(&[
        "run",
        "--rm",
        &registry.reference("tools/bb"),
        "echo",
        "auto",
    ]);
    assert_eq!(stdout(&out), "auto\n", "{}", stderr(&out));
    e.docker_ok(&["tag", &other, "mine:v1"]);
    assert!(
        e.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .contains("mine:v1")
    );
    let rmi = e.docker_ok(&["rmi", "mine:v1"]);
    assert!(rmi.contains("Untagged: mine:v1"), "{rmi}");
}
