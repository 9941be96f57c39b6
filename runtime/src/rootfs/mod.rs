//! The container's root filesystem: mounts, devices, the switch of root, and the
//! read-only and masked paths. Runs in the container's init, in its new mount namespace.

pub mod devices;
pub mod mounts;
pub mod options;
pub mod resolve;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use crate::error::{ErrnoContext, Error, Result};
use crate::spec::Spec;
pub use mounts::MountContext;
pub use options::propagation_flag;
use resolve::{Create, fd_path, open_in_root};

/// Everything before the root switch: propagation, the rootfs bind, `mounts[]`, /dev.
pub fn prepare(spec: &Spec, rootfs: &Path, ctx: &MountContext) -> Result<()> {
    let linux = spec.linux();
    // runtime-spec: config-linux.md#rootfs-mount-propagation; runc's default is rslave, so
    // nothing mounted in the container propagates back to the host.
    let prop = match &linux.rootfs_propagation {
        Some(p) => propagation_flag(p).ok_or_else(|| {
            Error::config("linux.rootfsPropagation", format!("unknown value {p:?}"))
        })?,
        None => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    mount(None::<&str>, "/", None::<&str>, prop, None::<&str>)
        .ctx(|| format!("setting propagation {prop:?} on /"))?;
    // pivot_root refuses a new root whose parent mount is shared.
    make_parent_mount_private(rootfs)?;
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| format!("bind mounting the rootfs {}", rootfs.display()))?;
    let root = open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening rootfs {}", rootfs.display()))?;
    for (i, m) in spec.mounts.iter().enumerate() {
        mounts::mount_entry(root.as_fd(), m, i, ctx)?;
    }
    let own_dev = spec.mounts.iter().any(|m| {
        m.destination.trim_end_matches('/') == "/dev"
            && m.typ.as_deref() != Some("bind")
            && !m.options.iter().any(|o| o == "bind" || o == "rbind")
    });
    if own_dev {
        for d in devices::default_devices()
            .iter()
            .chain(linux.devices.iter())
        {
            devices::create_device(root.as_fd(), d)?;
        }
        devices::create_symlinks(root.as_fd())?;
    }
    Ok(())
}

/// Makes the mount that holds `rootfs` private if it is shared.
fn make_parent_mount_private(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading", "/proc/self/mountinfo", e))?;
    let mut best: Option<(&str, bool)> = None;
    for line in info.lines() {
        let Some((pre, _)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = pre.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        if rootfs.starts_with(mp) && best.is_none_or(|(b, _)| mp.len() >= b.len()) {
            let shared = fields[6..].iter().any(|f| f.starts_with("shared:"));
            best = Some((mp, shared));
        }
    }
    if let Some((mp, true)) = best {
        mount(
            None::<&str>,
            mp,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .ctx(|| format!("making {mp} private"))?;
    }
    Ok(())
}

/// Makes `rootfs` the root of the mount namespace and detaches the old root.
pub fn pivot(rootfs: &Path) -> Result<()> {
    let old = open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "opening the old root".into())?;
    let new = open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening rootfs {}", rootfs.display()))?;
    fchdir(new.as_fd()).ctx(|| "entering the rootfs".into())?;
    // pivot_root(".", ".") stacks the old root under the new one without needing a
    // directory for it inside the container.
    pivot_root(".", ".").ctx(|| format!("pivot_root to {}", rootfs.display()))?;
    fchdir(old.as_fd()).ctx(|| "entering the old root".into())?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| "making the old root a slave".into())?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detaching the old root".into())?;
    chdir("/").ctx(|| "chdir /".into())
}

/// `--no-pivot`: move the rootfs over / and chroot into it (for roots on a ramdisk,
/// where pivot_root is impossible). Weaker isolation: the old root stays reachable to
/// a process that can escape a chroot.
pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).ctx(|| format!("chdir {}", rootfs.display()))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .ctx(|| "moving the rootfs to /".into())?;
    chroot(".").ctx(|| "chroot".into())?;
    chdir("/").ctx(|| "chdir /".into())
}

fn open_root() -> Result<OwnedFd> {
    open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "opening /".into())
}

/// Applies `rootfsPropagation` to the new root; it can only be done once the root is
/// in place, as pivot_root needed the old root's parent private.
pub fn apply_root_propagation(spec: &Spec) -> Result<()> {
    if let Some(p) = &spec.linux().rootfs_propagation {
        let flag = propagation_flag(p).ok_or_else(|| {
            Error::config("linux.rootfsPropagation", format!("unknown value {p:?}"))
        })?;
        mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
            .ctx(|| format!("setting rootfsPropagation {p} on /"))?;
    }
    Ok(())
}

/// `linux.readonlyPaths`: each bind-mounted on itself read-only; missing ones skipped.
pub fn readonly_paths(spec: &Spec) -> Result<()> {
    let root = open_root()?;
    for p in &spec.linux().readonly_paths {
        let target = match open_in_root(root.as_fd(), Path::new(p), Create::Nothing) {
            Ok(t) => t,
            Err(Error::Sys {
                source: Errno::ENOENT,
                ..
            }) => continue,
            Err(e) => return Err(e),
        };
        mount(
            Some(fd_path(&target).as_str()),
            fd_path(&target).as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .ctx(|| format!("bind mounting readonly path {p}"))?;
        let target = open_in_root(root.as_fd(), Path::new(p), Create::Nothing)?;
        mounts::remount_bind(&target, MsFlags::MS_RDONLY | MsFlags::MS_REC, Path::new(p))?;
    }
    Ok(())
}

/// `linux.maskedPaths`: directories covered by an empty read-only tmpfs, files by
/// /dev/null; missing ones skipped.
pub fn masked_paths(spec: &Spec) -> Result<()> {
    let masked = &spec.linux().masked_paths;
    if masked.is_empty() {
        return Ok(());
    }
    let root = open_root()?;
    // Only a real /dev/null may be bound over a path (a container could have made
    // /dev/null something else; CVE-2025-31133).
    let null = open(
        "/dev/null",
        OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .ctx(|| "opening /dev/null".into())?;
    let st = nix::sys::stat::fstat(null.as_fd()).ctx(|| "stat /dev/null".into())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(Error::Child(
            "/dev/null in the container is not the null device; refusing to mask paths with it"
                .into(),
        ));
    }
    for p in masked {
        let target = match open_in_root(root.as_fd(), Path::new(p), Create::Nothing) {
            Ok(t) => t,
            Err(Error::Sys {
                source: Errno::ENOENT,
                ..
            }) => continue,
            Err(e) => return Err(e),
        };
        let is_dir = nix::sys::stat::fstat(target.as_fd())
            .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            .ctx(|| format!("stat {p}"))?;
        let res = if is_dir {
            mount(
                Some("tmpfs"),
                fd_path(&target).as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some(fd_path(&null).as_str()),
                fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.ctx(|| format!("masking {p}"))?;
    }
    Ok(())
}

/// `root.readonly`: remount / read-only, keeping its other flags.
pub fn remount_root_readonly() -> Result<()> {
    let root = open_root()?;
    mounts::remount_bind(&root, MsFlags::MS_RDONLY, Path::new("/"))
}
