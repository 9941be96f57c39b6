//! A process's stdio through FIFOs, as containerd's `cio` does it: three FIFOs in a
//! fresh private directory, their paths handed to the daemon (whose shim opens the other
//! ends), and copying between them and our own stdio.
//!
//! Copying runs on plain threads with blocking I/O: opening a FIFO blocks until its
//! peer opens it (which is what makes the shim's open succeed during `Tasks.Create`),
//! and a read of our stdin cannot be cancelled. Such a thread may stay blocked until
//! the process exits; nothing waits for it.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Our FIFO directories start with this, so cleanup never removes someone else's.
const DIR_PREFIX: &str = "myctr-";

/// The stdio paths a task or exec is created with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StdioPaths {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// Where a process's stdio goes.
#[derive(Debug)]
pub enum Stdio {
    /// Nothing (`--null-io`).
    Null,
    /// The shim writes output to a log URI (`--log-uri`); no input.
    LogUri(String),
    /// FIFOs that we copy to and from.
    Fifos(FifoSet),
}

/// Three FIFOs (two with a terminal) in a private directory.
#[derive(Debug)]
pub struct FifoSet {
    /// The directory we made, removed with the FIFOs; `None` for FIFOs we attach to.
    dir: Option<PathBuf>,
    stdin: Option<PathBuf>,
    stdout: Option<PathBuf>,
    stderr: Option<PathBuf>,
    terminal: bool,
}

impl Stdio {
    /// Stdio for process `id` (a container ID or an exec ID: the FIFOs are named after it).
    pub fn new(
        null_io: bool,
        log_uri: Option<&str>,
        fifo_root: &Path,
        id: &str,
        terminal: bool,
    ) -> Result<Stdio> {
        match (null_io, log_uri) {
            (true, _) if terminal => Err(Error::Usage("tty and null-io cannot be used together")),
            (true, Some(_)) => Err(Error::Usage("null-io and log-uri cannot be used together")),
            (true, None) => Ok(Stdio::Null),
            (false, Some(_)) if terminal => Err(Error::Usage("can't use log-uri with tty")),
            (false, Some(uri)) => Ok(Stdio::LogUri(uri.to_owned())),
            (false, None) => FifoSet::create(fifo_root, id, terminal).map(Stdio::Fifos),
        }
    }

    pub fn paths(&self) -> StdioPaths {
        match self {
            Stdio::Null => StdioPaths::default(),
            Stdio::LogUri(uri) => StdioPaths {
                stdin: String::new(),
                stdout: uri.clone(),
                stderr: uri.clone(),
                terminal: false,
            },
            Stdio::Fifos(set) => {
                let text = |p: &Option<PathBuf>| {
                    p.as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                };
                StdioPaths {
                    stdin: text(&set.stdin),
                    stdout: text(&set.stdout),
                    stderr: text(&set.stderr),
                    terminal: set.terminal,
                }
            }
        }
    }

    /// Starts copying. `stdin`: whether to copy our stdin in; without it (a detached
    /// process) the output FIFOs are only held open, so the shim's opens succeed and
    /// nothing is read after we are gone.
    pub fn start(&self, copy: bool, stdin: bool) -> Result<Copying> {
        let mut copying = Copying::default();
        let Stdio::Fifos(set) = self else {
            return Ok(copying);
        };
        let outputs = [
            (&set.stdout, libc::STDOUT_FILENO),
            (&set.stderr, libc::STDERR_FILENO),
        ];
        for (path, target) in outputs {
            let Some(path) = path else { continue };
            // Opened here, before anything can write to the process's stdin: a FIFO's
            // buffered output is lost when its last descriptor closes, and a quick
            // process's shim may close its end before a thread got around to opening.
            let fifo = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .map_err(|source| Error::File {
                    what: "opening FIFO",
                    path: path.clone(),
                    source,
                })?;
            if copy {
                copying.outputs.push(spawn_output(fifo, target));
            } else {
                copying.held.push(fifo);
            }
        }
        if copy
            && stdin
            && let Some(path) = &set.stdin
        {
            copying.stdin_closed = Some(spawn_stdin(path.clone()));
        }
        Ok(copying)
    }

    /// Removes FIFOs we made (after the process is gone or detached from for good).
    pub fn remove(&self) {
        if let Stdio::Fifos(set) = self
            && let Some(dir) = &set.dir
        {
            for path in [&set.stdin, &set.stdout, &set.stderr].into_iter().flatten() {
                let _ = std::fs::remove_file(path);
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl FifoSet {
    fn create(root: &Path, id: &str, terminal: bool) -> Result<FifoSet> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|source| Error::File {
                what: "creating FIFO directory",
                path: root.to_owned(),
                source,
            })?;
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(root)
            .map_err(|source| Error::File {
                what: "creating FIFO directory in",
                path: root.to_owned(),
                source,
            })?
            .keep();
        let set = FifoSet {
            stdin: Some(dir.join(format!("{id}-stdin"))),
            stdout: Some(dir.join(format!("{id}-stdout"))),
            stderr: (!terminal).then(|| dir.join(format!("{id}-stderr"))),
            dir: Some(dir),
            terminal,
        };
        let made = [&set.stdin, &set.stdout, &set.stderr]
            .into_iter()
            .flatten()
            .try_for_each(|path| {
                mkfifo(path).map_err(|source| Error::File {
                    what: "creating FIFO",
                    path: path.clone(),
                    source,
                })
            });
        match made {
            Ok(()) => Ok(set),
            Err(e) => {
                Stdio::Fifos(set).remove();
                Err(e)
            }
        }
    }

    /// The FIFOs of a running process (from `Tasks.Get`), to attach to.
    pub fn existing(paths: &StdioPaths) -> FifoSet {
        let fifo = |p: &str| (!p.is_empty() && is_fifo(Path::new(p))).then(|| PathBuf::from(p));
        FifoSet {
            dir: None,
            stdin: fifo(&paths.stdin),
            stdout: fifo(&paths.stdout),
            stderr: if paths.terminal {
                None
            } else {
                fifo(&paths.stderr)
            },
            terminal: paths.terminal,
        }
    }
}

fn mkfifo(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o700) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Removes the FIFOs of a deleted process if they are ours (in a `myctr-` directory),
/// then their directory once empty — as containerd's client does for its own.
pub fn remove_fifos(paths: &StdioPaths) {
    let mut dirs = Vec::new();
    for path in [&paths.stdin, &paths.stdout, &paths.stderr] {
        let path = Path::new(path);
        let Some(dir) = path.parent() else { continue };
        let ours = dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(DIR_PREFIX));
        if ours && is_fifo(path) {
            let _ = std::fs::remove_file(path);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}

/// The copying in progress.
#[derive(Default)]
pub struct Copying {
    outputs: Vec<oneshot::Receiver<()>>,
    /// Fires when our stdin reached its end and the stdin FIFO was closed.
    pub stdin_closed: Option<oneshot::Receiver<()>>,
    /// Output FIFOs held open, unread, for a detached process.
    held: Vec<File>,
}

impl Copying {
    /// Waits up to `limit` for the output FIFOs to reach their end (the shim closes
    /// them once the process and everything holding its stdio is gone). True if they did.
    pub async fn wait_output(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut all = true;
        for done in &mut self.outputs {
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                all = false;
            }
        }
        if all {
            self.outputs.clear();
        }
        all
    }
}

/// Copies `fifo` (opened non-blocking for reading) to our descriptor `target` until
/// the FIFO's end: the moment the writers that came have all gone. Linux reports that
/// as POLLHUP only once a writer has been seen since our open, so waiting for the shim
/// to open its end needs nothing more than `poll`.
fn spawn_output(mut fifo: File, target: RawFd) -> oneshot::Receiver<()> {
    let (done, rx) = oneshot::channel();
    std::thread::spawn(move || {
        // SAFETY: our stdout/stderr, borrowed for the life of the process; never closed here.
        let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(target) });
        let mut buf = vec![0u8; 32 * 1024];
        let mut draining = false;
        loop {
            let mut pfd = libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            match fifo.read(&mut buf) {
                // No data and no writer: poll only wakes us then after a writer has been.
                Ok(0) => break,
                Ok(n) => {
                    if !draining && out.write_all(&buf[..n]).is_err() {
                        // Our side is gone: keep draining so the process is not blocked.
                        draining = true;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
    rx
}

/// Copies our stdin into FIFO `path`; closes the FIFO at our stdin's end.
fn spawn_stdin(path: PathBuf) -> oneshot::Receiver<()> {
    let (closed, rx) = oneshot::channel();
    std::thread::spawn(move || {
        // Blocks until the shim opens the FIFO for reading.
        if let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&path) {
            // SAFETY: our stdin, borrowed for the life of the process; never closed here.
            let mut input = ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDIN_FILENO) });
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if fifo.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        let _ = closed.send(());
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_set_lives_in_a_private_directory_and_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let stdio = Stdio::new(false, None, root.path(), "c1", false).unwrap();
        let paths = stdio.paths();
        assert!(paths.stdin.ends_with("/c1-stdin"));
        assert!(paths.stdout.ends_with("/c1-stdout"));
        assert!(paths.stderr.ends_with("/c1-stderr"));
        let dir = Path::new(&paths.stdin).parent().unwrap().to_owned();
        assert!(
            dir.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("myctr-")
        );
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for p in [&paths.stdin, &paths.stdout, &paths.stderr] {
            assert!(is_fifo(Path::new(p)), "{p}");
        }
        stdio.remove();
        assert!(!dir.exists());
    }

    #[test]
    fn terminal_has_no_stderr_and_flags_conflict() {
        let root = tempfile::tempdir().unwrap();
        let stdio = Stdio::new(false, None, root.path(), "c1", true).unwrap();
        let paths = stdio.paths();
        assert!(paths.terminal);
        assert!(paths.stderr.is_empty());
        stdio.remove();
        assert!(Stdio::new(true, None, root.path(), "c", true).is_err());
        assert!(Stdio::new(false, Some("file:///x"), root.path(), "c", true).is_err());
        assert_eq!(
            Stdio::new(false, Some("file:///x"), root.path(), "c", false)
                .unwrap()
                .paths()
                .stdout,
            "file:///x"
        );
        assert_eq!(
            Stdio::new(true, None, root.path(), "c", false)
                .unwrap()
                .paths(),
            StdioPaths::default()
        );
    }

    fn open_reader(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    /// Copies `fifo` into a pipe through `spawn_output` and returns what came out.
    fn copied(fifo: File, write: impl FnOnce()) -> String {
        let mut fds = [0; 2];
        // SAFETY: a two-element array for pipe2.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors are fresh and owned here.
        let (mut read, write_end) =
            unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        let done = spawn_output(fifo, write_end.as_raw_fd());
        write();
        done.blocking_recv().unwrap();
        drop(write_end);
        let mut out = String::new();
        read.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn output_written_and_closed_before_copying_starts_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        mkfifo(&path).unwrap();
        let fifo = open_reader(&path);
        let mut writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        writer.write_all(b"early\n").unwrap();
        drop(writer);
        assert_eq!(copied(fifo, || {}), "early\n");
    }

    #[test]
    fn output_copying_waits_for_a_writer_to_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        mkfifo(&path).unwrap();
        let fifo = open_reader(&path);
        let late = path.clone();
        let out = copied(fifo, move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut writer = std::fs::OpenOptions::new().write(true).open(&late).unwrap();
            writer.write_all(b"late\n").unwrap();
        });
        assert_eq!(out, "late\n");
    }

    #[test]
    fn remove_fifos_spares_what_is_not_ours() {
        let root = tempfile::tempdir().unwrap();
        let theirs = root.path().join("other");
        std::fs::create_dir(&theirs).unwrap();
        mkfifo(&theirs.join("x-stdout")).unwrap();
        let stdio = Stdio::new(false, None, root.path(), "c1", false).unwrap();
        let mut paths = stdio.paths();
        let dir = Path::new(&paths.stdin).parent().unwrap().to_owned();
        paths.stderr = theirs.join("x-stdout").display().to_string();
        remove_fifos(&paths);
        assert!(theirs.join("x-stdout").exists());
        // Our stderr FIFO is still there, so our directory stays.
        assert!(dir.exists());
        stdio.remove();
        assert!(!dir.exists());
    }
}
