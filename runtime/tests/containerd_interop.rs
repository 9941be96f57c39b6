//! The real containerd 1.6 with its containerd-shim-runc-v2 drives myrunc through
//! `ctr run --runc-binary`: the interface the shim expects (flags, pid files, JSON logs,
//! console sockets, `state` JSON) must be runc's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{cgroup_dirs_named, shared_rootfs, unique_id, wait_until};

/// A containerd on a temporary socket with temporary root and state, stopped on drop.
struct Containerd {
    child: Child,
    dir: tempfile::TempDir,
    namespace: String,
}

/// What containerd and its shims create under /run whatever their config says.
const RUN_DIRS: [&str; 4] = [
    "/run/containerd/fifo",
    "/run/containerd/runc",
    "/run/containerd/s",
    "/run/containerd",
];

impl Containerd {
    fn start() -> Containerd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{debug}"
"#,
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("c.sock").display(),
            debug = d.join("debug.sock").display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd is not installed (make deps installs Debian's containerd)");
        let c = Containerd {
            child,
            dir,
            namespace: unique_id("myrunc-interop"),
        };
        wait_until(30, "containerd to answer", || {
            c.ctr(&["version"]).status.success()
        });
        c
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.sock())
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {}{}\ncontainerd log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The shim's runc root and containerd's parent cgroup for our namespace.
        let _ = std::fs::remove_dir_all(Path::new("/run/containerd/runc").join(&self.namespace));
        for d in cgroup_dirs_named(&self.namespace) {
            let _ = std::fs::remove_dir(d);
        }
        // Only empty ones, children first: a daemon still running (another test's, or the
        // host's, whose socket lives in /run/containerd) keeps them; the last test out
        // removes them, whoever made them.
        for d in RUN_DIRS {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
fn containerd_shim_drives_myrunc() {
    let myrunc = env!("CARGO_BIN_EXE_myrunc");
    let rootfs = shared_rootfs();
    let c = Containerd::start();
    let id = unique_id("ctr");
    c.ok(&[
        "run",
        "-d",
        "--runc-binary",
        myrunc,
        "--rootfs",
        rootfs.to_str().unwrap(),
        &id,
        "/bin/sleep",
        "100",
    ]);
    let tasks = c.ok(&["tasks", "ls"]);
    assert!(
        tasks
            .lines()
            .any(|l| l.contains(&id) && l.contains("RUNNING")),
        "{tasks}"
    );
    // The shim keeps myrunc's state under its own root: our binary really ran it.
    let state = Path::new("/run/containerd/runc")
        .join(&c.namespace)
        .join(&id)
        .join("state.json");
    assert!(state.exists(), "no myrunc state at {}", state.display());

    let out = c.ok(&[
        "tasks",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "/bin/sh",
        "-c",
        "echo hello-from-exec; hostname",
    ]);
    assert!(out.starts_with("hello-from-exec\n"), "{out}");
    let out = c.ctr(&[
        "tasks",
        "exec",
        "--exec-id",
        "e2",
        &id,
        "/bin/sh",
        "-c",
        "exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4));

    let ps = c.ok(&["tasks", "ps", &id]);
    assert!(ps.lines().count() >= 2, "{ps}");

    c.ok(&["tasks", "kill", "--signal", "SIGKILL", &id]);
    wait_until(20, "the task to stop", || {
        c.ok(&["tasks", "ls"])
            .lines()
            .any(|l| l.contains(&id) && l.contains("STOPPED"))
    });
    c.ok(&["tasks", "delete", &id]);
    c.ok(&["containers", "delete", &id]);
    assert!(!state.exists());
    let leftover: Vec<PathBuf> = cgroup_dirs_named(&id);
    assert!(leftover.is_empty(), "cgroups left: {leftover:?}");

    // A foreground run with an exit code, and a failing one whose error reaches ctr
    // through the shim reading myrunc's JSON log.
    let id2 = unique_id("ctr");
    let out = c.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        myrunc,
        "--rootfs",
        rootfs.to_str().unwrap(),
        &id2,
        "/bin/sh",
        "-c",
        "echo fg; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fg\n");
    let id3 = unique_id("ctr");
    let out = c.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        myrunc,
        "--rootfs",
        rootfs.to_str().unwrap(),
        &id3,
        "no-such-binary",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("executable file not found"), "{err}");
    let _ = c.ctr(&["containers", "delete", &id3]);
}

#[test]
fn containerd_terminal_session_with_myrunc() {
    let myrunc = env!("CARGO_BIN_EXE_myrunc");
    let rootfs = shared_rootfs();
    let c = Containerd::start();
    let id = unique_id("ctrtty");
    // `ctr run -t` needs a terminal on its own stdin: give it a pty from `script`.
    let cmd = format!(
        "ctr --address {} --namespace {} run --rm -t --runc-binary {myrunc} --rootfs {} {id} /bin/sh",
        c.sock().display(),
        c.namespace,
        rootfs.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    stdin
        .write_all(b"tty; echo term-$((6*7)); exit 3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("term-42"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("/dev/pts/"), "{text}");
    assert_eq!(out.status.code(), Some(3), "{text}");
}
