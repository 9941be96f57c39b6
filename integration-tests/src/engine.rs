//! myengined on a temporary socket, over its own mycontainerd (the workspace's
//! `Daemon`), with data and exec roots in a temp dir. The engine uses the daemon's
//! reserved test namespace, so the daemon's cleanup removes every task and container the
//! engine made; the engine is stopped first, its cgroups removed, and its log printed
//! when a test fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::{Daemon, DaemonKind, bin, cgroup_dirs_named, wait_until};

/// The docker CLI the real-client checks use.
pub const DOCKER_CLI: &str = "/usr/local/bin/docker";

pub struct Engine {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// This engine's own bridge, subnets and chains (several engines run at once).
    pub net: NetSlot,
    /// The containerd-API daemon under the engine; dropped after the engine.
    pub containerd: Daemon,
    /// Flags added after the harness's own (see `start_with_args`).
    extra_args: Vec<String>,
    /// A listening socket handed to the engine as descriptor 3, as systemd's socket
    /// activation does (see `start_activated`).
    activation: Option<std::os::unix::net::UnixListener>,
}

/// A statically linked init for `--init` (busybox has no libc for a dynamic one): the
/// release myinit when it was built static (`make build`), else Debian's tini-static.
pub fn static_init() -> PathBuf {
    let release = crate::workspace().join("target/release/myinit");
    if let Ok(out) = Command::new("file").arg(&release).output()
        && String::from_utf8_lossy(&out.stdout).contains("static")
    {
        return release;
    }
    PathBuf::from("/usr/bin/tini-static")
}

/// An HTTP answer: status, headers (lower-case names), de-chunked body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

impl Engine {
    /// mycontainerd and myengined, with the busybox image loaded.
    pub fn start() -> Engine {
        let e = Engine::start_empty();
        e.load_busybox();
        e
    }

    /// mycontainerd and myengined, no images.
    pub fn start_empty() -> Engine {
        Engine::start_on(DaemonKind::Ours)
    }

    /// myengined over a daemon of `kind` (Debian's containerd 1.6 for the reference
    /// check), no images.
    pub fn start_on(kind: DaemonKind) -> Engine {
        Engine::start_with(kind, Vec::new(), false)
    }

    /// `activated`: see [`Engine::start_activated`].
    fn start_with(kind: DaemonKind, extra_args: Vec<String>, activated: bool) -> Engine {
        let containerd = Daemon::start(kind);
        let dir = tempfile::Builder::new()
            .prefix("engine-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("docker-config")).unwrap();
        let activation = activated.then(|| {
            std::os::unix::net::UnixListener::bind(dir.path().join("activated.sock")).unwrap()
        });
        let lock = NetSlot::lock();
        let net = NetSlot::choose();
        let mut e = Engine {
            child: None,
            dir,
            net,
            containerd,
            extra_args,
            activation,
        };
        e.spawn();
        // The bridge and its route exist now: the next engine's choice avoids them.
        drop(lock);
        e
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("engine.sock")
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("engine.log")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("engine.log"))
            .unwrap();
        let mut cmd = match &self.activation {
            None => Command::new(bin("myengined")),
            Some(l) => {
                use std::os::fd::AsRawFd;
                use std::os::unix::process::CommandExt;
                // LISTEN_PID must be the engine's own PID: the shell's, kept by exec.
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
                    .arg(bin("myengined"))
                    .arg("-H")
                    .arg("fd://")
                    .env("LISTEN_FDS", "1");
                let fd = l.as_raw_fd();
                // SAFETY: dup2 and fcntl are async-signal-safe. dup2 onto itself keeps
                // close-on-exec, so a listener that already is descriptor 3 has it cleared.
                unsafe {
                    c.pre_exec(move || {
                        let rc = if fd == 3 {
                            libc::fcntl(3, libc::F_SETFD, 0)
                        } else {
                            libc::dup2(fd, 3)
                        };
                        if rc < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                c
            }
        };
        let child = cmd
            .arg("-H")
            .arg(self.host())
            .arg("--containerd")
            .arg(self.containerd.socket())
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--init-path")
            .arg(static_init())
            .arg("--namespace")
            .arg(&self.containerd.namespace)
            .arg("--log-level")
            .arg("debug")
            .arg("--bridge")
            .arg(&self.net.bridge)
            .arg("--bip")
            .arg(self.net.bip())
            .arg("--default-address-pool")
            .arg(format!("base={},size=24", self.net.block()))
            .arg("--chain-prefix")
            .arg(&self.net.chain_prefix)
            .arg("--userland-proxy-path")
            .arg(bin("myproxy"))
            .args(&self.extra_args)
            .env("PATH", Daemon::path_env())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting myengined");
        self.child = Some(child);
        wait_until(30, "myengined to answer /_ping", || {
            self.try_request("GET", "/_ping", None)
                .is_some_and(|r| r.status == 200)
        });
    }

    /// Sends `sig` to the engine and waits for it to exit.
    pub fn signal_and_wait(&mut self, sig: i32) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling the engine this harness started.
            unsafe { libc::kill(c.id() as i32, sig) };
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the engine before restarting it");
        self.spawn();
    }

    /// Restarts the containerd daemon under the running engine (after SIGKILL).
    pub fn kill_and_restart_containerd(&mut self) {
        self.containerd.signal_and_wait(libc::SIGKILL);
        self.containerd.restart();
    }

    /// One HTTP/1.1 request on a new connection; None when the engine does not answer.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Option<HttpResponse> {
        http_request(&self.socket(), method, path, body, "application/json")
    }

    /// Like `try_request`, panicking (with the engine's log) when there is no answer.
    pub fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> HttpResponse {
        self.try_request(method, path, body).unwrap_or_else(|| {
            panic!(
                "no answer to {method} {path}\n--- engine log ---\n{}",
                self.log_tail()
            )
        })
    }

    /// Loads busybox:latest (the OCI archive) through `POST /images/load`.
    pub fn load_busybox(&self) {
        let archive = std::fs::read(crate::dockerd::busybox_oci_archive()).unwrap();
        let r = self.request("POST", "/images/load", Some(&archive));
        assert_eq!(r.status, 200, "load: {}\n{}", r.text(), self.log_tail());
        assert!(
            r.text().contains("Loaded image: busybox:latest"),
            "{}",
            r.text()
        );
    }

    /// mycli against this engine, with `input` on stdin.
    pub fn mycli_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = Command::new(bin("mycli"))
            .env("DOCKER_HOST", self.host())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mycli");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// mycli against this engine, stdin empty.
    pub fn mycli(&self, args: &[&str]) -> Output {
        self.mycli_with_stdin(args, b"")
    }

    /// mycli, insisting on success; its stdout.
    pub fn mycli_ok(&self, args: &[&str]) -> String {
        let out = self.mycli(args);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(
            out.status.success(),
            "mycli {args:?} failed ({:?}):\nstdout: {}\nstderr: {}\n--- engine log ---\n{}",
            out.status.code(),
            text(&out.stdout),
            text(&out.stderr),
            self.log_tail()
        );
        text(&out.stdout)
    }

    /// mycli, insisting on failure with `code` and `needle` in its stderr.
    pub fn mycli_fails(&self, args: &[&str], code: i32, needle: &str) -> Output {
        let out = self.mycli(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "mycli {args:?}: stdout: {stdout} stderr: {stderr}"
        );
        assert!(
            stderr.contains(needle),
            "mycli {args:?}: expected {needle:?} in stderr: {stderr}"
        );
        out
    }

    /// The real docker CLI against this engine (its config in the temp dir).
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER_CLI);
        c.arg("-H")
            .arg(self.host())
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT");
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs docker, insists on success, returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({:?}): {}{}\n--- engine log ---\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// docker with `input` on its stdin.
    pub fn docker_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .docker_cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// IDs of every container the engine knows.
    pub fn container_ids(&self) -> Vec<String> {
        let r = self.try_request("GET", "/containers/json?all=1", None);
        r.map(|r| {
            r.json()
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c["Id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }
}

impl Engine {
    /// Like [`Engine::start`] (busybox loaded), with `extra` flags after the harness's
    /// own: say `-H tcp://...` and TLS flags. The harness's UNIX socket stays, for
    /// readiness and for `request`.
    pub fn start_with_args(extra: &[&str]) -> Engine {
        let e = Engine::start_with(
            DaemonKind::Ours,
            extra.iter().map(|a| a.to_string()).collect(),
            false,
        );
        e.load_busybox();
        e
    }
}

impl Engine {
    /// Like [`Engine::start`], plus a UNIX socket at `activated.sock` in the engine's
    /// directory that the engine does not bind itself: it gets it as descriptor 3 with
    /// `LISTEN_FDS`/`LISTEN_PID` and `-H fd://`, as from systemd.
    pub fn start_activated() -> Engine {
        let e = Engine::start_with(DaemonKind::Ours, Vec::new(), true);
        e.load_busybox();
        e
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- myengined log ---\n{}", self.log_tail());
        }
        if self.child.is_some() {
            for id in self.container_ids() {
                let _ = self.try_request("DELETE", &format!("/containers/{id}?force=1"), None);
            }
        }
        self.signal_and_wait(libc::SIGTERM);
        // Container cgroups (`/<namespace>/<id>`) that a killed shim left: children first.
        for parent in cgroup_dirs_named(&self.containerd.namespace) {
            if let Ok(entries) = std::fs::read_dir(&parent) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        let _ = std::fs::remove_dir(e.path());
                    }
                }
            }
        }
        // `containerd` drops next: it removes tasks, containers, mounts and the parent
        // cgroups of the namespace.
    }
}

/// An engine's share of the host's networking: a 10.X.0.0/16 block no route overlaps
/// (the default bridge takes 10.X.255.0/24, user networks the rest), a bridge `mybrtX`
/// and iptables chains `MYTX-*`. Chosen under a lock file held until the engine runs.
#[derive(Debug, Clone)]
pub struct NetSlot {
    pub octet: u8,
    pub bridge: String,
    pub chain_prefix: String,
}

impl NetSlot {
    fn lock() -> std::fs::File {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/tmp/myengine-test-net.lock")
            .unwrap();
        // SAFETY: flock on our own open file.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) };
        f
    }

    fn choose() -> NetSlot {
        let routes = ipv4_routes();
        let start = (std::process::id() % 100) as u8;
        for i in 0..100u8 {
            let octet = 100 + (start + i) % 100;
            let (net, mask) = (u32::from_be_bytes([10, octet, 0, 0]), 0xffff_0000u32);
            let clash = routes
                .iter()
                .any(|&(d, m)| m != 0 && (d & m & mask) == (net & m & mask));
            let bridge = format!("mybrt{octet}");
            if !clash && !Path::new("/sys/class/net").join(&bridge).exists() {
                return NetSlot {
                    octet,
                    bridge,
                    chain_prefix: format!("MYT{octet}"),
                };
            }
        }
        panic!("no free 10.X.0.0/16 block (X in 100..200) for a test engine");
    }

    /// The default bridge's address.
    pub fn bip(&self) -> String {
        format!("10.{}.255.1/24", self.octet)
    }

    /// The block of every network of this engine.
    pub fn block(&self) -> String {
        format!("10.{}.0.0/16", self.octet)
    }
}

/// (destination, mask) of the host's IPv4 routes, host byte order.
fn ipv4_routes() -> Vec<(u32, u32)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let d = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let m = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // /proc/net/route prints the kernel's little-endian words.
            Some((u32::from_be(d.to_le()), u32::from_be(m.to_le())))
        })
        .collect()
}

/// One HTTP/1.1 request to the API on `socket`, on a new connection, independent of the
/// clients under test; None when nothing answers.
pub fn http_request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: &str,
) -> Option<HttpResponse> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let body = body.unwrap_or(b"");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: engine\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    parse_response(&resp)
}

fn parse_response(resp: &[u8]) -> Option<HttpResponse> {
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw = &resp[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Some(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..eol])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
    out
}
