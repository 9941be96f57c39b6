//! The `native` snapshotter: plain directories, each snapshot a full copy of its parent
//! (`<root>/snapshots/native/snapshots/<id>`), bind-mounted. Slower and bigger than
//! overlayfs, but works on any filesystem.

use std::path::{Path, PathBuf};

use myproto::containerd::services::snapshots::v1::Kind;
use myproto::containerd::types::Mount;

use super::{Snapshotter, dirs};
use crate::error::{Error, Result};

pub struct Native {
    dir: PathBuf,
}

impl Native {
    pub fn new(root: &Path) -> Result<Native> {
        let dir = root.join("snapshots/native/snapshots");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        Ok(Native { dir })
    }
}

impl Snapshotter for Native {
    fn name(&self) -> &'static str {
        "native"
    }

    fn base(&self) -> &Path {
        &self.dir
    }

    fn create(&self, id: u64, _kind: Kind, parents: &[u64]) -> Result<()> {
        dirs::create(&self.dir, id, |tmp| {
            if let Some(p) = parents.first() {
                let src = self.dir.join(p.to_string());
                crate::tree::copy_tree(&src, tmp).map_err(|e| Error::io("copying", &src, e))?;
            }
            Ok(())
        })
    }

    fn mounts(&self, id: u64, kind: Kind, _parents: &[u64]) -> Vec<Mount> {
        let mode = if kind == Kind::Active { "rw" } else { "ro" };
        vec![Mount {
            r#type: "bind".into(),
            source: self.dir.join(id.to_string()).display().to_string(),
            target: String::new(),
            options: vec![mode.into(), "rbind".into()],
        }]
    }

    fn usage_dir(&self, id: u64) -> PathBuf {
        self.dir.join(id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_start_as_copies() {
        let t = tempfile::tempdir().unwrap();
        let n = Native::new(t.path()).unwrap();
        n.create(1, Kind::Active, &[]).unwrap();
        let d = t.path().join("snapshots/native/snapshots");
        std::fs::write(d.join("1/file"), "x").unwrap();
        n.create(2, Kind::Active, &[1]).unwrap();
        assert_eq!(std::fs::read(d.join("2/file")).unwrap(), b"x");
        let m = n.mounts(2, Kind::View, &[1]);
        assert_eq!(m[0].options, ["ro", "rbind"]);
        assert_eq!(m[0].source, d.join("2").display().to_string());
    }
}
