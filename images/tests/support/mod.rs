//! Harness for myimages against a real daemon: containerd 1.6 by default, or
//! mycontainerd with `MYCTR_TEST_DAEMON=mycontainerd` (the switch myctr's tests use),
//! on a temporary socket with temporary root and state.

#![allow(dead_code)]

pub mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What containerd and its shims create under /run whatever their config says.
const CONTAINERD_RUN_DIRS: [&str; 4] = [
    "/run/containerd/fifo",
    "/run/containerd/runc",
    "/run/containerd/s",
    "/run/containerd",
];

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    pub mycontainerd: bool,
}

impl Daemon {
    pub fn start() -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("daemon.log")).unwrap();
        let mycontainerd = match std::env::var("MYCTR_TEST_DAEMON").as_deref() {
            Ok("mycontainerd") => true,
            Ok("containerd") | Err(_) => false,
            Ok(other) => panic!("MYCTR_TEST_DAEMON={other}: expected containerd or mycontainerd"),
        };
        let mut cmd = if mycontainerd {
            let bin = std::env::var_os("MYCONTAINERD_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| target_dir().join("debug/mycontainerd"));
            assert!(
                bin.exists(),
                "{} is missing: build mycontainerd",
                bin.display()
            );
            let mut cmd = Command::new(bin);
            cmd.arg("--address")
                .arg(d.join("d.sock"))
                .arg("--root")
                .arg(d.join("root"))
                .arg("--state")
                .arg(d.join("state"))
                .args(["--log-level", "debug"]);
            cmd
        } else {
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
                sock = d.join("d.sock").display(),
                debug = d.join("debug.sock").display(),
            );
            std::fs::write(d.join("config.toml"), config).unwrap();
            let mut cmd = Command::new("containerd");
            cmd.arg("--config").arg(d.join("config.toml"));
            cmd
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the daemon would not start (make deps installs Debian's containerd)");
        let daemon = Daemon {
            child,
            dir,
            mycontainerd,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(daemon.socket()).is_err() {
            assert!(
                Instant::now() < deadline,
                "the daemon did not listen:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        daemon
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("d.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// A library client for `namespace`.
    pub async fn client(&self, namespace: &str) -> myimages::Client {
        let channel = myproto::transport::connect_unix(self.socket())
            .await
            .expect("connecting to the daemon");
        myimages::Client::new(channel, namespace).unwrap()
    }

    /// Debian's ctr against this daemon.
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .arg("--namespace")
            .arg(namespace)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr is not installed (make deps)")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for d in CONTAINERD_RUN_DIRS {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// A single-threaded runtime, as myctr uses.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
