//! The container's root filesystem mounts (Tasks.Create's `rootfs`, e.g. an overlay from
//! the snapshotter), mounted on `<bundle>/rootfs` and unmounted when the task goes.

use std::path::Path;

use myproto::containerd::types::Mount;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::error::{Error, Result};

/// Splits mount options into flags and filesystem data.
pub fn parse_options(options: &[String]) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => flags -= MsFlags::MS_RDONLY,
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            "remount" => flags |= MsFlags::MS_REMOUNT,
            "defaults" => {}
            other => data.push(other.to_string()),
        }
    }
    (flags, data.join(","))
}

/// Mounts each entry on `target` in order (later ones stack on earlier ones).
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<()> {
    std::fs::create_dir_all(target).map_err(|e| Error::io("creating", target, e))?;
    for (i, m) in mounts.iter().enumerate() {
        let (flags, data) = parse_options(&m.options);
        let typ = if flags.contains(MsFlags::MS_BIND) {
            None
        } else {
            Some(m.r#type.as_str())
        };
        let res = mount(
            Some(m.source.as_str()),
            target,
            typ,
            flags - MsFlags::MS_RDONLY,
            (!data.is_empty()).then_some(data.as_str()),
        );
        if let Err(e) = res {
            for _ in 0..i {
                let _ = umount2(target, MntFlags::MNT_DETACH);
            }
            return Err(Error::sys(
                format!(
                    "mounting {} ({}) on {}",
                    m.source,
                    m.r#type,
                    target.display()
                ),
                e,
            ));
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            let _ = mount(
                None::<&str>,
                target,
                None::<&str>,
                flags | MsFlags::MS_REMOUNT,
                None::<&str>,
            );
        }
    }
    Ok(())
}

/// Unmounts everything stacked on `target`.
pub fn unmount(target: &Path) {
    while umount2(target, MntFlags::MNT_DETACH).is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_options() {
        let (flags, data) = parse_options(&[
            "ro".into(),
            "lowerdir=/a:/b".into(),
            "upperdir=/u".into(),
            "workdir=/w".into(),
        ]);
        assert_eq!(flags, MsFlags::MS_RDONLY);
        assert_eq!(data, "lowerdir=/a:/b,upperdir=/u,workdir=/w");
        let (flags, data) = parse_options(&["rbind".into(), "ro".into()]);
        assert_eq!(
            flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert!(data.is_empty());
    }
}
