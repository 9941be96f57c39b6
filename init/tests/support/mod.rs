//! Runs an init (myinit or Debian's tini-static) as PID 1 of a fresh PID namespace
//! and collects what happened, killing everything it started on the way out.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Longest any single run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// The line a script prints once it is ready for the test to act.
pub const READY: &str = "ready";

/// One of the two inits every case runs against.
#[derive(Clone, Debug)]
pub struct Init {
    pub name: &'static str,
    pub path: PathBuf,
}

impl Init {
    pub fn is_tini(&self) -> bool {
        self.name == "tini"
    }
}

/// myinit and, to check the tests themselves, tini (Debian's `tini` package).
pub fn inits() -> Vec<Init> {
    let tini = PathBuf::from("/usr/bin/tini-static");
    assert!(
        tini.exists(),
        "{} is missing: install Debian's `tini` package (make deps)",
        tini.display()
    );
    vec![
        Init {
            name: "myinit",
            path: PathBuf::from(env!("CARGO_BIN_EXE_myinit")),
        },
        Init {
            name: "tini",
            path: tini,
        },
    ]
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines().map(str::trim_end)
    }
}

/// The argv that runs `init` with `flags` on `program`.
pub fn init_argv(init: &Init, flags: &[&str], program: &[&str]) -> Vec<String> {
    let mut argv = vec![init.path.display().to_string()];
    argv.extend(flags.iter().map(|s| s.to_string()));
    argv.push("--".into());
    argv.extend(program.iter().map(|s| s.to_string()));
    argv
}

/// Runs `argv` as PID 1 of a new PID namespace (with its own /proc, so `ps` inside
/// sees only the namespace). When the program prints a line `ready`, `on_ready` gets
/// the host PID of the namespace's PID 1.
pub fn run_as_pid1(
    argv: &[String],
    envs: &[(&str, &str)],
    on_ready: Option<&mut dyn FnMut(libc::pid_t)>,
) -> Outcome {
    // --kill-child: if unshare dies (the watchdog below, or a panicking test), its
    // child, our PID 1, gets SIGKILL and the kernel kills the whole namespace with it.
    let mut command = Command::new("unshare");
    command
        .args(["--kill-child", "--pid", "--fork", "--mount-proc", "--"])
        .args(argv);
    run(command, envs, on_ready, true)
}

/// Runs `argv` directly as a child of the test (not PID 1).
pub fn run_plain(argv: &[String], envs: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    run(command, envs, None, false)
}

/// Runs `argv` in a pseudo-terminal (util-linux `script`) as PID 1 of a new PID
/// namespace; stdin of the init is the terminal.
pub fn run_as_pid1_on_tty(argv: &[String]) -> Outcome {
    let inner = std::iter::once("unshare --kill-child --pid --fork --mount-proc --".to_string())
        .chain(argv.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command.args(["--quiet", "--return", "--command", &inner, "/dev/null"]);
    run(command, &[], None, false)
}

fn run(
    mut command: Command,
    envs: &[(&str, &str)],
    mut on_ready: Option<&mut dyn FnMut(libc::pid_t)>,
    pid1_is_child_of_child: bool,
) -> Outcome {
    command
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let mut guard = KillOnDrop(child);
    let pid = guard.0.id() as libc::pid_t;

    // Watchdog: a hung case is killed (taking its namespace with it) instead of
    // hanging the test run; the test then fails on the missing output.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if done_rx.recv_timeout(RUN_TIMEOUT).is_err() {
            // SAFETY: kill on a PID this test spawned and has not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });

    let mut stderr_pipe = guard.0.stderr.take().expect("stderr piped");
    let stderr_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });

    let mut stdout = String::new();
    let mut reader = BufReader::new(guard.0.stdout.take().expect("stdout piped"));
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if line.trim_end() == READY
            && let Some(action) = on_ready.take()
        {
            let init_pid = if pid1_is_child_of_child {
                child_of(pid as u32).expect("PID 1 of the namespace") as libc::pid_t
            } else {
                pid
            };
            action(init_pid);
        }
        stdout.push_str(&line);
        line.clear();
    }

    let status = guard.0.wait().expect("wait");
    let _ = done_tx.send(());
    watchdog.join().expect("watchdog");
    Outcome {
        code: status.code(),
        stdout,
        stderr: stderr_reader.join().expect("stderr reader"),
    }
}

/// Kills and reaps the process if the test panics before waiting for it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The only child of `parent` (this kernel has no /proc/PID/task/TID/children).
fn child_of(parent: u32) -> Option<u32> {
    for _ in 0..100 {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if parent_of(pid) == Some(parent) {
                return Some(pid);
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

pub fn send(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill with integer arguments.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Path of a file that exists but has no execute permission.
pub fn not_executable(dir: &Path) -> PathBuf {
    let path = dir.join("not-executable.sh");
    std::fs::write(&path, "#!/bin/sh\necho should not run\n").expect("write script");
    path
}
