//! Docker Engine API daemons for mycli's tests, on temporary sockets and directories.
//!
//! The same tests run against every engine kind: Debian's dockerd 20.10 (the reference)
//! and myengined over mycontainerd (started by [`crate::engine`]).
//! `MYCLI_TEST_ENGINE=dockerd|myengined` picks one (default dockerd). An engine is
//! stopped and everything it left — containerd and shims it started, mounts, cgroups —
//! is removed on drop; its log is printed when a test fails.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{
    bin, bin_dir, cgroup_dirs_named, mounts_under, pids_mentioning, unique, wait_until, workspace,
};

/// Which daemon serves the Engine API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// Debian's dockerd 20.10 (API 1.41) with the containerd it manages itself.
    Dockerd,
    /// myengined over the workspace's mycontainerd.
    Myengined,
}

impl EngineKind {
    /// From `MYCLI_TEST_ENGINE` (default: dockerd).
    pub fn from_env() -> EngineKind {
        match std::env::var("MYCLI_TEST_ENGINE").as_deref() {
            Err(_) | Ok("") | Ok("dockerd") => EngineKind::Dockerd,
            Ok("myengined") => EngineKind::Myengined,
            Ok(other) => {
                panic!("MYCLI_TEST_ENGINE={other}: unknown engine (known: dockerd, myengined)")
            }
        }
    }
}

/// A running engine on a temporary socket.
pub struct Engine {
    pub kind: EngineKind,
    backend: Backend,
}

enum Backend {
    Dockerd(Dockerd),
    /// Started, cleaned up and logged by the myengined harness; this one only adds
    /// mycli on top.
    Myengined(crate::engine::Engine),
}

/// dockerd and what it starts on its own: its containerd, shims, mounts, cgroups.
struct Dockerd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Unique per engine: the containerd namespaces and the cgroup parent are named after it.
    tag: String,
}

impl Engine {
    /// Starts the engine `MYCLI_TEST_ENGINE` names.
    pub fn start() -> Engine {
        Engine::start_kind(EngineKind::from_env())
    }

    pub fn start_kind(kind: EngineKind) -> Engine {
        let backend = match kind {
            EngineKind::Dockerd => Backend::Dockerd(Dockerd::start()),
            EngineKind::Myengined => Backend::Myengined(crate::engine::Engine::start_empty()),
        };
        Engine { kind, backend }
    }

    /// The engine's temporary directory (its socket lives there).
    pub fn dir(&self) -> &Path {
        match &self.backend {
            Backend::Dockerd(d) => d.dir.path(),
            Backend::Myengined(m) => m.dir(),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir().join("engine.sock")
    }

    /// `unix://...`, for `-H` and `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn log_tail(&self) -> String {
        match &self.backend {
            Backend::Dockerd(d) => d.log_tail(),
            Backend::Myengined(m) => m.log_tail(),
        }
    }

    /// A raw API request (unversioned path), independent of mycli: the harness must not
    /// depend on the client under test. Returns the status and body.
    pub fn api(&self, method: &str, path: &str, body: Option<&[u8]>) -> Option<(u16, Vec<u8>)> {
        crate::engine::http_request(&self.socket(), method, path, body, "application/x-tar")
            .map(|r| (r.status, r.body))
    }

    /// Loads the busybox image (`busybox:latest`) through the API, from the archive
    /// format each engine takes: dockerd 20.10's `load` knows only `docker save`
    /// archives, myengined takes the OCI one the project builds.
    pub fn load_busybox(&self) {
        match &self.backend {
            Backend::Dockerd(_) => {
                let archive = std::fs::read(busybox_docker_archive()).unwrap();
                let (status, body) = self
                    .api("POST", "/images/load?quiet=1", Some(&archive))
                    .expect("the engine did not answer the load");
                assert_eq!(
                    status,
                    200,
                    "loading busybox failed: {}\n{}",
                    String::from_utf8_lossy(&body),
                    self.log_tail()
                );
            }
            Backend::Myengined(m) => m.load_busybox(),
        }
    }

    /// `mycli` pointed at this engine through `DOCKER_HOST`.
    pub fn mycli(&self) -> Command {
        let mut c = Command::new(bin("mycli"));
        c.env("DOCKER_HOST", self.host())
            .env_remove("DOCKER_API_VERSION")
            .stdin(Stdio::null());
        c
    }

    /// Runs mycli with `args`, stdin empty.
    pub fn run(&self, args: &[&str]) -> Output {
        self.mycli().args(args).output().unwrap()
    }

    /// Runs mycli, insists on exit 0, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "mycli {args:?} failed ({}):\nstdout: {}\nstderr: {}\n--- engine log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The IDs of every container the engine has (through the API, not mycli).
    pub fn container_ids(&self) -> Vec<String> {
        let Some((200, body)) = self.api("GET", "/containers/json?all=1", None) else {
            return Vec::new();
        };
        let list: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["Id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes every container (force): what a test did not clean up itself.
    pub fn remove_all_containers(&self) {
        for id in self.container_ids() {
            let _ = self.api("DELETE", &format!("/containers/{id}?force=1"), None);
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // myengined's harness prints its own log when panicking.
        if let Backend::Dockerd(d) = &self.backend {
            if std::thread::panicking() {
                eprintln!("--- dockerd log ---\n{}", d.log_tail());
            }
            if d.child.is_some() {
                self.remove_all_containers();
            }
        }
    }
}

impl Dockerd {
    fn start() -> Dockerd {
        // Short: containerd's socket under it must fit a sockaddr_un.
        let dir = tempfile::Builder::new().prefix("mycli-").tempdir().unwrap();
        let mut d = Dockerd {
            child: None,
            dir,
            tag: unique("mycli"),
        };
        d.spawn();
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("engine.sock")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("engine.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn cgroup_parent(&self) -> String {
        format!("{}-cg", self.tag)
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let log = std::fs::File::create(self.log_path()).unwrap();
        // A config-file key only: without it the daemon's ID key goes to
        // /etc/docker/key.json.
        let config = serde_json::json!({ "deprecated-key-path": d.join("key.json") });
        std::fs::write(d.join("daemon.json"), config.to_string()).unwrap();
        let mut cmd = Command::new("/usr/sbin/dockerd");
        cmd.arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
                "--userland-proxy=false",
            ])
            .arg("--containerd-namespace")
            .arg(&self.tag)
            .arg("--containerd-plugins-namespace")
            .arg(format!("{}-plugins", self.tag))
            .arg("--cgroup-parent")
            .arg(format!("/{}", self.cgroup_parent()))
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("starting dockerd"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if crate::engine::http_request(&self.socket(), "GET", "/_ping", None, "text/plain")
                .is_some_and(|r| r.status == 200)
            {
                return;
            }
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dockerd exited ({st}):\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer /_ping:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: signalling the daemon we started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        // The daemon's own containerd and shims name our temp dir on their command lines.
        let dir = self.dir.path().display().to_string();
        for pid in pids_mentioning(&dir) {
            // SAFETY: killing processes our engine started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        wait_until(10, "the engine's processes to exit", || {
            pids_mentioning(&dir).is_empty()
        });
        for m in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        for d in cgroup_dirs_named(&self.cgroup_parent()).into_iter().rev() {
            // Children (one per container) first; the runtime normally removed them.
            if let Ok(entries) = std::fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        let _ = std::fs::remove_dir(e.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(&d);
        }
        // dockerd makes these wherever its roots are; only empty ones go, so that a
        // daemon still using them (another test's) keeps them.
        for d in [
            "/run/docker/plugins",
            "/run/docker",
            "/run/containerd/s",
            "/run/containerd",
        ] {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The busybox image as an OCI archive, built once per target dir by
/// scripts/busybox-image.sh (docker.io/library/busybox:latest).
pub fn busybox_oci_archive() -> PathBuf {
    fixture("busybox-image.tar", |out| {
        let st = Command::new("bash")
            .arg(workspace().join("scripts/busybox-image.sh"))
            .arg(out)
            .status()
            .unwrap();
        assert!(st.success(), "scripts/busybox-image.sh failed");
    })
}

/// The same image as a `docker save` archive (`busybox:latest`), made by skopeo: what
/// dockerd 20.10's `load` takes.
pub fn busybox_docker_archive() -> PathBuf {
    let oci = busybox_oci_archive();
    fixture("busybox-docker.tar", |out| {
        let st = Command::new("skopeo")
            .arg("copy")
            .arg("--quiet")
            .arg(format!("oci-archive:{}", oci.display()))
            .arg(format!("docker-archive:{}:busybox:latest", out.display()))
            .status()
            .expect("skopeo is not installed (make deps)");
        assert!(st.success(), "skopeo copy to docker-archive failed");
    })
}

/// A file under target/<profile>/test-fixtures made once by `make` (under a lock, into
/// a temporary name renamed into place, so a half-made file is never used).
fn fixture(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let base = bin_dir().join("test-fixtures");
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join(name);
    let lock = std::fs::File::create(base.join(format!("{name}.lock"))).unwrap();
    // SAFETY: flock on an open file; released when it closes.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if !out.exists() {
        let tmp = base.join(format!("{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        make(&tmp);
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// A process on a new pseudo-terminal (as a session leader with the terminal as its
/// controlling one, so that it gets SIGWINCH), with everything it writes collected.
pub struct PtyProcess {
    pub child: Child,
    master: std::fs::File,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl PtyProcess {
    /// Spawns `cmd` on a terminal of `rows` x `cols`.
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> PtyProcess {
        use std::os::fd::{FromRawFd, OwnedFd};
        use std::os::unix::process::CommandExt;
        let (mut master, mut slave) = (0, 0);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh descriptors from openpty.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let slave_fd = slave.as_raw_fd();
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning on a pty");
        // The parent's copies of the slave closed with `cmd`'s Stdio above when spawn
        // returned; drop `cmd` to be sure the master sees EOF/EIO when the child exits.
        drop(cmd);
        let master = std::fs::File::from(master);
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        PtyProcess {
            child,
            master,
            output,
        }
    }

    /// Everything the process wrote so far, lossily as text.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Types `bytes` on the terminal.
    pub fn write(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Waits until the output contains `needle` (panics with the output after `secs`).
    pub fn expect(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "timed out waiting for {needle:?} on the terminal; got:\n{:?}",
            self.output()
        );
    }

    /// Resizes the terminal; the kernel sends SIGWINCH to the process.
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ with a winsize we own.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }

    /// Waits for the process to exit (panics after `secs`) and returns its exit code.
    pub fn wait(&mut self, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the process did not exit within {secs}s; output:\n{:?}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PtyProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
