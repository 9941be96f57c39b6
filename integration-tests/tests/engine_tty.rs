//! myengined with terminals: `docker run -it` through a pty (resize seen by `stty size`),
//! detach with ctrl-p ctrl-q and re-attach, `exec -it`, `logs -f`.

use std::time::Duration;

use integration_tests::dockerd::PtyProcess;
use integration_tests::engine::Engine;
use integration_tests::wait_until;

#[test]
fn run_it_through_a_pty_with_resize() {
    let e = Engine::start();
    let mut p = PtyProcess::spawn(
        e.docker_cmd(&["run", "-it", "--rm", "--init", "busybox", "sh"]),
        30,
        100,
    );
    p.write(b"stty size\n");
    p.expect("30 100", 20);
    p.resize(40, 120);
    std::thread::sleep(Duration::from_millis(300));
    p.write(b"stty size; echo $((6*7))\n");
    p.expect("40 120", 20);
    p.expect("42", 20);
    p.write(b"exit 5\n");
    assert_eq!(p.wait(20), 5, "{}", p.output());
    wait_until(10, "the --rm container to go", || {
        e.container_ids().is_empty()
    });
}

#[test]
fn detach_with_ctrl_p_ctrl_q_and_attach_again() {
    let e = Engine::start();
    let mut p = PtyProcess::spawn(
        e.docker_cmd(&["run", "-it", "--name", "keep", "busybox", "sh"]),
        24,
        80,
    );
    p.write(b"echo first-$((1+1))\n");
    p.expect("first-2", 20);
    p.write(b"\x10\x11");
    assert_eq!(p.wait(20), 0, "detach: {}", p.output());
    let state = e.docker_ok(&["inspect", "-f", "{{.State.Running}}", "keep"]);
    assert_eq!(state.trim(), "true");
    let mut a = PtyProcess::spawn(e.docker_cmd(&["attach", "keep"]), 24, 80);
    std::thread::sleep(Duration::from_millis(300));
    a.write(b"echo second-$((2+2))\n");
    a.expect("second-4", 20);
    a.write(b"exit 3\n");
    assert_eq!(a.wait(20), 3, "{}", a.output());
    let out = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "keep",
    ]);
    assert_eq!(out.trim(), "exited 3");
    // The TTY's output is in the log too.
    assert!(e.docker_ok(&["logs", "keep"]).contains("second-4"));
}

#[test]
fn exec_it_and_logs_follow() {
    let e = Engine::start();
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done",
    ]);
    let mut x = PtyProcess::spawn(e.docker_cmd(&["exec", "-it", "ticker", "sh"]), 25, 90);
    x.write(b"stty size; echo $((3*5))\n");
    x.expect("25 90", 20);
    x.expect("15", 20);
    x.write(b"exit 2\n");
    assert_eq!(x.wait(20), 2, "{}", x.output());
    let mut f = PtyProcess::spawn(
        e.docker_cmd(&["logs", "-f", "--tail", "1", "ticker"]),
        24,
        80,
    );
    f.expect("tick", 10);
    let seen = f.output();
    // New lines keep coming while it follows.
    wait_until(10, "more lines", || {
        f.output().matches("tick").count() >= seen.matches("tick").count() + 3
    });
    e.docker_ok(&["stop", "ticker"]);
    assert_eq!(
        f.wait(20),
        0,
        "logs -f ends when the container stops: {}",
        f.output()
    );
}
