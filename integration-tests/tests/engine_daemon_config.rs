//! myengined's own configuration: daemon.json (the flags' settings, conflicts and unknown
//! keys refused), SIGHUP reloading the log level and default log options, and `fd://`
//! sockets handed over as systemd's socket activation does.

use std::process::Command;

use integration_tests::engine::Engine;
use integration_tests::{bin, wait_until};

fn log_config(e: &Engine, id: &str) -> serde_json::Value {
    let r = e.request("GET", &format!("/containers/{id}/json"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["HostConfig"]["LogConfig"]["Config"].clone()
}

#[test]
fn daemon_json_settings_and_a_reload_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.json");
    std::fs::write(
        &file,
        r#"{"log-opts": {"max-size": "1m", "max-file": "2"}, "mtu": 1400}"#,
    )
    .unwrap();
    let e = Engine::start_with_args(&["--config-file", file.to_str().unwrap()]);
    let first = e.mycli_ok(&["create", "busybox"]).trim().to_string();
    let c = log_config(&e, &first);
    assert_eq!(
        (c["max-size"].as_str(), c["max-file"].as_str()),
        (Some("1m"), Some("2"))
    );
    // The MTU from the file reached the default bridge.
    let mtu = std::fs::read_to_string(format!("/sys/class/net/{}/mtu", e.net.bridge)).unwrap();
    assert_eq!(mtu.trim(), "1400");

    // SIGHUP: the file again; new containers get the new defaults.
    std::fs::write(&file, r#"{"log-opts": {"max-size": "2m"}, "mtu": 1400}"#).unwrap();
    // SAFETY: signalling the engine this test started.
    unsafe { libc::kill(e.pid(), libc::SIGHUP) };
    wait_until(10, "the reload", || {
        e.log().contains("configuration reloaded")
    });
    let second = e.mycli_ok(&["create", "busybox"]).trim().to_string();
    let c = log_config(&e, &second);
    assert_eq!(
        (c["max-size"].as_str(), c.get("max-file")),
        (Some("2m"), None)
    );

    // A broken file on SIGHUP changes nothing and the engine keeps serving.
    std::fs::write(&file, r#"{"log-opts": {"max-size": "lots"}}"#).unwrap();
    unsafe { libc::kill(e.pid(), libc::SIGHUP) };
    wait_until(10, "the refused reload", || e.log().contains("reload:"));
    let third = e.mycli_ok(&["create", "busybox"]).trim().to_string();
    assert_eq!(log_config(&e, &third)["max-size"], "2m");
    e.mycli_ok(&["rm", &first, &second, &third]);
}

#[test]
fn bad_configuration_files_stop_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.json");
    let start = |extra: &[&str]| {
        let out = Command::new(bin("myengined"))
            .arg("--config-file")
            .arg(&file)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    std::fs::write(&file, r#"{"data-root": "/tmp/x"}"#).unwrap();
    let err = start(&["--data-root", "/tmp/y"]);
    assert!(
        err.contains("both as a flag and in the configuration file: data-root"),
        "{err}"
    );
    std::fs::write(&file, r#"{"no-such-option": true}"#).unwrap();
    assert!(start(&[]).contains("don't match any configuration option: no-such-option"));
    std::fs::write(&file, "{").unwrap();
    assert!(start(&[]).contains("invalid JSON"));
    std::fs::remove_file(&file).unwrap();
    assert!(start(&[]).contains("daemon.json"));
}

#[test]
fn a_socket_passed_by_the_service_manager_serves_the_api() {
    let e = Engine::start_activated();
    let sock = e.dir().join("activated.sock");
    let host = format!("unix://{}", sock.display());
    let out = Command::new(bin("mycli"))
        .args(["-H", &host, "run", "--rm", "busybox", "echo", "activated"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "activated\n",
        "{out:?}"
    );
    assert!(e.log().contains("fd://3"), "{}", e.log_tail());

    // fd:// without a passed socket is refused.
    let out = Command::new(bin("myengined"))
        .args(["-H", "fd://", "--config-file", "/dev/null/none.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(bin("myengined"))
        .args(["-H", "fd://"])
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .arg("--data-root")
        .arg(e.dir().join("unused"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no sockets were passed"), "{err}");
}
