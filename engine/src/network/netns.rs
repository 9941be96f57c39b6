//! Persistent network namespaces for containers: made with `unshare(2)` and entered with
//! `setns(2)`, each time on a throw-away thread, and kept alive by a bind mount on a file.
//!
//! A network namespace lives as long as something refers to it. Bind-mounting
//! `/proc/thread-self/ns/net` onto a file (as `ip netns add` and Docker do) gives it a
//! name that outlives the thread that made it, that the runtime can be handed
//! (`linux.namespaces[].path` in the OCI spec), and that survives a restart of the engine.
//!
//! Namespaces are per thread. A tokio worker or the caller's thread must never switch
//! namespace: the next task scheduled there would open its sockets in the container's
//! network. So every switch happens on a fresh `std::thread` that ends right after.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::thread;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::statfs::{NSFS_MAGIC, statfs};

use super::link;

/// The calling thread's own network namespace, as a file that can be bind-mounted.
/// `thread-self`, not `self`: `/proc/self` names the thread group leader, whose namespace
/// is the host's, not the one this thread just unshared.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// How many stacked mounts [`remove`] takes off one path before giving up; more than one
/// only happens when two creations raced on the same path.
const MAX_STACKED_MOUNTS: usize = 8;

/// Creates a new network namespace and makes it persistent by bind-mounting it on `path`
/// (parent directories and the empty mount-point file are created as needed), then brings
/// its `lo` up, because every container expects a working loopback.
///
/// The `unshare(CLONE_NEWNET)` happens on a fresh thread, so the caller never changes
/// namespace. On failure nothing is left behind: the mount is undone and a file this call
/// created is unlinked. A `path` that already holds a namespace is refused with
/// [`io::ErrorKind::AlreadyExists`], never mounted over (that would leak the first one).
pub fn create(path: &Path) -> io::Result<()> {
    if is_mounted_ns(path) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("network namespace {} already exists", path.display()),
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| annotate(e, format!("creating {}", parent.display())))?;
    }
    // The mount point: an empty, read-only file (nothing is ever written to it).
    let created = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)
    {
        Ok(_) => true,
        // A file left by an earlier run (not a mount, checked above) is reused.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(annotate(e, format!("creating {}", path.display()))),
    };

    let target = path.to_path_buf();
    let made = thread::Builder::new()
        .name("netns-create".into())
        .spawn(move || -> io::Result<()> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| annotate(e.into(), "unshare(CLONE_NEWNET)".into()))?;
            mount(
                Some(THREAD_NETNS),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| {
                annotate(
                    e.into(),
                    format!("bind-mounting {THREAD_NETNS} on {}", target.display()),
                )
            })?;
            // Still inside the new namespace: a netlink socket opened here talks to it.
            link::bring_up_in_current_netns("lo").map_err(|e| {
                let kind = e.errno().map_or(io::ErrorKind::Other, |n| {
                    io::Error::from_raw_os_error(n).kind()
                });
                io::Error::new(kind, format!("bringing lo up in {}: {e}", target.display()))
            })
        })
        .map_err(|e| annotate(e, "starting a thread to create a network namespace".into()))
        .and_then(|t| {
            t.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });

    if let Err(e) = made {
        undo_create(path, created);
        return Err(e);
    }
    tracing::debug!(path = %path.display(), "created network namespace");
    Ok(())
}

/// Takes back what a failed [`create`] did. Errors are only logged: the caller gets the
/// error that made creation fail, which says more than a failed clean-up.
fn undo_create(path: &Path, created: bool) {
    // Not mounted before `create` started, so any nsfs mount here is the one it made.
    if is_mounted_ns(path)
        && let Err(e) = umount2(path, MntFlags::MNT_DETACH)
    {
        tracing::warn!(path = %path.display(), error = %e, "unmounting a half-made network namespace");
    }
    if created && let Err(e) = fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "removing a half-made network namespace's file");
    }
}

/// Releases the namespace mounted on `path` and unlinks the file.
///
/// The unmount is lazy (`MNT_DETACH`), so a process still inside the namespace keeps it
/// alive until it exits while the name disappears now. A missing file is not an error
/// (removal is retried after crashes), and a file that is not a mount is just unlinked.
pub fn remove(path: &Path) -> io::Result<()> {
    for _ in 0..MAX_STACKED_MOUNTS {
        if !is_mounted_ns(path) {
            break;
        }
        match umount2(path, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            // Not a mount point after all (raced with another remove): nothing to undo.
            Err(Errno::EINVAL | Errno::ENOENT) => break,
            Err(e) => return Err(annotate(e.into(), format!("unmounting {}", path.display()))),
        }
    }
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(path = %path.display(), "removed network namespace");
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(annotate(e, format!("removing {}", path.display()))),
    }
}

/// Runs `f` inside the network namespace at `path` and returns its result.
///
/// `f` runs on a fresh thread that `setns()`es into the namespace and ends with `f`, so no
/// thread is ever left in a foreign namespace and the caller's thread is untouched. The
/// caller blocks until `f` returns: from async code call it through
/// `tokio::task::spawn_blocking`. Sockets `f` opens belong to the namespace and keep
/// working after the thread ends. A panic in `f` is resumed on the caller's thread, as if
/// `f` had been called directly.
pub fn run_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let ns = File::open(path)
        .map_err(|e| annotate(e, format!("opening network namespace {}", path.display())))?;
    let display = path.display().to_string();
    let thread = thread::Builder::new()
        .name("netns-run".into())
        .spawn(move || -> io::Result<T> {
            // EINVAL here means the file is not a network namespace.
            setns(&ns, CloneFlags::CLONE_NEWNET)
                .map_err(|e| annotate(e.into(), format!("entering network namespace {display}")))?;
            drop(ns);
            Ok(f())
        })
        .map_err(|e| annotate(e, "starting a thread to enter a network namespace".into()))?;
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Whether `path` is a mounted namespace file (its file system is nsfs). Used to tell a
/// live namespace from an empty mount-point file left by a crash when cleaning up.
pub fn is_mounted_ns(path: &Path) -> bool {
    statfs(path).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC)
}

/// Adds what was being done to an error's message, keeping its kind so callers can still
/// match on `NotFound`, `PermissionDenied` and the like.
fn annotate(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}
