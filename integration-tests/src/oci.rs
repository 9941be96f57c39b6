//! OCI image tarballs made by tests: layers from a directory (the busybox rootfs) or from
//! entries written one by one (whiteouts, hostile names), gzip or zstd, wrapped in an OCI
//! layout (`oci-layout`, `index.json` naming the image, `blobs/sha256/...`) that
//! `ctr images import` and `skopeo copy oci-archive:` read. Fixed mtimes and owners, so
//! the same input gives the same digests.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

pub fn sha256(data: &[u8]) -> String {
    let h = Sha256::digest(data);
    let mut s = String::from("sha256:");
    for b in h.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// An uncompressed layer tar, entry by entry.
pub struct LayerBuilder(tar::Builder<Vec<u8>>);

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerBuilder {
    pub fn new() -> Self {
        LayerBuilder(tar::Builder::new(Vec::new()))
    }

    fn header(typ: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(typ);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.0.append_data(&mut h, path, &b""[..]).unwrap();
        self
    }

    pub fn file(mut self, path: &str, mode: u32, data: &[u8]) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut h, path, data).unwrap();
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    /// A whiteout of `path` (`dir/.wh.name`).
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&wh, 0o644, b"")
    }

    /// Marks `dir` opaque: what lower layers had there is hidden.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), 0o644, b"")
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }

    /// The tree under `root`, sorted, with the modes it has and fixed times and owners.
    pub fn from_dir(root: &Path) -> Vec<u8> {
        let mut paths = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.symlink_metadata().unwrap().is_dir() {
                    stack.push(p.clone());
                }
                paths.push(p);
            }
        }
        paths.sort();
        let mut b = LayerBuilder::new();
        for p in paths {
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let m = p.symlink_metadata().unwrap();
            let mode = m.mode() & 0o7777;
            b = if m.file_type().is_symlink() {
                b.symlink(&rel, std::fs::read_link(&p).unwrap().to_str().unwrap())
            } else if m.is_dir() {
                b.dir(&rel, mode)
            } else {
                b.file(&rel, mode, &std::fs::read(&p).unwrap())
            };
        }
        b.finish()
    }
}

fn compress(tar: &[u8], c: Compression) -> (Vec<u8>, &'static str) {
    match c {
        Compression::None => (tar.to_vec(), "application/vnd.oci.image.layer.v1.tar"),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            (
                e.finish().unwrap(),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        }
        Compression::Zstd => (
            zstd::encode_all(tar, 3).unwrap(),
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
    }
}

/// An image in the making: layers (uncompressed tars) and how to compress each.
pub struct Image {
    pub name: String,
    pub layers: Vec<(Vec<u8>, Compression)>,
    pub cmd: Vec<String>,
}

impl Image {
    /// The OCI layout as a tar (what `ctr images import` and `oci-archive:` take); also
    /// returns the manifest digest.
    pub fn archive(&self) -> (Vec<u8>, String) {
        let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for (tar, c) in &self.layers {
            let (data, mt) = compress(tar, *c);
            diff_ids.push(sha256(tar));
            layers.push(
                serde_json::json!({"mediaType": mt, "digest": sha256(&data), "size": data.len()}),
            );
            blobs.push((sha256(&data), data));
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": self.cmd,
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(&config),
                "size": config.len(),
            },
            "layers": layers,
        }))
        .unwrap();
        let manifest_digest = sha256(&manifest);
        let tag = self.name.rsplit_once(':').map(|t| t.1).unwrap_or("latest");
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest.len(),
                "annotations": {
                    "io.containerd.image.name": self.name,
                    "org.opencontainers.image.ref.name": tag,
                },
                "platform": {"architecture": "amd64", "os": "linux"},
            }],
        }))
        .unwrap();
        blobs.push((sha256(&config), config));
        blobs.push((manifest_digest.clone(), manifest));
        let mut out = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_mtime(1_600_000_000);
            out.append_data(&mut h, path, data).unwrap();
        };
        add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        add("index.json", &index);
        for (d, data) in &blobs {
            add(&format!("blobs/sha256/{}", &d[7..]), data);
        }
        (out.into_inner().unwrap(), manifest_digest)
    }

    /// Writes the archive to `path`; returns the manifest digest.
    pub fn write(&self, path: &Path) -> String {
        let (tar, digest) = self.archive();
        std::fs::write(path, tar).unwrap();
        digest
    }
}

/// `n` bytes that do not compress (a xorshift stream from `seed`).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}
