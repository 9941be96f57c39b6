//! myinit as PID 1 of a container started by myrunc, with tini-static run through the same
//! cases in the same test. Both are bind-mounted read-only into the busybox rootfs, as the
//! engine does for `--init`, so they must be static binaries: this uses the release myinit
//! from `make build` (and is ignored by plain `cargo test`; `make test` runs it).

mod common;

use std::path::PathBuf;

use common::{Bundle, Runtime, unique_id, wait_until};
use serde_json::json;

fn static_myinit() -> PathBuf {
    let debug = PathBuf::from(env!("CARGO_BIN_EXE_myrunc"));
    let p = debug
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("release/myinit");
    assert!(
        p.exists(),
        "{} is missing: run `make build` first",
        p.display()
    );
    p
}

fn inits() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("myinit", static_myinit()),
        ("tini-static", PathBuf::from("/usr/bin/tini-static")),
    ]
}

fn bundle_with_init(init: &PathBuf, args: &[&str]) -> Bundle {
    let mut full = vec!["/sbin/init-under-test", "--"];
    full.extend_from_slice(args);
    let mut b = Bundle::new(&full);
    b.add_mount(json!({"destination": "/sbin/init-under-test", "type": "bind", "source": init, "options": ["rbind", "ro"]}));
    b
}

#[test]
#[ignore = "needs the static myinit from `make build`"]
fn pid1_exit_codes_and_reaping_through_myrunc() {
    let rt = Runtime::myrunc();
    for (name, init) in inits() {
        // Orphans reparented to PID 1 are reaped: no zombie shows up in ps afterwards.
        let b = bundle_with_init(
            &init,
            &[
                "sh",
                "-c",
                "(sleep 0.2 &) ; (sleep 0.1 &); sleep 0.6; ps -o stat | grep -c '^Z' ; exit 7",
            ],
        );
        let (code, out, err) = rt.run_bundle(&b, &unique_id("init"));
        assert_eq!(code, 7, "{name}: {err}");
        assert_eq!(out.trim(), "0", "{name}: zombies left: {out}");
        // Missing program: 127.
        let b = bundle_with_init(&init, &["/no/such/program"]);
        let (code, _, _) = rt.run_bundle(&b, &unique_id("init"));
        assert_eq!(code, 127, "{name}");
    }
}

#[test]
#[ignore = "needs the static myinit from `make build`"]
fn pid1_forwards_signals_through_myrunc() {
    let rt = Runtime::myrunc();
    for (name, init) in inits() {
        let b = bundle_with_init(&init, &["sleep", "100"]);
        let id = unique_id("initsig");
        let mut child = rt
            .cmd()
            .args(["run", "--bundle"])
            .arg(b.path())
            .arg(&id)
            .spawn()
            .unwrap();
        wait_until(10, "the container to run", || {
            rt.run(&["state", &id]).status.success() && rt.status(&id) == "running"
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        // PID 1 ignores SIGTERM unless it handles it; an init forwards it to sleep, which dies.
        rt.ok(&["kill", &id, "TERM"]);
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(143),
            "{name}: sleep killed by SIGTERM gives 128+15"
        );
    }
}
