//! Applying layers (the diff service's Apply): read the blob from the content store,
//! decompress it by media type, extract it safely (`extract.rs`) onto the mounts of an
//! active snapshot, and answer the digest of the uncompressed tar (the diffID).
//!
//! Where the layer goes: a single `bind` mount (a snapshot without parents) is its source
//! directory, written directly. Anything else (an overlay with lower layers) is mounted
//! on a temporary directory by a dedicated thread that first moves into a mount namespace
//! of its own (unshare, then `/` made a slave), and the layer is written through the
//! mounted filesystem: overlayfs itself turns deletions into whiteouts, copies up
//! directories with their attributes, and resolves hard links to lower files. That keeps
//! one extraction code path (no conversion of `.wh.` names into overlay's private
//! format), and the mount can never leak: it lives only in that thread's namespace, which
//! the kernel tears down with the thread even if the daemon is killed.
//!
//! The compressed stream is hashed while it is read, and must match the descriptor's
//! digest and size; a mismatch, a truncated or corrupt stream, or a rejected entry fails
//! the call (the client then removes the active snapshot, so nothing half-applied is
//! ever committed).

pub mod extract;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use myproto::containerd::types::{Descriptor, Mount};
use nix::mount::{MntFlags, MsFlags};

use crate::content::ContentStore;
use crate::digest::Hashing;
use crate::error::{Error, Result};

/// What an applied layer is (containerd answers the OCI type whatever came in).
pub const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The compression of a layer media type (OCI and Docker schema 2, distributable or not).
pub fn compression(media_type: &str) -> Result<Compression> {
    let base = media_type.split(';').next().unwrap_or("").trim();
    match base {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Ok(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Ok(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Ok(Compression::Zstd),
        _ => Err(Error::InvalidArgument(format!(
            "unsupported layer media type {media_type:?}"
        ))),
    }
}

/// Mount options split into flags and filesystem data (mount(8) names).
fn mount_options(options: &[String]) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" | "defaults" => {}
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

pub struct Applier {
    content: Arc<ContentStore>,
    /// Where temporary mount points go (`<root>/tmp`).
    tmp: PathBuf,
}

impl Applier {
    pub fn new(root: &Path, content: Arc<ContentStore>) -> Result<Applier> {
        let tmp = root.join("tmp");
        // Mount points left by a killed daemon are empty (their mounts died with it).
        let _ = crate::tree::remove_tree(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        Ok(Applier { content, tmp })
    }

    /// Applies the layer `desc` (in `ns`'s content) onto `mounts`; returns the
    /// uncompressed descriptor.
    pub async fn apply(
        &self,
        ns: &str,
        desc: Descriptor,
        mounts: Vec<Mount>,
        sync_fs: bool,
    ) -> Result<Descriptor> {
        let compression = compression(&desc.media_type)?;
        let (file, size) = self.content.open_blob(ns, &desc.digest)?;
        if desc.size > 0 && desc.size != size {
            return Err(Error::Layer {
                digest: desc.digest,
                reason: format!(
                    "descriptor size {} but the blob has {size} bytes",
                    desc.size
                ),
            });
        }
        if mounts.is_empty() {
            return Err(Error::InvalidArgument(
                "no mounts to apply the layer to".into(),
            ));
        }
        let tmp = self.tmp.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // A thread of its own: it may change its mount namespace.
        std::thread::Builder::new()
            .name("apply".into())
            .spawn(move || {
                let started = Instant::now();
                let r = on_mounts(&mounts, &tmp, |root| {
                    let r = unpack(root, file, compression, &desc);
                    if r.is_ok() && sync_fs {
                        sync(root);
                    }
                    r
                });
                if let Ok(d) = &r {
                    tracing::info!(digest = %desc.digest, diff_id = %d.digest, bytes = d.size, ms = started.elapsed().as_millis() as u64, "layer applied");
                }
                let _ = tx.send(r);
            })
            .map_err(|e| Error::io("starting a thread", "apply", e))?;
        rx.await
            .map_err(|_| Error::Store("the apply thread died".into()))?
    }
}

fn sync(root: &Path) {
    if let Ok(d) = crate::tree::Dir::open(root) {
        // SAFETY: syncfs(2) on our fd.
        unsafe { libc::syncfs(d.fd()) };
    }
}

/// Runs `f` on a directory showing `mounts`: a bind mount's source as it is, anything
/// else mounted in this thread's own mount namespace.
fn on_mounts<T>(mounts: &[Mount], tmp: &Path, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    if let [m] = mounts
        && (m.r#type == "bind" || m.options.iter().any(|o| o == "bind" || o == "rbind"))
    {
        if m.options.iter().any(|o| o == "ro") {
            return Err(Error::FailedPrecondition(
                "cannot apply a layer to a read-only mount".into(),
            ));
        }
        return f(Path::new(&m.source));
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS | nix::sched::CloneFlags::CLONE_FS)
        .map_err(|e| Error::io("unshare", "mount namespace", e.into()))?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| Error::io("making / a slave mount", "/", e.into()))?;
    let target = tmp.join(format!(
        "apply-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let target = PathBuf::from(target.display().to_string().replace(['(', ')'], ""));
    std::fs::create_dir_all(&target).map_err(|e| Error::io("creating", &target, e))?;
    let mut mounted = 0;
    let mut r = Ok(());
    for m in mounts {
        let (flags, data) = mount_options(&m.options);
        let typ = (!flags.contains(MsFlags::MS_BIND)).then_some(m.r#type.as_str());
        if let Err(e) = nix::mount::mount(
            Some(m.source.as_str()),
            &target,
            typ,
            flags - MsFlags::MS_RDONLY,
            (!data.is_empty()).then_some(data.as_str()),
        ) {
            r = Err(Error::io(
                "mounting",
                format!("{} ({})", m.source, m.r#type),
                e.into(),
            ));
            break;
        }
        mounted += 1;
    }
    let out = r.and_then(|()| f(&target));
    for _ in 0..mounted {
        let _ = nix::mount::umount2(&target, MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir(&target);
    out
}

/// Decompresses and extracts `blob` onto `root`, checking the compressed digest and size.
fn unpack(
    root: &Path,
    blob: std::fs::File,
    compression: Compression,
    desc: &Descriptor,
) -> Result<Descriptor> {
    let layer = |reason: String| Error::Layer {
        digest: desc.digest.clone(),
        reason,
    };
    let mut compressed = Hashing::new(BufReader::with_capacity(1 << 20, blob));
    let (diff_id, size) = {
        let decoder: Box<dyn Read> = match compression {
            Compression::None => Box::new(&mut compressed),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&mut compressed)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::new(&mut compressed)
                    .map_err(|e| layer(format!("zstd: {e}")))?,
            ),
        };
        let mut tar = Hashing::new(decoder);
        extract::apply(root, &mut tar, extract::Options::default()).map_err(|e| layer(e.0))?;
        tar.finish()
    };
    std::io::copy(&mut compressed, &mut std::io::sink())
        .map_err(|e| layer(format!("reading the blob: {e}")))?;
    let (got, got_size) = compressed.finish();
    if got != desc.digest {
        return Err(layer(format!(
            "content digest is {got}: the blob is corrupt"
        )));
    }
    if desc.size > 0 && got_size != desc.size as u64 {
        return Err(layer(format!(
            "{got_size} bytes read, {} expected",
            desc.size
        )));
    }
    Ok(Descriptor {
        media_type: MEDIA_TYPE_LAYER.into(),
        digest: diff_id,
        size: size as i64,
        annotations: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Exchange;
    use crate::metadata::Store;
    use std::io::Write;

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("etc/hello").unwrap();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"hi\n"[..]).unwrap();
        b.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    struct Fixture {
        _t: tempfile::TempDir,
        root: PathBuf,
        cs: Arc<ContentStore>,
        applier: Applier,
    }

    fn fixture() -> Fixture {
        let t = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&t.path().join("meta.redb")).unwrap());
        let cs = ContentStore::open(t.path(), store, Exchange::default()).unwrap();
        let applier = Applier::new(t.path(), cs.clone()).unwrap();
        let root = t.path().join("rootfs");
        std::fs::create_dir(&root).unwrap();
        Fixture {
            root,
            cs,
            applier,
            _t: t,
        }
    }

    impl Fixture {
        fn add(&self, data: &[u8]) -> String {
            let d = crate::digest::of(data);
            let mut w = self.cs.writer("ns", &d, 0, "", None).unwrap();
            w.write(data).unwrap();
            match w.commit(0, "", Default::default()) {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => panic!("{e}"),
            }
            d
        }

        fn mounts(&self) -> Vec<Mount> {
            vec![Mount {
                r#type: "bind".into(),
                source: self.root.display().to_string(),
                target: String::new(),
                options: vec!["rw".into(), "rbind".into()],
            }]
        }

        async fn apply(&self, media_type: &str, digest: &str, size: i64) -> Result<Descriptor> {
            let desc = Descriptor {
                media_type: media_type.into(),
                digest: digest.into(),
                size,
                annotations: Default::default(),
            };
            self.applier.apply("ns", desc, self.mounts(), false).await
        }
    }

    #[tokio::test]
    async fn every_compression_gives_the_diff_id() {
        let f = fixture();
        let tar = layer_tar();
        let diff_id = crate::digest::of(&tar);
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        for (mt, data) in [
            ("application/vnd.oci.image.layer.v1.tar", tar.clone()),
            ("application/vnd.oci.image.layer.v1.tar+gzip", gzip(&tar)),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                gzip(&tar),
            ),
            ("application/vnd.oci.image.layer.v1.tar+zstd", zst),
        ] {
            let d = f.add(&data);
            let applied = f.apply(mt, &d, data.len() as i64).await.unwrap();
            assert_eq!(applied.digest, diff_id, "{mt}");
            assert_eq!(applied.size, tar.len() as i64);
            assert_eq!(applied.media_type, MEDIA_TYPE_LAYER);
            assert_eq!(std::fs::read(f.root.join("etc/hello")).unwrap(), b"hi\n");
        }
    }

    #[tokio::test]
    async fn corrupt_truncated_and_mismatched_layers_fail() {
        let f = fixture();
        let gz = gzip(&layer_tar());
        // A truncated gzip stream (committed under its own, correct digest).
        let cut = f.add(&gz[..gz.len() / 2]);
        let e = f
            .apply("application/vnd.oci.image.layer.v1.tar+gzip", &cut, 0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Layer { .. }), "{e}");
        // Garbage that is not gzip at all.
        let junk = f.add(b"this is not a layer");
        let e = f
            .apply("application/vnd.oci.image.layer.v1.tar+gzip", &junk, 0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Layer { .. }), "{e}");
        // The blob on disk changed after commit: the digest check catches it.
        let d = f.add(&gz);
        let p = f.cs.blob_path(&d).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        // Another valid layer of the same size in its place: extraction works, the digest
        // check refuses it.
        let mut swapped = gz.clone();
        let n = swapped.len();
        swapped[n - 9] ^= 0xff; // the CRC: gzip itself would notice too
        let mut other = layer_tar();
        other[512] = b'H'; // "Hi\n": same shape, other bytes
        std::fs::write(&p, gzip(&other)).unwrap();
        let e = f
            .apply(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                &d,
                gz.len() as i64,
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("content digest is"), "{e}");
        std::fs::write(&p, &swapped).unwrap();
        let e = f
            .apply(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                &d,
                gz.len() as i64,
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains(&d), "{e}");
        // A wrong size in the descriptor.
        let d = f.add(&gzip(b"x"));
        assert!(
            f.apply("application/vnd.oci.image.layer.v1.tar+gzip", &d, 3)
                .await
                .is_err()
        );
        // Unknown media types and digests not in the namespace.
        assert!(f.apply("application/json", &d, 0).await.is_err());
        let e = f
            .apply(
                "application/vnd.oci.image.layer.v1.tar",
                &crate::digest::of(b"none"),
                0,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }));
    }
}
