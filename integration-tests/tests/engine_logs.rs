//! json-file log rotation end to end: the real docker CLI 28 against myengined, over
//! mycontainerd and over Debian's containerd 1.6 (whose shim hands the logging program
//! its options in Go map order). Rotation is on by default (max-size 10m, max-file 3);
//! `--log-opt max-size=… --log-opt max-file=…` choose otherwise, as with Docker.

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration_tests::DaemonKind;
use integration_tests::engine::Engine;

/// The container's log files (`<id>-json.log`, `.1`, …), sorted by name.
fn log_files(e: &Engine, id: &str) -> Vec<PathBuf> {
    let dir = e.data_root().join("containers").join(id);
    let prefix = format!("{id}-json.log");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|d| d.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    files.sort();
    files
}

fn numbers(text: &str) -> Vec<u32> {
    text.lines()
        .map(|l| {
            l.trim()
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {l:?}"))
        })
        .collect()
}

/// Runs `seq 1 5000` with a 10k/3 rotation, waits for it, and checks the files and what
/// `logs` shows.
fn check_rotation(e: &Engine) {
    let id = e
        .docker_ok(&[
            "run",
            "-d",
            "--log-opt",
            "max-size=10k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "seq",
            "1",
            "5000",
        ])
        .trim()
        .to_owned();
    assert_eq!(e.docker_ok(&["wait", &id]).trim(), "0");
    // The logging program may still be writing what the container printed last.
    let current = e
        .data_root()
        .join("containers")
        .join(&id)
        .join(format!("{id}-json.log"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&current)
        .unwrap_or_default()
        .contains("\"5000\\n\"")
    {
        assert!(
            Instant::now() < deadline,
            "the last line never reached the log"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let files = log_files(e, &id);
    assert_eq!(
        files.len(),
        3,
        "{:?}\n{}",
        files
            .iter()
            .map(|f| (f.clone(), std::fs::metadata(f).map(|m| m.len()).ok()))
            .collect::<Vec<_>>(),
        e.log_tail()
    );
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= 10_000, "{}: {len} bytes", f.display());
    }
    // The newest lines, in order, none missing inside the kept window.
    let shown = numbers(&e.docker_ok(&["logs", &id]));
    assert!(shown.len() > 200, "only {} lines kept", shown.len());
    assert_eq!(*shown.last().unwrap(), 5000);
    let first = shown[0];
    assert_eq!(shown, (first..=5000).collect::<Vec<_>>());
    // A tail longer than the current file reaches into the rotated ones.
    let tail = numbers(&e.docker_ok(&["logs", "--tail", "250", &id]));
    assert_eq!(tail, (4751..=5000).collect::<Vec<_>>());
    let inspect = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}",
        &id,
    ]);
    assert_eq!(inspect.trim(), "json-file 10k");
    e.docker_ok(&["rm", &id]);
}

#[test]
fn log_opts_rotate_and_logs_shows_the_kept_window_in_order() {
    let e = Engine::start();
    check_rotation(&e);
}

#[test]
fn rotation_works_over_containerd_1_6() {
    let e = Engine::start_on(DaemonKind::Containerd);
    e.load_busybox();
    check_rotation(&e);
}

#[test]
fn rotation_is_on_by_default() {
    let e = Engine::start();
    let id = e
        .docker_ok(&["run", "-d", "busybox", "echo", "hi"])
        .trim()
        .to_owned();
    e.docker_ok(&["wait", &id]);
    // The URI the shim got carries our defaults; inspect shows the driver.
    assert_eq!(
        e.docker_ok(&["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", &id])
            .trim(),
        "json-file"
    );
    assert_eq!(e.docker_ok(&["logs", &id]), "hi\n");
    assert_eq!(log_files(&e, &id).len(), 1);
}

#[test]
fn logs_follow_sees_every_line_across_rotations() {
    let e = Engine::start();
    // 50 bursts of 100 lines (about 7 KB of log each), so the log rotates every one or
    // two bursts, while `logs -f` is already following.
    let script = "sleep 1; i=0; while [ $i -lt 50 ]; do seq $((i*100+1)) $((i*100+100)); i=$((i+1)); sleep 0.1; done";
    let id = e
        .docker_ok(&[
            "run",
            "-d",
            "--log-opt",
            "max-size=10k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .trim()
        .to_owned();
    let mut follower = e
        .docker_cmd(&["logs", "-f", &id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let reader = {
        let mut stdout = follower.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).unwrap();
            s
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if follower.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = follower.kill();
            let _ = follower.wait();
            panic!(
                "logs -f did not end after the container exited\n{}",
                e.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    out.push_str(&reader.join().unwrap());
    let seen = numbers(&out);
    assert_eq!(seen.len(), 5000, "lines lost or doubled");
    assert_eq!(seen, (1..=5000).collect::<Vec<_>>());
    assert!(log_files(&e, &id).len() == 3, "the log did not rotate");
}

#[test]
fn bad_log_options_are_refused_at_create() {
    let e = Engine::start();
    for (args, message) in [
        (&["--log-opt", "max-size=abc"][..], "invalid size: 'abc'"),
        (
            &["--log-opt", "max-size=0"],
            "max-size must be a positive number",
        ),
        (
            &["--log-opt", "max-file=0"],
            "max-file cannot be less than 1",
        ),
        (
            &["--log-opt", "max-size=-1", "--log-opt", "max-file=2"],
            "max-file cannot be greater than 1 when max-size is unlimited",
        ),
        (
            &["--log-opt", "colour=red"],
            "unknown log opt 'colour' for json-file log driver",
        ),
        (&["--log-driver", "syslog"], "not supported"),
        (&["--log-driver", "none"], "not supported"),
    ] {
        let mut argv = vec!["run", "--rm"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["busybox", "true"]);
        let out = e.docker(&argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(
        e.container_ids().is_empty(),
        "a refused create left a container"
    );
    // Unlimited is allowed, with one file.
    let id = e
        .docker_ok(&[
            "run",
            "-d",
            "--log-opt",
            "max-size=-1",
            "busybox",
            "echo",
            "x",
        ])
        .trim()
        .to_owned();
    e.docker_ok(&["wait", &id]);
    assert_eq!(e.docker_ok(&["logs", &id]), "x\n");
}
