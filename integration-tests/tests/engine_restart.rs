//! Restart policies on myengined: `always` brings back a container killed behind the
//! engine's back, and after an engine restart; `on-failure:N` stops after N restarts; a
//! user's stop is final (but `always` comes back when the engine restarts, as Docker's,
//! and `unless-stopped` does not); a container waiting out its back-off counts as
//! restarting for inspect, ps, stop and rm; `update --restart`; the docker CLI's
//! `restart` and `update`. Each test has its own engine.

use std::time::Duration;

use integration_tests::engine::Engine;
use integration_tests::wait_until;

fn inspect(e: &Engine, id: &str) -> serde_json::Value {
    let r = e.request("GET", &format!("/containers/{id}/json"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn pid(e: &Engine, id: &str) -> i64 {
    inspect(e, id)["State"]["Pid"].as_i64().unwrap_or(0)
}

fn kill_from_host(pid: i64) {
    assert!(pid > 0);
    // SAFETY: SIGKILL to the container's init, which this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
}

/// Waits until the container runs under a PID other than `old`.
fn wait_restarted(e: &Engine, id: &str, old: i64) -> i64 {
    let mut now = 0;
    wait_until(20, "the container to be restarted", || {
        let v = inspect(e, id);
        now = v["State"]["Pid"].as_i64().unwrap_or(0);
        v["State"]["Status"] == "running" && now != 0 && now != old
    });
    now
}

fn run_detached(e: &Engine, args: &[&str]) -> String {
    let mut all = vec!["run", "-d"];
    all.extend_from_slice(args);
    e.mycli_ok(&all).trim().to_string()
}

#[test]
fn always_restarts_after_sigkill_and_a_stop_is_final() {
    let e = Engine::start();
    let id = run_detached(&e, &["--restart", "always", "busybox", "sleep", "1000"]);
    let first = pid(&e, &id);
    kill_from_host(first);
    let second = wait_restarted(&e, &id, first);
    let v = inspect(&e, &id);
    assert_eq!(v["RestartCount"], 1, "{v}");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "always");

    // A stop by hand is not undone by the policy.
    e.mycli_ok(&["stop", "-t", "1", &id]);
    std::thread::sleep(Duration::from_millis(800));
    let v = inspect(&e, &id);
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(v["State"]["Restarting"], false);
    // Nor is a kill (the default SIGKILL).
    e.mycli_ok(&["start", &id]);
    let third = wait_restarted(&e, &id, second);
    e.mycli_ok(&["kill", &id]);
    wait_until(10, "the kill to be recorded", || {
        inspect(&e, &id)["State"]["Status"] == "exited"
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(inspect(&e, &id)["State"]["Status"], "exited");
    assert_ne!(third, 0);
    e.mycli_ok(&["rm", &id]);
}

#[test]
fn on_failure_gives_up_after_its_count() {
    let e = Engine::start();
    let id = run_detached(
        &e,
        &["--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3"],
    );
    wait_until(20, "two restarts and a final exit", || {
        let v = inspect(&e, &id);
        v["RestartCount"] == 2 && v["State"]["Status"] == "exited"
    });
    // The back-off after the second restart would be 400 ms: nothing comes after it.
    std::thread::sleep(Duration::from_millis(1500));
    let v = inspect(&e, &id);
    assert_eq!(v["RestartCount"], 2, "{v}");
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 3);
    assert_eq!(v["State"]["Restarting"], false);

    // A clean exit is no failure.
    let ok = run_detached(&e, &["--restart", "on-failure", "busybox", "true"]);
    wait_until(10, "the exit", || {
        inspect(&e, &ok)["State"]["Status"] == "exited"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(inspect(&e, &ok)["RestartCount"], 0);
}

#[test]
fn policies_are_honoured_after_an_engine_restart() {
    let mut e = Engine::start();
    let always = run_detached(&e, &["--restart", "always", "busybox", "sleep", "1000"]);
    let stopped_always = run_detached(&e, &["--restart", "always", "busybox", "sleep", "1000"]);
    let stopped_unless = run_detached(
        &e,
        &["--restart", "unless-stopped", "busybox", "sleep", "1000"],
    );
    let unless = run_detached(
        &e,
        &["--restart", "unless-stopped", "busybox", "sleep", "1000"],
    );
    let none = run_detached(&e, &["busybox", "sleep", "1000"]);
    e.mycli_ok(&["stop", "-t", "1", &stopped_always, &stopped_unless]);

    // The engine dies; so do three containers while it is away.
    let (p_always, p_unless, p_none) = (pid(&e, &always), pid(&e, &unless), pid(&e, &none));
    e.signal_and_wait(libc::SIGKILL);
    for p in [p_always, p_unless, p_none] {
        kill_from_host(p);
    }
    e.restart();
    wait_restarted(&e, &always, p_always);
    wait_restarted(&e, &unless, p_unless);
    // `always` comes back even after a stop by hand, when the engine starts (Docker's rule).
    wait_restarted(&e, &stopped_always, 0);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(inspect(&e, &stopped_unless)["State"]["Status"], "exited");
    let v = inspect(&e, &none);
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(v["State"]["ExitCode"], 137, "{v}");
    e.mycli_ok(&[
        "rm",
        "-f",
        &always,
        &stopped_always,
        &stopped_unless,
        &unless,
        &none,
    ]);
}

#[test]
fn a_container_in_its_back_off_is_restarting() {
    let e = Engine::start();
    let id = run_detached(&e, &["--restart", "always", "busybox", "false"]);
    // The back-off doubles from 100 ms: after a few quick failures it is long enough to see.
    wait_until(30, "the restarting state", || {
        let v = inspect(&e, &id);
        v["State"]["Restarting"] == true && v["RestartCount"].as_i64().unwrap_or(0) >= 4
    });
    let v = inspect(&e, &id);
    assert_eq!(v["State"]["Status"], "restarting", "{v}");
    let ps = e.mycli_ok(&[
        "ps",
        "--filter",
        "status=restarting",
        "--format",
        "{{.ID}} {{.Status}}",
    ]);
    assert!(ps.contains("Restarting (1)"), "{ps}");
    e.mycli_fails(&["rm", &id], 1, "restarting container");
    // stop ends the waiting and the policy.
    e.mycli_ok(&["stop", &id]);
    let v = inspect(&e, &id);
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    let count = v["RestartCount"].clone();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(inspect(&e, &id)["RestartCount"], count);
    e.mycli_ok(&["rm", &id]);

    let id = run_detached(&e, &["--restart", "always", "busybox", "false"]);
    wait_until(30, "the restarting state", || {
        inspect(&e, &id)["State"]["Restarting"] == true
    });
    e.mycli_ok(&["rm", "-f", &id]);
    let r = e.request("GET", &format!("/containers/{id}/json"), None);
    assert_eq!(r.status, 404);
}

#[test]
fn update_sets_the_policy_and_bad_policies_are_refused() {
    let e = Engine::start();
    let id = run_detached(&e, &["busybox", "sleep", "1000"]);
    assert_eq!(
        e.mycli_ok(&["update", "--restart", "always", &id]).trim(),
        id
    );
    assert_eq!(
        inspect(&e, &id)["HostConfig"]["RestartPolicy"]["Name"],
        "always"
    );
    let first = pid(&e, &id);
    kill_from_host(first);
    wait_restarted(&e, &id, first);

    e.mycli_fails(
        &["update", "--restart", "sometimes", &id],
        1,
        "unknown policy",
    );
    e.mycli_fails(&["update", &id], 1, "one or more flags");
    let rm = run_detached(&e, &["--rm", "busybox", "sleep", "1000"]);
    e.mycli_fails(&["update", "--restart", "always", &rm], 1, "AutoRemove");

    // The API checks what a client did not.
    let create = |body: &str| {
        let r = e.request("POST", "/containers/create", Some(body.as_bytes()));
        (r.status, r.text())
    };
    let (status, text) = create(
        r#"{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}"#,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("AutoRemove"), "{text}");
    let (status, text) = create(
        r#"{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}"#,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("only be used with 'on-failure'"), "{text}");
    let r = e.request(
        "POST",
        &format!("/containers/{id}/update"),
        Some(br#"{"Memory":10000000}"#),
    );
    assert_eq!(r.status, 501, "{}", r.text());
    let r = e.request("POST", &format!("/containers/{id}/update"), Some(b"[1]"));
    assert_eq!(r.status, 400, "{}", r.text());
    e.mycli_ok(&["rm", "-f", &id, &rm]);
}

#[test]
fn docker_cli_restart_and_update() {
    let e = Engine::start();
    let id = e
        .docker_ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let first = pid(&e, &id);
    e.docker_ok(&["restart", "-t", "1", &id]);
    let second = pid(&e, &id);
    assert!(second != 0 && second != first);
    e.docker_ok(&["update", "--restart=on-failure:3", &id]);
    let v = inspect(&e, &id);
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
    kill_from_host(second);
    wait_restarted(&e, &id, second);
    let out = e.docker_ok(&["inspect", "--format", "{{.RestartCount}}", &id]);
    assert_eq!(out.trim(), "1");
    e.docker_ok(&["rm", "-f", &id]);
}
