//! mycli with a terminal: `run -it` on a pseudo-terminal (raw mode, the initial size and
//! resizes on SIGWINCH), detaching with ctrl-p ctrl-q and attaching again, and
//! `exec -it`. Run against the engine `MYCLI_TEST_ENGINE` names (dockerd by default).

use std::time::Duration;

use integration_tests::dockerd::{Engine, PtyProcess};
use integration_tests::wait_until;

fn engine() -> Engine {
    let e = Engine::start();
    e.load_busybox();
    e
}

fn inspect(e: &Engine, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

#[test]
fn run_it_follows_the_terminal_size() {
    let e = engine();
    let mut cmd = e.mycli();
    cmd.args(["run", "-it", "--rm", "--name", "tty", "busybox", "sh"]);
    let mut p = PtyProcess::spawn(cmd, 30, 100);
    p.expect("# ", 20);
    p.write(b"stty size\r");
    p.expect("30 100", 10);
    // Our terminal is raw: what the container's shell echoes is all there is, once.
    p.write(b"echo mark-$((6*7))\r");
    p.expect("mark-42", 10);
    assert_eq!(
        p.output().matches("mark-$((6*7))").count(),
        1,
        "{:?}",
        p.output()
    );

    p.resize(40, 120);
    // The resize travels asynchronously (SIGWINCH → API → TTY): ask until it shows.
    let mut seen = false;
    for _ in 0..50 {
        p.write(b"stty size\r");
        std::thread::sleep(Duration::from_millis(100));
        if p.output().contains("40 120") {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the resize never reached the container: {:?}",
        p.output()
    );

    p.write(b"exit 3\r");
    assert_eq!(p.wait(20), 3);
    wait_until(10, "--rm to remove the container", || {
        e.container_ids().is_empty()
    });
}

#[test]
fn detach_with_ctrl_p_ctrl_q_then_attach() {
    let e = engine();
    let mut cmd = e.mycli();
    cmd.args(["run", "-it", "--name", "keep", "busybox", "sh"]);
    let mut p = PtyProcess::spawn(cmd, 24, 80);
    p.expect("# ", 20);
    p.write(b"echo before-detach\r");
    p.expect("before-detach\r\n", 10);
    p.write(b"\x10\x11");
    assert_eq!(p.wait(20), 0, "detaching ends the client with 0");
    let c = inspect(&e, "keep");
    assert_eq!(
        c["State"]["Running"], true,
        "the container outlives the detach"
    );

    let mut cmd = e.mycli();
    cmd.args(["attach", "keep"]);
    let mut a = PtyProcess::spawn(cmd, 24, 80);
    // The shell's prompt is not repeated on attach; a command shows we are connected.
    std::thread::sleep(Duration::from_millis(300));
    a.write(b"echo back-$((40+2))\r");
    a.expect("back-42", 20);
    a.write(b"\x10\x11");
    assert_eq!(a.wait(20), 0);

    // Other keys: ctrl-x detaches.
    let mut cmd = e.mycli();
    cmd.args(["attach", "--detach-keys", "ctrl-x", "keep"]);
    let mut b = PtyProcess::spawn(cmd, 24, 80);
    std::thread::sleep(Duration::from_millis(300));
    b.write(b"echo third\r");
    b.expect("third", 20);
    b.write(b"\x18");
    assert_eq!(b.wait(20), 0);
    assert_eq!(inspect(&e, "keep")["State"]["Running"], true);

    let mut cmd = e.mycli();
    cmd.args(["attach", "keep"]);
    let mut c = PtyProcess::spawn(cmd, 24, 80);
    std::thread::sleep(Duration::from_millis(300));
    c.write(b"exit 4\r");
    assert_eq!(c.wait(20), 4, "attach exits with the container's code");
    let c = inspect(&e, "keep");
    assert_eq!(c["State"]["ExitCode"], 4);
    e.ok(&["rm", "keep"]);
}

#[test]
fn exec_it_gets_a_terminal_of_our_size() {
    let e = engine();
    e.ok(&["run", "-dit", "--name", "host", "busybox", "sh"]);
    let mut cmd = e.mycli();
    // API 1.41 has no console size at exec start: the size comes with the resize right
    // after, which a process that asks at once could miss.
    cmd.args([
        "exec",
        "-it",
        "host",
        "sh",
        "-c",
        "sleep 0.5; stty size; test -t 0 && echo is-a-tty; exit 6",
    ]);
    let mut p = PtyProcess::spawn(cmd, 33, 111);
    p.expect("33 111", 20);
    p.expect("is-a-tty", 10);
    assert_eq!(p.wait(20), 6);

    // -t without a terminal on our side still gives the process one.
    let out = e.run(&[
        "exec",
        "-t",
        "host",
        "sh",
        "-c",
        "test -t 1 && echo tty-out",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tty-out\r\n");
    // -it needs a terminal on our side.
    let out = e.run(&["exec", "-it", "host", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "the input device is not a TTY\n"
    );
    e.ok(&["rm", "-f", "host"]);
}
