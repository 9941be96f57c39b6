//! Performing the spec's `mounts[]` inside the new mount namespace, before pivot_root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, statvfs};

use crate::cgroups::CgroupPaths;
use crate::error::{ErrnoContext, Error, Result};
use crate::rootfs::options::{self, MountOptions};
use crate::rootfs::resolve::{Create, fd_path, open_in_root};
use crate::spec::Mount;

/// What mounting needs to know about the container beyond the mount entry itself.
pub struct MountContext<'a> {
    pub bundle: &'a Path,
    pub cgroups: &'a CgroupPaths,
}

fn source_path(m: &Mount, bundle: &Path) -> PathBuf {
    let src = m.source.as_deref().unwrap_or("");
    let p = Path::new(src);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        bundle.join(p)
    }
}

pub fn mount_entry(
    root: BorrowedFd<'_>,
    m: &Mount,
    index: usize,
    ctx: &MountContext,
) -> Result<()> {
    let field = format!("mounts[{index}]");
    let opts = options::parse(&m.options, &format!("{field}.options"))?;
    let typ = m
        .typ
        .as_deref()
        .unwrap_or(if opts.is_bind() { "bind" } else { "" });
    let dest = Path::new(&m.destination);
    if opts.is_bind() || typ == "bind" {
        let mut opts = opts;
        opts.flags.insert(MsFlags::MS_BIND);
        return bind(root, &source_path(m, ctx.bundle), dest, &opts);
    }
    match typ {
        "cgroup" | "cgroup2" => mount_cgroup(root, dest, &opts, ctx),
        "" => Err(Error::config(
            format!("{field}.type"),
            "is required for a mount that is not a bind mount",
        )),
        _ => {
            let target = open_in_root(root, dest, Create::Dir)?;
            let src = m.source.as_deref().unwrap_or(typ);
            let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
            let res = mount(
                Some(src),
                fd_path(&target).as_str(),
                Some(typ),
                opts.flags,
                data,
            );
            match (res, typ) {
                (Ok(()), _) => {}
                // Without its own network namespace (and in a user namespace) sysfs cannot be
                // mounted; runc binds the host's instead.
                (Err(Errno::EPERM), "sysfs") => {
                    let mut o = opts.clone();
                    o.flags =
                        MsFlags::MS_BIND | MsFlags::MS_REC | (opts.flags & MsFlags::MS_RDONLY);
                    return bind(root, Path::new("/sys"), dest, &o);
                }
                (Err(Errno::EPERM), "mqueue") => {
                    let mut o = opts.clone();
                    o.flags = MsFlags::MS_BIND | MsFlags::MS_REC;
                    return bind(root, Path::new("/dev/mqueue"), dest, &o);
                }
                (Err(e), _) => {
                    return Err(Error::sys(
                        format!("mounting {typ} on {}", m.destination),
                        e,
                    ));
                }
            }
            if opts.propagation.is_empty() {
                return Ok(());
            }
            let mounted = open_in_root(root, dest, Create::Nothing)?;
            apply_propagation(&mounted, &opts, dest)
        }
    }
}

fn apply_propagation(target: &OwnedFd, opts: &MountOptions, dest: &Path) -> Result<()> {
    for p in &opts.propagation {
        mount(
            None::<&str>,
            fd_path(target).as_str(),
            None::<&str>,
            *p,
            None::<&str>,
        )
        .ctx(|| format!("setting propagation of {}", dest.display()))?;
    }
    Ok(())
}

/// Bind-mounts a host path into the container, then remounts for flags such as `ro`.
pub fn bind(root: BorrowedFd<'_>, source: &Path, dest: &Path, opts: &MountOptions) -> Result<()> {
    let src = nix::fcntl::open(
        source,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("opening bind mount source {}", source.display()))?;
    let is_dir = nix::sys::stat::fstat(src.as_fd())
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .ctx(|| format!("stat {}", source.display()))?;
    let target = open_in_root(root, dest, if is_dir { Create::Dir } else { Create::File })?;
    let flags = opts.flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
    mount(
        Some(fd_path(&src).as_str()),
        fd_path(&target).as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .ctx(|| format!("bind mounting {} on {}", source.display(), dest.display()))?;
    // Reopen: the descriptor still points at the covered directory, not the new mount.
    let target = open_in_root(root, dest, Create::Nothing)?;
    let extra = opts.bind_remount_flags();
    if !extra.is_empty() {
        remount_bind(&target, extra, dest)?;
    }
    apply_propagation(&target, opts, dest)
}

/// Remounts a bind mount with extra flags, keeping the flags the kernel locks
/// (nosuid, nodev, ... inherited from the source) when it insists.
pub fn remount_bind(target: &OwnedFd, extra: MsFlags, dest: &Path) -> Result<()> {
    let path = fd_path(target);
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(
        None::<&str>,
        path.as_str(),
        None::<&str>,
        base | extra,
        None::<&str>,
    ) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) => {
            let locked = statvfs(path.as_str())
                .map(|st| flags_from_statvfs(st.flags()))
                .ctx(|| format!("statvfs {}", dest.display()))?;
            mount(
                None::<&str>,
                path.as_str(),
                None::<&str>,
                base | extra | locked,
                None::<&str>,
            )
            .ctx(|| format!("remounting {} with {extra:?}", dest.display()))
        }
        Err(e) => Err(Error::sys(
            format!("remounting {} with {extra:?}", dest.display()),
            e,
        )),
    }
}

pub fn flags_from_statvfs(f: FsFlags) -> MsFlags {
    let mut m = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            m.insert(ms);
        }
    }
    m
}

/// `type: cgroup`: the container's own cgroups at the destination, as bind mounts of its
/// cgroup directories (read-only when the options say so). This gives the same view as a
/// fresh cgroupfs mount inside a cgroup namespace, and works before the init has joined its
/// cgroups (that migration waits out an RCU grace period, so it overlaps this setup), and
/// in user namespaces, where cgroup v1 cannot be mounted.
fn mount_cgroup(
    root: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
    ctx: &MountContext,
) -> Result<()> {
    let bind_flags = MountOptions {
        flags: MsFlags::MS_BIND | MsFlags::MS_REC | opts.flags,
        ..MountOptions::default()
    };
    if ctx.cgroups.v2 {
        let leaf = ctx
            .cgroups
            .unified
            .as_deref()
            .unwrap_or(Path::new("/sys/fs/cgroup"));
        bind(root, leaf, dest, &bind_flags)?;
        let mounted = open_in_root(root, dest, Create::Nothing)?;
        return apply_propagation(&mounted, opts, dest);
    }
    // v1: a tmpfs holding one directory per hierarchy.
    let flags = opts.flags - MsFlags::MS_RDONLY;
    let target = open_in_root(root, dest, Create::Dir)?;
    mount(
        Some("tmpfs"),
        fd_path(&target).as_str(),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .ctx(|| format!("mounting tmpfs on {}", dest.display()))?;
    let hierarchies = ctx
        .cgroups
        .v1
        .iter()
        .map(|(name, dir)| (name.strip_prefix("name=").unwrap_or(name).to_string(), dir))
        .chain(
            ctx.cgroups
                .unified
                .iter()
                .map(|u| ("unified".to_string(), u)),
        );
    for (dir_name, host_dir) in hierarchies {
        bind(root, host_dir, &dest.join(dir_name), &bind_flags)?;
    }
    let mounted = open_in_root(root, dest, Create::Nothing)?;
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            fd_path(&mounted).as_str(),
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
            None::<&str>,
        )
        .ctx(|| format!("remounting {} read-only", dest.display()))?;
    }
    apply_propagation(&mounted, opts, dest)
}
