//! myengined's container operations end to end: pause/unpause (the processes really
//! stop and resume; the state survives an engine restart; kill and rm -f of a paused
//! container), rename, top, stats (mycli's table and the API's JSON, one sample and a
//! stream that ends with the container), container prune with filters, the real
//! docker CLI against all of them, and mycli's steps compared with dockerd 20.10's
//! answers. Each test has its own engine.

use std::process::Output;
use std::time::Duration;

use integration_tests::engine::Engine;
use integration_tests::wait_until;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn api(e: &Engine, method: &str, path: &str) -> (u16, serde_json::Value) {
    let r = e.request(method, path, None);
    let v = if r.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        r.json()
    };
    (r.status, v)
}

fn inspect(e: &Engine, name: &str) -> serde_json::Value {
    let (status, v) = api(e, "GET", &format!("/containers/{name}/json"));
    assert_eq!(status, 200, "{v}");
    v
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A container that writes the time to `/out/t` ten times a second; `dir` is bound at `/out`.
fn run_ticker(e: &Engine, name: &str, dir: &std::path::Path) {
    e.mycli_ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-v",
        &format!("{}:/out", dir.display()),
        "busybox",
        "sh",
        "-c",
        "while :; do date +%s%N > /out/t; sleep 0.1; done",
    ]);
    let t = dir.join("t");
    wait_until(10, "the ticker's first write", || {
        std::fs::read_to_string(&t).is_ok_and(|s| !s.trim().is_empty())
    });
}

fn read_tick(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("t")).unwrap_or_default()
}

#[test]
fn pause_freezes_the_processes_and_unpause_resumes_them() {
    let mut e = Engine::start();
    let out = tempfile::tempdir().unwrap();
    run_ticker(&e, "tick", out.path());
    assert_eq!(e.mycli_ok(&["pause", "tick"]), "tick\n");
    let v = inspect(&e, "tick");
    assert_eq!(v["State"]["Paused"], true, "{v}");
    assert_eq!(v["State"]["Running"], true);
    assert_eq!(v["State"]["Status"], "paused");
    // Frozen: the file stops changing.
    std::thread::sleep(Duration::from_millis(300));
    let frozen = read_tick(out.path());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(read_tick(out.path()), frozen, "a paused container went on");
    let ps = e.mycli_ok(&["ps"]);
    assert!(ps.contains("(Paused)"), "{ps}");
    let filtered = e.mycli_ok(&["ps", "-q", "--filter", "status=paused"]);
    assert_eq!(filtered.lines().count(), 1, "{filtered}");
    assert_eq!(e.mycli_ok(&["ps", "-q", "--filter", "status=running"]), "");
    // Twice: Docker's conflict.
    e.mycli_fails(&["pause", "tick"], 1, "is already paused");
    // The state is stored: a restarted engine still says paused, and can unpause.
    e.signal_and_wait(libc::SIGTERM);
    e.restart();
    let v = inspect(&e, "tick");
    assert_eq!(v["State"]["Paused"], true, "after restart: {v}");
    assert_eq!(read_tick(out.path()), frozen);
    assert_eq!(e.mycli_ok(&["unpause", "tick"]), "tick\n");
    wait_until(10, "the ticker to go on", || {
        read_tick(out.path()) != frozen
    });
    let v = inspect(&e, "tick");
    assert_eq!(v["State"]["Paused"], false);
    assert_eq!(v["State"]["Status"], "running");
    e.mycli_fails(&["unpause", "tick"], 1, "is not paused");
    // Not running: 409 with Docker's words.
    e.mycli_ok(&["create", "--name", "idle", "busybox", "true"]);
    let (status, v) = api(&e, "POST", "/containers/idle/pause");
    assert_eq!(status, 409, "{v}");
    assert!(
        v["message"].as_str().unwrap().ends_with("is not running"),
        "{v}"
    );
    let (status, _) = api(&e, "POST", "/containers/nope/pause");
    assert_eq!(status, 404);
    e.mycli_ok(&["rm", "-f", "tick", "idle"]);
}

#[test]
fn paused_containers_are_killed_stopped_and_removed() {
    let e = Engine::start();
    for name in ["kil", "stp", "rmf"] {
        e.mycli_ok(&["run", "-d", "--name", name, "busybox", "sleep", "1000"]);
        e.mycli_ok(&["pause", name]);
    }
    assert_eq!(e.mycli_ok(&["kill", "kil"]), "kil\n");
    assert_eq!(e.mycli_ok(&["wait", "kil"]), "137\n");
    let v = inspect(&e, "kil");
    assert_eq!(v["State"]["Paused"], false, "{v}");
    assert_eq!(v["State"]["Status"], "exited");
    // Stop's SIGTERM reaches the thawed sleep (PID 1 ignores it), then SIGKILL.
    assert_eq!(e.mycli_ok(&["stop", "-t", "1", "stp"]), "stp\n");
    assert_eq!(inspect(&e, "stp")["State"]["Status"], "exited");
    assert_eq!(e.mycli_ok(&["rm", "-f", "rmf"]), "rmf\n");
    e.mycli_ok(&["rm", "kil", "stp"]);
    assert!(e.container_ids().is_empty(), "{:?}", e.container_ids());
}

#[test]
fn rename_moves_the_name() {
    let mut e = Engine::start();
    e.mycli_ok(&["run", "-d", "--name", "old", "busybox", "sleep", "1000"]);
    let id = inspect(&e, "old")["Id"].as_str().unwrap().to_owned();
    assert_eq!(e.mycli_ok(&["rename", "old", "new"]), "");
    assert_eq!(inspect(&e, "new")["Id"], id.as_str());
    assert_eq!(inspect(&e, "new")["Name"], "/new");
    let (status, _) = api(&e, "GET", "/containers/old/json");
    assert_eq!(status, 404);
    // The old name is free again.
    e.mycli_ok(&["create", "--name", "old", "busybox", "true"]);
    // Taken, invalid, the same, empty.
    e.mycli_fails(&["rename", "new", "old"], 1, "is already in use");
    let (status, v) = api(&e, "POST", "/containers/new/rename?name=old");
    assert_eq!(status, 409, "{v}");
    let (status, v) = api(&e, "POST", "/containers/new/rename?name=a%20b");
    assert_eq!(status, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Invalid container name"),
        "{v}"
    );
    let (status, _) = api(&e, "POST", "/containers/new/rename?name=new");
    assert_eq!(status, 400);
    let (status, _) = api(&e, "POST", "/containers/new/rename?name=");
    assert_eq!(status, 400);
    // Stored: a restarted engine knows the new name, and the old one stays the other's.
    e.signal_and_wait(libc::SIGTERM);
    e.restart();
    assert_eq!(inspect(&e, "new")["Id"], id.as_str());
    assert_ne!(inspect(&e, "old")["Id"], id.as_str());
    e.mycli_ok(&["rm", "-f", "new", "old"]);
}

#[test]
fn top_lists_the_containers_processes() {
    let e = Engine::start();
    e.mycli_ok(&["run", "-d", "--name", "topper", "busybox", "sleep", "1000"]);
    let out = e.mycli_ok(&["top", "topper"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "{out}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "only the container's sleep: {out}");
    assert!(rows[0].ends_with("sleep 1000"), "{out}");
    let pid = inspect(&e, "topper")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(rows[0].split_whitespace().nth(1).unwrap(), pid.to_string());
    // ps options after the container.
    let out = e.mycli_ok(&["top", "topper", "-o", "pid,comm"]);
    assert_eq!(
        out.lines().nth(1).unwrap().split_whitespace().last(),
        Some("sleep"),
        "{out}"
    );
    // The API's JSON.
    let (status, v) = api(&e, "GET", "/containers/topper/top?ps_args=-ef");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["Titles"][7], "CMD");
    assert_eq!(v["Processes"][0][7], "sleep 1000");
    // Bad ps arguments: ps's complaint, a 500.
    let (status, v) = api(
        &e,
        "GET",
        &format!("/containers/topper/top?ps_args={}", enc("--bogus")),
    );
    assert_eq!(status, 500, "{v}");
    assert!(v["message"].as_str().unwrap().starts_with("ps: "), "{v}");
    // Not running: 409.
    e.mycli_ok(&["create", "--name", "idle", "busybox", "true"]);
    e.mycli_fails(&["top", "idle"], 1, "is not running");
    e.mycli_ok(&["rm", "-f", "topper", "idle"]);
}

#[test]
fn stats_report_memory_cpu_and_pids() {
    let e = Engine::start();
    e.mycli_ok(&[
        "run",
        "-d",
        "--name",
        "st1",
        "busybox",
        "sh",
        "-c",
        "sleep 1000 & wait",
    ]);
    let out = e.mycli_ok(&["stats", "--no-stream", "st1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for title in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(lines[0].contains(title), "{out}");
    }
    let id = inspect(&e, "st1")["Id"].as_str().unwrap().to_owned();
    assert!(lines[1].starts_with(&id[..12]), "{out}");
    assert!(lines[1].contains(" st1 "), "{out}");
    assert!(lines[1].trim_end().ends_with(" 2"), "sh and sleep: {out}");
    let mem = lines[1].split_whitespace().nth(3).unwrap();
    assert!(!mem.starts_with("0B"), "memory in use: {out}");
    // Every running container when none is named; -a adds stopped ones (zeros).
    e.mycli_ok(&["create", "--name", "idle", "busybox", "true"]);
    let out = e.mycli_ok(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"]);
    assert_eq!(out, "st1 2\n");
    let out = e.mycli_ok(&[
        "stats",
        "--no-stream",
        "-a",
        "--format",
        "{{.Name}} {{.CPUPerc}} {{.MemUsage}}",
    ]);
    assert!(out.contains("idle 0.00% 0B / 0B\n"), "{out}");

    // The API, one primed sample.
    let (status, v) = api(&e, "GET", "/containers/st1/stats?stream=false");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["name"], "/st1");
    assert_eq!(v["pids_stats"]["current"], 2);
    assert!(v["memory_stats"]["usage"].as_u64().unwrap() > 0, "{v}");
    assert!(v["memory_stats"]["limit"].as_u64().unwrap() > 0, "{v}");
    assert!(v["memory_stats"]["stats"].is_object(), "{v}");
    assert!(
        v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(
        v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(v["cpu_stats"]["online_cpus"].as_u64().unwrap() > 0, "{v}");
    assert!(v["cpu_stats"]["throttling_data"].is_object(), "{v}");
    assert!(
        v["precpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "primed: {v}"
    );
    assert_ne!(v["preread"], "0001-01-01T00:00:00Z");
    assert!(v["blkio_stats"].is_object(), "{v}");
    assert!(v["networks"]["eth0"]["rx_bytes"].is_u64(), "{v}");
    // one-shot: no previous sample.
    let (_, v) = api(
        &e,
        "GET",
        "/containers/st1/stats?stream=false&one-shot=true",
    );
    assert_eq!(v["preread"], "0001-01-01T00:00:00Z", "{v}");
    assert!(v["precpu_stats"].get("system_cpu_usage").is_none(), "{v}");
    // Not running: Docker's empty sample.
    let (status, v) = api(&e, "GET", "/containers/idle/stats?stream=false");
    assert_eq!(status, 200);
    assert_eq!(v["name"], "/idle");
    assert_eq!(v["read"], "0001-01-01T00:00:00Z");
    assert!(v["memory_stats"].get("usage").is_none(), "{v}");
    e.mycli_ok(&["rm", "-f", "st1", "idle"]);
}

#[test]
fn stats_stream_one_sample_a_second_until_the_container_stops() {
    let e = Engine::start();
    e.mycli_ok(&["run", "-d", "--name", "brief", "busybox", "sleep", "2.5"]);
    // The stream ends when the container stops, so the request returns.
    let r = e.request("GET", "/containers/brief/stats", None);
    assert_eq!(r.status, 200);
    let samples: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&r.body)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!((2..=5).contains(&samples.len()), "{}", r.text());
    assert_eq!(samples[0]["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(
        samples[1]["preread"], samples[0]["read"],
        "precpu from the sample before"
    );
    assert_eq!(
        samples[1]["precpu_stats"]["cpu_usage"]["total_usage"],
        samples[0]["cpu_stats"]["cpu_usage"]["total_usage"]
    );
    e.mycli_ok(&["rm", "brief"]);
}

/// Runs `cmd` for `secs` seconds, then kills it; its stdout.
fn output_after(mut cmd: std::process::Command, secs: f64) -> String {
    use std::io::Read;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let _ = child.kill();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    out
}

#[test]
fn stats_without_no_stream_redraw_every_second() {
    let e = Engine::start();
    e.mycli_ok(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]);
    let mut mycli = std::process::Command::new(integration_tests::bin("mycli"));
    mycli.env("DOCKER_HOST", e.host()).args(["stats", "live"]);
    let out = output_after(mycli, 3.5);
    let tables = out.matches("CONTAINER ID").count();
    assert!(tables >= 2, "{out}");
    assert!(out.contains(" live "), "{out}");
    // The docker CLI's streaming mode reads our stream too.
    let out = output_after(e.docker_cmd(&["stats", "live"]), 3.5);
    assert!(out.matches("CONTAINER ID").count() >= 2, "{out}");
    assert!(out.contains(" live "), "{out}");
    e.mycli_ok(&["rm", "-f", "live"]);
}

#[test]
fn container_prune_removes_stopped_containers_by_filter() {
    let e = Engine::start();
    e.mycli_ok(&[
        "run",
        "--name",
        "keep-label",
        "--label",
        "keep=1",
        "busybox",
        "true",
    ]);
    e.mycli_ok(&["run", "--name", "plain", "busybox", "true"]);
    e.mycli_ok(&["create", "--name", "fresh", "busybox", "true"]);
    e.mycli_ok(&["run", "-d", "--name", "up", "busybox", "sleep", "1000"]);
    let id = |n: &str| inspect(&e, n)["Id"].as_str().unwrap().to_owned();
    let (plain, fresh, keep) = (id("plain"), id("fresh"), id("keep-label"));
    // Refusing the prompt does nothing.
    let o = e.mycli_with_stdin(&["container", "prune"], b"n\n");
    assert!(o.status.success());
    assert!(
        stdout(&o).starts_with("WARNING! This will remove all stopped containers."),
        "{}",
        stdout(&o)
    );
    assert_eq!(e.container_ids().len(), 4);
    // until: all were made just now.
    let out = e.mycli_ok(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    // label!: all stopped but the labelled one.
    let out = e.mycli_ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(
        out.contains(&plain) && out.contains(&fresh) && !out.contains(&keep),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space: "), "{out}");
    let (status, v) = api(
        &e,
        "POST",
        &format!(
            "/containers/prune?filters={}",
            enc(r#"{"label":["keep=1"]}"#)
        ),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ContainersDeleted"], serde_json::json!([keep]));
    assert!(v["SpaceReclaimed"].is_u64());
    let (_, v) = api(&e, "POST", "/containers/prune");
    assert!(v["ContainersDeleted"].is_null(), "{v}");
    assert_eq!(e.container_ids(), [id("up")]);
    let (status, _) = api(
        &e,
        "POST",
        &format!("/containers/prune?filters={}", enc(r#"{"bogus":["1"]}"#)),
    );
    assert_eq!(status, 400);
    e.mycli_ok(&["rm", "-f", "up"]);
}

#[test]
fn docker_cli_pauses_renames_tops_stats_and_prunes() {
    let e = Engine::start();
    e.docker_ok(&["run", "-d", "--name", "d1", "busybox", "sleep", "1000"]);
    assert_eq!(e.docker_ok(&["pause", "d1"]), "d1\n");
    let status = e.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "d1"]);
    assert_eq!(status, "paused true\n");
    let ps = e.docker_ok(&["ps", "--format", "{{.Names}} {{.State}} {{.Status}}"]);
    assert!(
        ps.starts_with("d1 paused Up ") && ps.contains("(Paused)"),
        "{ps}"
    );
    let o = e.docker(&["pause", "d1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is already paused"));
    assert_eq!(e.docker_ok(&["unpause", "d1"]), "d1\n");
    e.docker_ok(&["rename", "d1", "d2"]);
    assert_eq!(e.docker_ok(&["inspect", "-f", "{{.Name}}", "d2"]), "/d2\n");
    let top = e.docker_ok(&["top", "d2"]);
    assert!(
        top.starts_with("UID") && top.contains("sleep 1000"),
        "{top}"
    );
    let stats = e.docker_ok(&["stats", "--no-stream", "d2"]);
    let lines: Vec<&str> = stats.lines().collect();
    assert!(lines[0].starts_with("CONTAINER ID"), "{stats}");
    assert!(
        lines[1].contains(" d2 ") && lines[1].trim_end().ends_with(" 1"),
        "{stats}"
    );
    assert!(
        !lines[1].contains("0B / 0B   0.00%"),
        "memory in use: {stats}"
    );
    e.docker_ok(&["run", "--name", "done", "busybox", "true"]);
    let done = e.docker_ok(&["inspect", "-f", "{{.Id}}", "done"]);
    let out = e.docker_ok(&["container", "prune", "-f"]);
    assert!(out.contains(done.trim()), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(e.container_ids().len(), 1);
    e.docker_ok(&["rm", "-f", "d2"]);
}

/// The keys of a JSON object, sorted (nested objects by `path`).
fn keys(v: &serde_json::Value, path: &[&str]) -> Vec<String> {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// One run of the steps on an engine: what each says, made comparable (no IDs, times
/// or sizes).
fn reference_steps(e: &integration_tests::dockerd::Engine) -> Vec<String> {
    e.load_busybox();
    let mut seen = Vec::new();
    let mut say = |s: String| seen.push(s);
    // No network: the reference dockerd runs with `--bridge=none`.
    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "op1",
        "busybox",
        "sh",
        "-c",
        "sleep 1000 & wait",
    ]);
    say(e.ok(&["pause", "op1"]));
    say(e.ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.Running}} {{.State.Paused}}",
        "op1",
    ]));
    say(e.ok(&["ps", "--format", "{{.Names}} {{.State}}"]));
    let o = e.run(&["pause", "op1"]);
    let err = String::from_utf8_lossy(&o.stderr).replace(
        &e.ok(&["inspect", "-f", "{{.Id}}", "op1"])
            .trim()
            .to_string(),
        "ID",
    );
    say(format!("{:?} {err}", o.status.code()));
    say(e.ok(&["unpause", "op1"]));
    let o = e.run(&["unpause", "op1"]);
    let id = e.ok(&["inspect", "-f", "{{.Id}}", "op1"]).trim().to_owned();
    say(format!(
        "{:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).replace(&id, "ID")
    ));
    say(e.ok(&["rename", "op1", "op2"]));
    say(e.ok(&["inspect", "-f", "{{.Name}}", "op2"]));
    let o = e.run(&["rename", "op2", "op2"]);
    say(format!(
        "{:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    ));
    let o = e.run(&["rename", "op2", "-bad"]);
    say(format!("{:?}", o.status.code()));
    let top = e.ok(&["top", "op2"]);
    say(top
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "));
    let mut cmds: Vec<String> = top
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().skip(7).collect::<Vec<_>>().join(" "))
        .collect();
    cmds.sort();
    say(cmds.join("|"));
    let top = e.ok(&["top", "op2", "-o", "pid,comm"]);
    let mut comms: Vec<&str> = top
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    comms.sort();
    say(comms.join("|"));
    say(e.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "op2",
    ]));
    let (_, body) = e
        .api("GET", "/containers/op2/stats?stream=false", None)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for path in [
        &[][..],
        &["cpu_stats"],
        &["cpu_stats", "cpu_usage"],
        &["cpu_stats", "throttling_data"],
        &["pids_stats"],
        &["networks", "eth0"],
    ] {
        say(format!("{path:?}: {:?}", keys(&v, path)));
    }
    // memory_stats: the keys clients read (v1 adds ones we may not: failcnt comes and goes).
    for k in ["usage", "max_usage", "limit", "stats"] {
        say(format!(
            "memory_stats.{k}: {}",
            !v["memory_stats"][k].is_null()
        ));
    }
    let o = e.run(&["top", "nope"]);
    say(format!(
        "{:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    ));
    e.ok(&["create", "--name", "op3", "busybox", "true"]);
    let o = e.run(&["top", "op3"]);
    let id3 = e.ok(&["inspect", "-f", "{{.Id}}", "op3"]).trim().to_owned();
    say(format!(
        "{:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).replace(&id3, "ID")
    ));
    let out = e.ok(&["container", "prune", "-f"]);
    say(out
        .replace(&id3, "ID")
        .lines()
        .filter(|l| !l.starts_with("Total"))
        .collect::<Vec<_>>()
        .join("|"));
    e.ok(&["rm", "-f", "op2"]);
    seen
}

#[test]
fn ops_match_dockerd() {
    use integration_tests::dockerd::{Engine as AnyEngine, EngineKind};
    let reference = reference_steps(&AnyEngine::start_kind(EngineKind::Dockerd));
    let ours = reference_steps(&AnyEngine::start_kind(EngineKind::Myengined));
    for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert_eq!(a, b, "step {i}");
    }
    assert_eq!(ours.len(), reference.len());
}

#[test]
fn a_renamed_container_is_found_by_its_new_name_on_user_networks() {
    let e = Engine::start();
    e.mycli_ok(&["network", "create", "renamenet"]);
    e.mycli_ok(&[
        "run",
        "-d",
        "--name",
        "old",
        "--network",
        "renamenet",
        "busybox",
        "sleep",
        "1000",
    ]);
    e.mycli_ok(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "renamenet",
        "busybox",
        "sleep",
        "1000",
    ]);
    e.mycli_ok(&["rename", "old", "new"]);
    let hosts = e.mycli_ok(&["exec", "peer", "cat", "/etc/hosts"]);
    assert!(hosts.contains("\tnew") || hosts.contains(" new"), "{hosts}");
    assert!(!hosts.split_whitespace().any(|w| w == "old"), "{hosts}");
    e.mycli_fails(&["exec", "old", "true"], 1, "No such container");
    e.mycli_ok(&["pause", "new"]);
    e.mycli_fails(
        &["exec", "new", "true"],
        1,
        "is paused, unpause the container before exec",
    );
    e.mycli_ok(&["rm", "-f", "new", "peer"]);
    e.mycli_ok(&["network", "rm", "renamenet"]);
}
