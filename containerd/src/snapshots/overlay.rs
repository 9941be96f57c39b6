//! The `overlayfs` snapshotter: a snapshot is `<root>/snapshots/overlayfs/snapshots/<id>/`
//! with `fs` (the layer's files; the upper directory while active) and `work` (overlay's
//! scratch, actives only). Mounts have the shapes containerd's overlay snapshotter
//! returns, so clients and shims that know those work unchanged.

use std::path::{Path, PathBuf};

use myproto::containerd::services::snapshots::v1::Kind;
use myproto::containerd::types::Mount;

use super::{Snapshotter, dirs};
use crate::error::{Error, Result};

pub struct Overlay {
    dir: PathBuf,
    /// `index=off` where the kernel has the option (as containerd does): the index would
    /// tie each lower directory to one upper and refuse reuse.
    index_off: bool,
}

impl Overlay {
    pub fn new(root: &Path) -> Result<Overlay> {
        let dir = root.join("snapshots/overlayfs/snapshots");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        Ok(Overlay {
            dir,
            index_off: Path::new("/sys/module/overlay/parameters/index").exists(),
        })
    }

    fn fs(&self, id: u64) -> String {
        self.dir
            .join(id.to_string())
            .join("fs")
            .display()
            .to_string()
    }
}

impl Snapshotter for Overlay {
    fn name(&self) -> &'static str {
        "overlayfs"
    }

    fn base(&self) -> &Path {
        &self.dir
    }

    fn create(&self, id: u64, kind: Kind, parents: &[u64]) -> Result<()> {
        dirs::create(&self.dir, id, |tmp| {
            let fs = tmp.join("fs");
            std::fs::create_dir(&fs).map_err(|e| Error::io("creating", &fs, e))?;
            if kind == Kind::Active {
                let work = tmp.join("work");
                std::fs::create_dir(&work).map_err(|e| Error::io("creating", &work, e))?;
                std::fs::set_permissions(
                    &work,
                    std::os::unix::fs::PermissionsExt::from_mode(0o711),
                )
                .map_err(|e| Error::io("chmod", &work, e))?;
            }
            // The merged root takes the upper's owner: start from the parent's.
            if let Some(p) = parents.first() {
                let meta = std::fs::metadata(self.fs(*p))
                    .map_err(|e| Error::io("stat", self.fs(*p), e))?;
                std::os::unix::fs::lchown(
                    &fs,
                    Some(std::os::unix::fs::MetadataExt::uid(&meta)),
                    Some(std::os::unix::fs::MetadataExt::gid(&meta)),
                )
                .map_err(|e| Error::io("chown", &fs, e))?;
            }
            Ok(())
        })
    }

    fn mounts(&self, id: u64, kind: Kind, parents: &[u64]) -> Vec<Mount> {
        let bind = |source: String, mode: &str| {
            vec![Mount {
                r#type: "bind".into(),
                source,
                target: String::new(),
                options: vec![mode.into(), "rbind".into()],
            }]
        };
        if parents.is_empty() {
            // overlay needs a lower directory: a lone layer is its own directory.
            let mode = if kind == Kind::View { "ro" } else { "rw" };
            return bind(self.fs(id), mode);
        }
        let mut options = Vec::new();
        if self.index_off {
            options.push("index=off".to_string());
        }
        if kind == Kind::Active {
            options.push(format!(
                "workdir={}",
                self.dir.join(id.to_string()).join("work").display()
            ));
            options.push(format!("upperdir={}", self.fs(id)));
        } else if parents.len() == 1 {
            return bind(self.fs(parents[0]), "ro");
        }
        // Nearest parent first: overlay searches lowerdir left to right.
        let lower: Vec<String> = parents.iter().map(|p| self.fs(*p)).collect();
        options.push(format!("lowerdir={}", lower.join(":")));
        vec![Mount {
            r#type: "overlay".into(),
            source: "overlay".into(),
            target: String::new(),
            options,
        }]
    }

    fn usage_dir(&self, id: u64) -> PathBuf {
        PathBuf::from(self.fs(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_shapes_follow_containerd() {
        let t = tempfile::tempdir().unwrap();
        let o = Overlay::new(t.path()).unwrap();
        let d = t.path().join("snapshots/overlayfs/snapshots");
        let fs = |id: u64| d.join(id.to_string()).join("fs").display().to_string();
        let m = o.mounts(1, Kind::Active, &[]);
        assert_eq!((m[0].r#type.as_str(), m[0].source.clone()), ("bind", fs(1)));
        assert_eq!(m[0].options, ["rw", "rbind"]);
        assert_eq!(o.mounts(1, Kind::View, &[])[0].options, ["ro", "rbind"]);
        let m = o.mounts(3, Kind::View, &[2]);
        assert_eq!((m[0].r#type.as_str(), m[0].source.clone()), ("bind", fs(2)));
        assert_eq!(m[0].options, ["ro", "rbind"]);
        let m = o.mounts(3, Kind::Active, &[2, 1]);
        assert_eq!(m[0].r#type, "overlay");
        let opts: Vec<&str> = m[0]
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| *o != "index=off")
            .collect();
        assert_eq!(
            opts,
            [
                format!("workdir={}", d.join("3/work").display()).as_str(),
                format!("upperdir={}", fs(3)).as_str(),
                format!("lowerdir={}:{}", fs(2), fs(1)).as_str(),
            ]
        );
        let m = o.mounts(4, Kind::View, &[2, 1]);
        assert_eq!(
            m[0].options.last().unwrap(),
            &format!("lowerdir={}:{}", fs(2), fs(1))
        );
        o.create(5, Kind::Active, &[]).unwrap();
        assert!(d.join("5/fs").is_dir() && d.join("5/work").is_dir());
        assert_eq!(o.ids(), vec![5]);
        o.remove(5).unwrap();
        assert!(o.ids().is_empty());
    }
}
