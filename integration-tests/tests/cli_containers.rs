//! mycli's container commands against a real engine (dockerd 20.10 by default,
//! `MYCLI_TEST_ENGINE` picks another): run and its flags, exit codes, stdin, the
//! detached life cycle (ps, logs, exec, stop, rm), create/start/wait/kill, inspect,
//! signal proxying and docker's error messages and codes. What these assert on dockerd
//! is what myengined must do.

use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::dockerd::Engine;
use integration_tests::wait_until;

fn engine() -> Engine {
    let e = Engine::start();
    e.load_busybox();
    e
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Runs mycli with `input` on stdin.
fn with_stdin(e: &Engine, args: &[&str], input: &[u8]) -> Output {
    let mut child = e
        .mycli()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn inspect_json(e: &Engine, name: &str) -> serde_json::Value {
    let text = e.ok(&["inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("inspect prints JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{text}");
    v[0].clone()
}

#[test]
fn run_prints_output_and_propagates_exit_codes() {
    let e = engine();
    let out = e.run(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "hi\n"),
        "{}",
        stderr(&out)
    );

    let out = e.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(code(&out), 7);
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");

    // Flags after the image belong to the command.
    let out = e.run(&["run", "--rm", "busybox", "echo", "-n", "--rm"]);
    assert_eq!(stdout(&out), "--rm");

    let out = e.run(&["run", "--rm", "busybox", "nosuch-command"]);
    assert_eq!(code(&out), 127, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("mycli: Error response from daemon: "),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nosuch-command"), "{}", stderr(&out));

    let out = e.run(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(code(&out), 126, "{}", stderr(&out));

    // --rm removed every one of them, the failed ones included.
    wait_until(10, "--rm containers to go", || e.container_ids().is_empty());
}

#[test]
fn run_interactive_copies_stdin_and_closes_it() {
    let e = engine();
    let out = with_stdin(&e, &["run", "-i", "--rm", "busybox", "cat"], b"x\n");
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "x\n"),
        "{}",
        stderr(&out)
    );

    let big = vec![b'a'; 1 << 20];
    let out = with_stdin(&e, &["run", "-i", "--rm", "busybox", "wc", "-c"], &big);
    assert_eq!(stdout(&out).trim(), "1048576", "{}", stderr(&out));

    let out = with_stdin(
        &e,
        &[
            "run",
            "-i",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "read a; echo got $a; exit 2",
        ],
        b"word\n",
    );
    assert_eq!((code(&out), stdout(&out).as_str()), (2, "got word\n"));

    // Without -i the container's stdin is not ours: cat sees EOF at once.
    let out = with_stdin(&e, &["run", "--rm", "busybox", "cat"], b"ignored\n");
    assert_eq!((code(&out), stdout(&out).as_str()), (0, ""));
}

#[test]
fn run_flags_reach_the_container() {
    let e = engine();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), "from the host\n").unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "# comment\nB=from-file\n\nC=c\n").unwrap();

    let out = e.run(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "--env-file",
        env_file.to_str().unwrap(),
        "-w",
        "/tmp",
        "-u",
        "1000:1001",
        "--hostname",
        "boxy",
        "busybox",
        "sh",
        "-c",
        "echo $A $B $C; pwd; id -u; id -g; hostname",
    ]);
    assert_eq!(
        stdout(&out),
        "1 from-file c\n/tmp\n1000\n1001\nboxy\n",
        "{}",
        stderr(&out)
    );

    let bind = format!("{}:/data:ro", dir.path().display());
    let out = e.run(&[
        "run",
        "--rm",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/g",
    ]);
    assert_eq!(stdout(&out), "from the host\n");
    assert_ne!(code(&out), 0, "a read-only bind is writable");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("g").exists());

    let out = e.run(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "busybox",
        "from",
        "entrypoint",
    ]);
    assert_eq!(stdout(&out), "from entrypoint\n");

    let out = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(stdout(&out).split_whitespace().collect::<Vec<_>>(), ["lo"]);

    let out = e.run(&["run", "--rm", "--init", "busybox", "cat", "/proc/1/comm"]);
    let pid1 = stdout(&out);
    assert!(pid1.trim().ends_with("init"), "PID 1 with --init: {pid1:?}");

    let out = e.run(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "busybox",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]);
    assert_eq!(stdout(&out).trim(), "67108864", "{}", stderr(&out));

    let id = e
        .ok(&[
            "create",
            "--name",
            "limits",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "20",
            "-l",
            "tier=web",
            "-l",
            "flag",
            "-v",
            &bind,
            "--network",
            "none",
            "busybox",
            "true",
        ])
        .trim()
        .to_owned();
    assert_eq!(id.len(), 64, "create prints the full ID: {id}");
    let c = inspect_json(&e, "limits");
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(c["HostConfig"]["NanoCpus"], 500_000_000);
    assert_eq!(c["HostConfig"]["PidsLimit"], 20);
    assert_eq!(c["Config"]["Labels"]["tier"], "web");
    assert_eq!(c["Config"]["Labels"]["flag"], "");
    assert_eq!(c["HostConfig"]["Binds"], serde_json::json!([bind]));
    assert_eq!(
        c["Mounts"],
        serde_json::json!([{
            "Type": "bind",
            "Source": dir.path().display().to_string(),
            "Destination": "/data",
            "Mode": "ro",
            "RW": false,
            "Propagation": "rprivate",
        }])
    );
    assert_eq!(c["HostConfig"]["NetworkMode"], "none");
    let networks = c["NetworkSettings"]["Networks"].as_object().unwrap();
    assert_eq!(
        networks.keys().collect::<Vec<_>>(),
        ["none"],
        "{networks:?}"
    );
    assert_eq!(networks["none"]["IPAddress"], "");
    assert_eq!(e.ok(&["rm", "limits"]), "limits\n");

    let out = e.run(&["run", "--rm", "--memory", "lots", "busybox", "true"]);
    assert_eq!(code(&out), 125);
    assert!(stderr(&out).contains("invalid"), "{}", stderr(&out));
}

#[test]
fn detached_container_life_cycle() {
    let e = engine();
    let id = e
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo started; echo warn >&2; sleep 300",
        ])
        .trim()
        .to_owned();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "run -d prints the full ID: {id:?}"
    );

    let ps = e.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("CONTAINER ID   IMAGE     COMMAND"),
        "{header:?}"
    );
    for col in ["CREATED", "STATUS", "PORTS", "NAMES"] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().expect("one running container");
    assert!(row.starts_with(&id[..12]), "{row}");
    assert!(row.contains("busybox"), "{row}");
    assert!(row.contains("\"sh -c 'echo started…\""), "{row}");
    assert!(row.contains("Up "), "{row}");
    assert!(row.trim_end().ends_with("web"), "{row}");
    // The columns line up under the header.
    let status_at = header.find("STATUS").unwrap();
    let under: String = row.chars().skip(status_at).take(3).collect();
    assert_eq!(under, "Up ", "{header}\n{row}");
    assert_eq!(e.ok(&["ps", "-q"]), format!("{}\n", &id[..12]));
    assert_eq!(e.ok(&["ps", "-q", "--no-trunc"]), format!("{id}\n"));

    // stdout and stderr stay apart.
    wait_until(10, "both log lines", || {
        let logs = e.run(&["logs", "web"]);
        logs.stdout == b"started\n" && logs.stderr == b"warn\n"
    });
    // The last line is stderr's "warn": two lines give one on stdout.
    let logs = e.ok(&["logs", "-t", "--tail", "2", "web"]);
    let (ts, text) = logs.trim_end().split_once(' ').unwrap();
    assert!(
        ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') && ts.ends_with('Z'),
        "an RFC 3339 timestamp: {logs:?}"
    );
    assert_eq!(text, "started");
    assert_eq!(e.ok(&["logs", "--since", "1h", "web"]), "started\n");
    assert_eq!(e.ok(&["logs", "--until", "1h", "web"]), "");

    assert_eq!(e.ok(&["exec", "web", "sh", "-c", "echo $((1+2))"]), "3\n");
    let out = e.run(&["exec", "web", "sh", "-c", "exit 3"]);
    assert_eq!(code(&out), 3);
    assert_eq!(
        e.ok(&[
            "exec",
            "-e",
            "X=y",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "web",
            "sh",
            "-c",
            "echo $X; pwd; id -u"
        ]),
        "y\n/tmp\n1000\n"
    );
    let out = with_stdin(&e, &["exec", "-i", "web", "cat"], b"through exec\n");
    assert_eq!(stdout(&out), "through exec\n");
    assert_eq!(e.ok(&["exec", "-d", "web", "touch", "/tmp/flag"]), "");
    wait_until(10, "the detached exec", || {
        e.run(&["exec", "web", "test", "-e", "/tmp/flag"])
            .status
            .success()
    });

    // `logs -f` follows until the container stops.
    let mut follow = e
        .mycli()
        .args(["logs", "-f", "web"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(follow.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "started\n");

    // sh as PID 1 ignores SIGTERM: stop kills it after the timeout.
    assert_eq!(e.ok(&["stop", "-t", "1", "web"]), "web\n");
    let st = follow.wait().unwrap();
    assert!(st.success(), "logs -f ended with {st}");
    let c = inspect_json(&e, "web");
    assert_eq!(c["State"]["Running"], false);
    assert_eq!(c["State"]["ExitCode"], 137);
    assert!(e.ok(&["ps", "-q"]).is_empty());
    let all = e.ok(&["ps", "-a", "--filter", "status=exited"]);
    assert!(all.contains("Exited (137)"), "{all}");
    assert!(all.contains(" ago "), "{all}");

    let out = e.run(&["exec", "web", "true"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));

    assert_eq!(e.ok(&["rm", "web"]), "web\n");
    assert!(e.ok(&["ps", "-a", "-q"]).is_empty());
}

#[test]
fn create_start_wait_kill_inspect() {
    let e = engine();
    e.ok(&[
        "create",
        "--name",
        "three",
        "busybox",
        "sh",
        "-c",
        "echo ran; exit 3",
    ]);
    let ps = e.ok(&["ps", "-a"]);
    assert!(ps.contains("Created"), "{ps}");
    assert_eq!(e.ok(&["start", "three"]), "three\n");
    assert_eq!(e.ok(&["wait", "three"]), "3\n");
    assert_eq!(
        e.ok(&["inspect", "-f", "{{.State.ExitCode}} {{.Name}}", "three"]),
        "3 /three\n"
    );
    let c = inspect_json(&e, "three");
    assert_eq!(c["State"]["ExitCode"], 3);
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["Path"], "sh");
    assert_eq!(e.ok(&["logs", "three"]), "ran\n");

    // start -a: attached, with the container's exit code.
    e.ok(&[
        "create",
        "--name",
        "att",
        "busybox",
        "sh",
        "-c",
        "echo attached; exit 4",
    ]);
    let out = e.run(&["start", "-a", "att"]);
    assert_eq!((code(&out), stdout(&out).as_str()), (4, "attached\n"));
    e.ok(&["create", "-i", "--name", "cat", "busybox", "cat"]);
    let out = with_stdin(&e, &["start", "-a", "-i", "cat"], b"piped\n");
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "piped\n"));

    e.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "300"]);
    assert_eq!(e.ok(&["kill", "sleeper"]), "sleeper\n");
    assert_eq!(e.ok(&["wait", "sleeper"]), "137\n");
    e.ok(&["start", "sleeper"]);
    assert_eq!(e.ok(&["kill", "-s", "KILL", "sleeper"]), "sleeper\n");
    assert_eq!(e.ok(&["wait", "sleeper"]), "137\n");

    // inspect finds images too, and --type narrows.
    let img = inspect_json(&e, "busybox");
    assert!(
        img["RepoTags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "busybox:latest"),
        "{img}"
    );
    let out = e.run(&["inspect", "--type", "container", "busybox"]);
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out), "Error: No such container: busybox\n");
    // Several at once: one array.
    let both: serde_json::Value =
        serde_json::from_str(&e.ok(&["inspect", "three", "att"])).unwrap();
    assert_eq!(both.as_array().unwrap().len(), 2);

    assert_eq!(
        e.ok(&["rm", "three", "att", "cat", "sleeper"]),
        "three\natt\ncat\nsleeper\n"
    );
    e.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    let out = e.run(&["rm", "busy"]);
    assert_eq!(code(&out), 1, "removing a running container without -f");
    assert_eq!(e.ok(&["rm", "-f", "busy"]), "busy\n");
    assert!(e.container_ids().is_empty());
}

#[test]
fn errors_read_like_dockers() {
    let e = engine();
    // The daemon's wording varies by command; docker prints it after this prefix.
    for args in [
        &["rm", "nosuch"][..],
        &["logs", "nosuch"],
        &["stop", "nosuch"],
        &["kill", "nosuch"],
        &["wait", "nosuch"],
        &["exec", "nosuch", "true"],
        &["attach", "nosuch"],
    ] {
        let out = e.run(args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("Error response from daemon: ")
                && err.contains("No such container: nosuch")
                && err.lines().count() == 1,
            "{args:?}: {err:?}"
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    let out = e.run(&["start", "nosuch"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        "Error response from daemon: No such container: nosuch\nError: failed to start containers: nosuch\n"
    );
    let out = e.run(&["inspect", "nosuch"]);
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out), "Error: No such object: nosuch\n");
    assert_eq!(stdout(&e.run(&["inspect", "nosuch"])), "[]\n");

    // Bad flags and bad references: 125, like docker.
    let out = e.run(&["run", "--no-such-flag", "busybox"]);
    assert_eq!(code(&out), 125);
    let out = e.run(&["ps", "--no-such-flag"]);
    assert_eq!(code(&out), 125);
    let out = e.run(&["run", "--rm", "Bad/Name", "true"]);
    assert_eq!(code(&out), 125);
    assert!(
        stderr(&out).contains("invalid reference format"),
        "{}",
        stderr(&out)
    );

    // A name in use: the daemon's conflict, as a run error.
    e.ok(&["create", "--name", "dup", "busybox", "true"]);
    let out = e.run(&["run", "--name", "dup", "busybox", "true"]);
    assert_eq!(code(&out), 125);
    assert!(
        stderr(&out).starts_with("mycli: Error response from daemon: Conflict."),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Run 'mycli run --help' for more information"));
    e.ok(&["rm", "dup"]);

    // A stopped container cannot be attached to.
    e.ok(&["create", "--name", "stopped", "busybox", "true"]);
    let out = e.run(&["attach", "stopped"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        "You cannot attach to a stopped container, start it first\n"
    );
    e.ok(&["rm", "stopped"]);

    // No daemon there.
    let out = e
        .mycli()
        .args(["-H", "unix:///nonexistent/mycli.sock", "ps"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out)
            .starts_with("Cannot connect to the Docker daemon at unix:///nonexistent/mycli.sock."),
        "{}",
        stderr(&out)
    );
    let out = e
        .mycli()
        .args(["-H", "tcp://1.2.3.4:2375", "ps"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
}

#[test]
fn host_flag_and_version() {
    let e = engine();
    // -H wins over DOCKER_HOST.
    let out = e
        .mycli()
        .env("DOCKER_HOST", "unix:///nonexistent/x.sock")
        .args(["-H", &e.host(), "ps", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = e.ok(&["version"]);
    assert!(v.starts_with("Client:\n Version:"), "{v}");
    assert!(v.contains("\nServer:\n"), "{v}");
    assert!(v.contains("API version:"), "{v}");
    // The engine's build facts are all filled in (dockerd: its Go toolchain).
    let server = &v[v.find("\nServer:\n").unwrap()..];
    for key in ["Go version:", "Git commit:", "Built:", "OS/Arch:"] {
        let value = server
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key:?}: {v}"));
        assert!(!value.trim().is_empty(), "{key} is empty: {v}");
    }
    assert!(server.contains("  Experimental:     false\n"), "{v}");
    let info = e.ok(&["info"]);
    assert!(info.contains(" Images: 1\n"), "{info}");
    assert!(info.contains(" Containers: 0\n"), "{info}");
    let out = e.run(&["--version"]);
    assert!(
        stdout(&out).starts_with("mycli version "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn signals_are_proxied_without_a_tty() {
    let e = engine();
    let mut child = e
        .mycli()
        .args([
            "run",
            "--rm",
            "--name",
            "trap",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 5' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: signalling the mycli we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let st = child.wait().unwrap();
    assert_eq!(rest, "got TERM\n");
    assert_eq!(st.code(), Some(5), "mycli exits with the container's code");

    // --sig-proxy=false: the signal is ours alone; the container keeps running.
    let mut child = e
        .mycli()
        .args([
            "run",
            "--sig-proxy=false",
            "--name",
            "noproxy",
            "busybox",
            "sh",
            "-c",
            "echo ready; sleep 300",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    // SAFETY: signalling the mycli we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "mycli ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let c = inspect_json(&e, "noproxy");
    assert_eq!(c["State"]["Running"], true);
    e.ok(&["rm", "-f", "noproxy"]);
}
