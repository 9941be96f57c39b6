//! Killing mycontainerd leaves every container running; a restart picks them up again and
//! learns about exits that happened while it was down. A dead shim is noticed and its
//! container cleaned up.

use integration_tests::{Daemon, DaemonKind, busybox_rootfs, pid_alive, unique, wait_until};

fn init_pid(d: &Daemon, id: &str) -> i32 {
    let p = d
        .state_dir()
        .join("io.containerd.runtime.v2.task")
        .join(&d.namespace)
        .join(id)
        .join("init.pid");
    std::fs::read_to_string(&p).unwrap().trim().parse().unwrap()
}

/// How many times the daemon logged a published /tasks/exit event for `id`'s namespace.
fn exit_events_logged(d: &Daemon) -> usize {
    d.log()
        .lines()
        .filter(|l| l.contains("topic=/tasks/exit") && l.contains(&d.namespace))
        .count()
}

fn survives(sig: i32) {
    let mut d = Daemon::start(DaemonKind::Ours);
    let rootfs = busybox_rootfs().display().to_string();
    let live = unique("live");
    let dies = unique("dies");
    d.ctr_ok(&[
        "run",
        "-d",
        "--rootfs",
        &rootfs,
        &live,
        "/bin/sleep",
        "1000",
    ]);
    d.ctr_ok(&[
        "run",
        "-d",
        "--rootfs",
        &rootfs,
        &dies,
        "/bin/sleep",
        "1000",
    ]);
    let live_pid = init_pid(&d, &live);
    let dies_pid = init_pid(&d, &dies);
    let before = exit_events_logged(&d);

    d.signal_and_wait(sig);
    assert!(
        pid_alive(live_pid) && pid_alive(dies_pid),
        "containers outlive the daemon"
    );
    // A container exits while nobody is listening.
    // SAFETY: killing the container process this test started.
    unsafe { libc::kill(dies_pid, libc::SIGKILL) };
    wait_until(10, "the container to die", || !pid_alive(dies_pid));
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.restart();

    assert_eq!(d.task_status(&live).as_deref(), Some("RUNNING"));
    wait_until(10, "the missed exit to be reported", || {
        d.task_status(&dies).as_deref() == Some("STOPPED")
    });
    // Wait returns the exit that happened while the daemon was down.
    let out = d.ctr(&["tasks", "start", &dies]);
    assert!(!out.status.success(), "a stopped task cannot start again");
    let info = d.ctr_ok(&["tasks", "ls"]);
    assert!(info.contains(&dies));
    // The shim queued the exit event and delivered it exactly once after the restart.
    wait_until(10, "the exit event", || {
        exit_events_logged(&d) == before + 1
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        exit_events_logged(&d),
        before + 1,
        "published once:\n{}",
        d.log_tail()
    );

    d.ctr_ok(&["tasks", "kill", "-s", "SIGKILL", &live]);
    wait_until(10, "the live one to stop", || {
        d.task_status(&live).as_deref() == Some("STOPPED")
    });
    assert!(!pid_alive(live_pid));
}

#[test]
fn sigkill_of_the_daemon_leaves_containers_running() {
    survives(libc::SIGKILL);
}

#[test]
fn sigterm_of_the_daemon_leaves_containers_running() {
    survives(libc::SIGTERM);
}

#[test]
fn a_dead_shim_is_cleaned_up_and_its_exit_published() {
    let d = Daemon::start(DaemonKind::Ours);
    let id = unique("shimdeath");
    d.ctr_ok(&[
        "run",
        "-d",
        "--rootfs",
        &busybox_rootfs().display().to_string(),
        &id,
        "/bin/sleep",
        "1000",
    ]);
    let pid = init_pid(&d, &id);
    let shims = d.shim_pids();
    assert_eq!(shims.len(), 1);
    let before = exit_events_logged(&d);
    // SAFETY: killing the shim this test's daemon started.
    unsafe { libc::kill(shims[0], libc::SIGKILL) };
    wait_until(20, "the task to be cleaned up", || {
        d.task_status(&id).is_none()
    });
    wait_until(10, "the container process to be gone", || !pid_alive(pid));
    assert!(d.log().contains("shim died"), "{}", d.log_tail());
    wait_until(10, "the exit event", || {
        exit_events_logged(&d) == before + 1
    });
    d.ctr_ok(&["containers", "rm", &id]);
}
