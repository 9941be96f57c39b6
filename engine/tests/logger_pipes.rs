//! The json-file logging program, started the way the shim starts it (shim/src/io.rs
//! `start_logger`): output pipes on fds 3 and 4, a readiness pipe on fd 5, only
//! CONTAINER_ID and CONTAINER_NAMESPACE in the environment. The program is this test
//! binary re-executed into `logger_child_process`, which calls `run_logger`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use myengined::daemon::logs::{self, ReadOptions};
use tokio_util::sync::CancellationToken;

const ARGS_ENV: &str = "MYENGINED_TEST_LOGGER_ARGS";

/// Not a test of its own: the body of the logging program when re-executed with
/// `MYENGINED_TEST_LOGGER_ARGS` (newline-separated arguments) set.
#[test]
fn logger_child_process() {
    if let Ok(args) = std::env::var(ARGS_ENV) {
        let args: Vec<String> = args.split('\n').map(str::to_owned).collect();
        std::process::exit(myengined::logger::run_logger(&args));
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors from pipe2.
    unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    }
}

/// A running logging program and the container's ends of its pipes.
struct Logger {
    child: Child,
    stdout: Option<std::fs::File>,
    stderr: Option<std::fs::File>,
}

impl Logger {
    fn start(log: &Path) -> Logger {
        Logger::start_with(&format!("log-driver\npath\n{}", log.display()))
    }

    /// Starts the program with `args` (newline-separated).
    fn start_with(args: &str) -> Logger {
        let (out_r, out_w) = pipe();
        let (err_r, err_w) = pipe();
        let (ready_r, ready_w) = pipe();
        let fds = [out_r.as_raw_fd(), err_r.as_raw_fd(), ready_w.as_raw_fd()];
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "logger_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(ARGS_ENV, args)
        .env("CONTAINER_ID", "c1")
        .env("CONTAINER_NAMESPACE", "moby")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only fcntl/dup2 between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let mut tmp = [0; 3];
                for (i, fd) in fds.iter().enumerate() {
                    tmp[i] = libc::fcntl(*fd, libc::F_DUPFD, 10);
                    if tmp[i] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (i, fd) in tmp.iter().enumerate() {
                    if libc::dup2(*fd, 3 + i as i32) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop((out_r, err_r, ready_w));
        // Ready once the program closes fd 5 (within the shim's 10 s bound).
        let mut pfd = libc::pollfd {
            fd: ready_r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polling one valid descriptor.
        let n = unsafe { libc::poll(&mut pfd, 1, 10_000) };
        assert_eq!(n, 1, "the logging program did not get ready");
        let mut ready = std::fs::File::from(ready_r);
        let mut b = [0u8; 1];
        assert_eq!(ready.read(&mut b).unwrap(), 0);
        Logger {
            child,
            stdout: Some(out_w.into()),
            stderr: Some(err_w.into()),
        }
    }

    fn out(&mut self, data: &[u8]) {
        self.stdout.as_mut().unwrap().write_all(data).unwrap();
    }

    fn err(&mut self, data: &[u8]) {
        self.stderr.as_mut().unwrap().write_all(data).unwrap();
    }

    /// Closes the container's ends and waits for the program to exit.
    fn finish(mut self) -> i32 {
        self.stdout = None;
        self.stderr = None;
        for _ in 0..500 {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the logging program did not exit after both pipes closed");
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn entries(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn is_locked(path: &Path) -> bool {
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: flock on our own descriptor.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}

#[test]
fn writes_docker_json_file_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("c1/c1-json.log");
    let mut l = Logger::start(&log);
    assert!(log.exists(), "the file exists once the program is ready");
    assert!(is_locked(&log), "the program holds its lock while running");
    l.out(b"hello\nwor");
    // A pause: the unfinished line is written as it is (a prompt must show at once).
    std::thread::sleep(Duration::from_millis(200));
    l.out(b"ld\n");
    l.err(b"<&> \"quoted\"\n");
    let long = vec![b'x'; 40_000];
    l.out(&long);
    l.out(b"\n");
    l.out(b"no newline at the end");
    assert_eq!(l.finish(), 0);
    assert!(!is_locked(&log));

    // Order holds within a stream (not across the two pipes).
    let e = entries(&log);
    let of = |stream: &str| -> Vec<String> {
        e.iter()
            .filter(|v| v["stream"] == stream)
            .map(|v| v["log"].as_str().unwrap().to_string())
            .collect()
    };
    let (out, err) = (of("stdout"), of("stderr"));
    assert_eq!(err, ["<&> \"quoted\"\n"]);
    assert_eq!(&out[..3], ["hello\n", "wor", "ld\n"]);
    // 40000 bytes in 16 KiB pieces, the newline on the last one.
    assert_eq!(out[3], "x".repeat(16384));
    assert_eq!(out[4], "x".repeat(16384));
    assert_eq!(out[5], format!("{}\n", "x".repeat(40_000 - 2 * 16384)));
    assert_eq!(out[6], "no newline at the end");
    assert_eq!(out.len() + err.len(), e.len());
    assert_eq!(out.len(), 7);
    // Docker's escaping of HTML characters, and RFC 3339 UTC times in order.
    let raw = std::fs::read_to_string(&log).unwrap();
    assert!(
        raw.contains(r#""log":"\u003c\u0026\u003e \"quoted\"\n""#),
        "{raw}"
    );
    let times: Vec<chrono::DateTime<chrono::Utc>> = e
        .iter()
        .map(|v| v["time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(e.iter().all(|v| v["time"].as_str().unwrap().ends_with('Z')));

    // A restarted container appends to the same file.
    let mut l = Logger::start(&log);
    l.out(b"again\n");
    assert_eq!(l.finish(), 0);
    let e = entries(&log);
    assert_eq!(e.len(), 9);
    assert_eq!(e[8]["log"], "again\n");
}

#[test]
fn keeps_draining_when_the_file_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let mut l = Logger::start(&not_a_dir.join("c.log"));
    // Far more than a pipe holds: a logger that stopped reading would block us here.
    let chunk = vec![b'y'; 64 * 1024];
    for _ in 0..32 {
        l.out(&chunk);
        l.err(b"e\n");
    }
    assert_eq!(l.finish(), 1, "exit status says the log was lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_gets_everything_written_before_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.log");
    let mut l = Logger::start(&log);
    let stop = CancellationToken::new();
    let opts = ReadOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut s = logs::read(log.clone(), opts, stop.clone());
    l.out(b"first\n");
    let e = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.line, b"first\n");
    // The container writes its last lines and exits; the exit is seen at once, before
    // the program has necessarily written them.
    for i in 0..200 {
        l.err(format!("last {i}\n").as_bytes());
    }
    stop.cancel();
    let code = tokio::task::spawn_blocking(move || l.finish())
        .await
        .unwrap();
    assert_eq!(code, 0);
    let rest: Vec<String> = tokio::time::timeout(
        Duration::from_secs(10),
        s.map(|e| String::from_utf8(e.unwrap().line).unwrap())
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the stream ends after the drain");
    let want: Vec<String> = (0..200).map(|i| format!("last {i}\n")).collect();
    assert_eq!(rest, want);
}

/// containerd 1.6's shim sends SIGTERM when the task is deleted (and SIGKILL 12 s
/// later): the program writes what the pipes hold, then exits, even while a writer
/// still holds a pipe open.
#[test]
fn sigterm_drains_what_is_written_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.log");
    let mut l = Logger::start(&log);
    for i in 0..200 {
        l.out(format!("line {i}\n").as_bytes());
    }
    l.err(b"partial");
    // SAFETY: signalling the child this test started.
    assert_eq!(unsafe { libc::kill(l.child.id() as i32, libc::SIGTERM) }, 0);
    let mut status = None;
    for _ in 0..300 {
        status = l.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = status.expect("the program exits on SIGTERM with its pipes still open");
    assert_eq!(status.code(), Some(0), "{status:?}");
    let e = entries(&log);
    let out: Vec<&str> = e
        .iter()
        .filter(|v| v["stream"] == "stdout")
        .map(|v| v["log"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..200).map(|i| format!("line {i}\n")).collect();
    assert_eq!(out, want);
    assert!(
        e.iter()
            .any(|v| v["log"] == "partial" && v["stream"] == "stderr")
    );
}

fn numbers_in(path: &Path) -> Vec<u32> {
    entries(path)
        .iter()
        .map(|e| e["log"].as_str().unwrap().trim_end().parse().unwrap())
        .collect()
}

/// Rotation options in containerd 1.6's argument order (Go map order, bare key with an
/// empty value): files stay within max-size and max-file, the newest lines survive in
/// order, and a follower started first sees every line across the rotations.
#[tokio::test]
async fn rotates_by_max_size_and_max_file_and_a_follower_sees_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c1-json.log");
    let mut l = Logger::start_with(&format!(
        "max-file\n3\nlog-driver\n\npath\n{}\nmax-size\n2000",
        log.display()
    ));
    let stop = CancellationToken::new();
    let follower = logs::read(
        log.clone(),
        ReadOptions {
            follow: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        },
        stop.clone(),
    );
    let collected = tokio::spawn(async move {
        let lines: Vec<u32> = follower
            .map(|e| {
                String::from_utf8(e.unwrap().line)
                    .unwrap()
                    .trim_end()
                    .parse::<u32>()
                    .unwrap()
            })
            .collect()
            .await;
        lines
    });
    let total = 600u32;
    for i in 0..total {
        l.out(format!("{i}\n").as_bytes());
        if i % 5 == 4 {
            // Slow enough for a 50 ms poller to see most rotations one at a time.
            tokio::time::sleep(Duration::from_millis(6)).await;
        }
    }
    assert_eq!(l.finish(), 0);
    stop.cancel();
    let followed = tokio::time::timeout(Duration::from_secs(10), collected)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(followed, (0..total).collect::<Vec<_>>());

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["c1-json.log", "c1-json.log.1", "c1-json.log.2"],
        "max-file counts the current file"
    );
    let mut kept = Vec::new();
    for name in names.iter().rev() {
        let p = dir.path().join(name);
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len <= 2000, "{name}: {len} bytes");
        kept.extend(numbers_in(&p));
    }
    assert_eq!(*kept.last().unwrap(), total - 1);
    assert!(kept.windows(2).all(|w| w[1] == w[0] + 1), "{kept:?}");
    // `logs` reads the same window, oldest file first.
    let read: Vec<u32> = logs::read(
        log.clone(),
        ReadOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        },
        CancellationToken::new(),
    )
    .map(|e| {
        String::from_utf8(e.unwrap().line)
            .unwrap()
            .trim_end()
            .parse::<u32>()
            .unwrap()
    })
    .collect()
    .await;
    assert_eq!(read, kept);
}
