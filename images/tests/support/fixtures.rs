//! Fixtures shared by myimages' and myctr's tests (myctr includes this file by path):
//! the busybox image tarball, built once per target dir by scripts/busybox-image.sh, and
//! Debian's docker-registry on a free 127.0.0.1 port with storage in a temp dir, filled
//! with Debian's skopeo.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The busybox image as an OCI-layout tarball (docker.io/library/busybox:latest).
pub fn busybox_image() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.join("busybox-image.tar");
    let lock = std::fs::File::create(tmp.join("busybox-image.lock")).unwrap();
    // SAFETY: flock on an open file; released when it closes.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if !out.exists() {
        let st = Command::new("bash")
            .arg(workspace().join("scripts/busybox-image.sh"))
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success(), "scripts/busybox-image.sh failed");
    }
    out
}

/// The image as a `docker save` archive, made from the OCI one by skopeo.
pub fn busybox_docker_archive(dir: &Path) -> PathBuf {
    let out = dir.join("busybox-docker.tar");
    let st = Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", busybox_image().display()))
        .arg(format!("docker-archive:{}:busybox:latest", out.display()))
        .stdout(Stdio::null())
        .status()
        .expect("skopeo is not installed (make deps)");
    assert!(st.success(), "skopeo copy to docker-archive failed");
    out
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's docker-registry on 127.0.0.1, plain HTTP; killed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

impl Registry {
    /// `credentials`: basic auth with an htpasswd file (bcrypt, made here).
    pub fn start(credentials: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = credentials {
            let hash = bcrypt::hash(password, 4).unwrap();
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is not installed (make deps)");
        let registry = Registry {
            child,
            dir,
            port,
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen:\n{}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        registry
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Pushes an OCI-layout tarball as `REPO:TAG` with skopeo.
    pub fn push(&self, archive: &Path, repo_tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--dest-tls-verify=false"]);
        if let Some((user, password)) = &self.credentials {
            cmd.arg(format!("--dest-creds={user}:{password}"));
        }
        let out = cmd
            .arg(format!("oci-archive:{}", archive.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("skopeo is not installed (make deps)");
        assert!(
            out.status.success(),
            "skopeo push failed: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Where the registry keeps blob `digest` (to corrupt it in tests).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The digests of the busybox image's manifest, config and layer, from its index.json.
pub fn busybox_digests() -> (String, String, String) {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(busybox_image())
        .arg("index.json")
        .output()
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let body = Command::new("tar")
        .arg("-xOf")
        .arg(busybox_image())
        .arg(format!(
            "blobs/sha256/{}",
            manifest.strip_prefix("sha256:").unwrap()
        ))
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&body.stdout).unwrap();
    (
        manifest,
        m["config"]["digest"].as_str().unwrap().to_owned(),
        m["layers"][0]["digest"].as_str().unwrap().to_owned(),
    )
}
