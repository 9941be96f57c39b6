//! `exec` into running containers and terminals through --console-socket.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Bundle, ConsoleSocket, Runtime, read_until, unique_id, wait_until};
use serde_json::json;

#[test]
fn exec_into_a_running_container() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&["sleep", "100"]);
        b.edit(|c| c["hostname"] = json!("exechost"));
        let id = unique_id("exec");
        rt.create(&b, &id);
        rt.ok(&["start", &id]);
        assert_eq!(
            rt.ok(&["exec", &id, "hostname"]),
            "exechost\n",
            "{}",
            rt.name()
        );
        let out = rt.ok(&[
            "exec",
            "-e",
            "FOO=bar",
            "--cwd",
            "/etc",
            "-u",
            "65534",
            &id,
            "sh",
            "-c",
            "echo $FOO; pwd; id -u",
        ]);
        assert_eq!(out, "bar\n/etc\n65534\n", "{}", rt.name());
        // The exec'd process sees the container's processes (same pid namespace).
        let ps = rt.ok(&["exec", &id, "ps", "-o", "pid,args"]);
        assert!(ps.contains("sleep 100"), "{}: {ps}", rt.name());
        let out = rt.run(&["exec", &id, "sh", "-c", "exit 5"]);
        assert_eq!(out.status.code(), Some(5), "{}", rt.name());
        let out = rt.run(&["exec", &id, "no-such-binary"]);
        assert!(!out.status.success(), "{}", rt.name());

        // The process.json form with a detached process and a pid file, as the shim uses it.
        let dir = tempfile::tempdir().unwrap();
        let proc_json = dir.path().join("process.json");
        std::fs::write(&proc_json, serde_json::to_vec(&json!({"args": ["sleep", "50"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}})).unwrap()).unwrap();
        let pidfile = dir.path().join("exec.pid");
        // A detached process keeps the runtime's stdio: no pipes, or we would wait for it.
        let status = rt
            .cmd()
            .arg("exec")
            .arg("--process")
            .arg(&proc_json)
            .arg("--detach")
            .arg("--pid-file")
            .arg(&pidfile)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{}", rt.name());
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(common::pid_alive(pid));
        let pids: Vec<i32> =
            serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        assert!(
            pids.contains(&pid),
            "{}: exec'd pid {pid} not in {pids:?}",
            rt.name()
        );
        rt.ok(&["delete", "-f", &id]);
        wait_until(10, "the exec'd process to die", || !common::pid_alive(pid));
    }
}

#[test]
fn stdin_reaches_the_container() {
    for rt in Runtime::both() {
        let b = Bundle::new(&["sh", "-c", "read line; echo got:$line"]);
        let id = unique_id("stdin");
        let mut child = rt
            .cmd()
            .args(["run", "--bundle"])
            .arg(b.path())
            .arg(&id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "got:hello\n",
            "{}",
            rt.name()
        );
    }
}

#[test]
fn terminal_through_console_socket() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&["sh"]);
        b.edit(|c| c["process"]["terminal"] = json!(true));
        let id = unique_id("tty");
        let console = ConsoleSocket::new();
        let path = console.path();
        let runner = {
            let mut cmd = rt.cmd();
            cmd.args(["run", "-d", "--console-socket"])
                .arg(&path)
                .arg("--bundle")
                .arg(b.path())
                .arg(&id);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            cmd.spawn().unwrap()
        };
        let mut master = console.receive();
        let out = runner.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", rt.name());
        master.write_all(b"tty; echo marker-$((40+2))\n").unwrap();
        let seen = read_until(&mut master, "marker-42", 10);
        assert!(
            seen.contains("/dev/pts/0") || seen.contains("/dev/console"),
            "{}: {seen}",
            rt.name()
        );
        // An exec with its own terminal.
        let console2 = ConsoleSocket::new();
        let mut exec = rt.cmd();
        exec.args(["exec", "-t", "-d", "--console-socket"])
            .arg(console2.path())
            .args([&id, "sh"]);
        let exec = exec
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut master2 = console2.receive();
        assert!(exec.wait_with_output().unwrap().status.success());
        master2.write_all(b"echo exec-$((1+1))\n").unwrap();
        read_until(&mut master2, "exec-2", 10);
        master.write_all(b"exit 3\n").unwrap();
        wait_until(10, "the shell to exit", || rt.status(&id) == "stopped");
        rt.ok(&["delete", &id]);
    }
}
