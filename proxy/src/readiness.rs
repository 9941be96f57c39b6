//! The start-up report docker-proxy gives its parent on fd 3: `0\n` once it is
//! forwarding, or `1\n<error>` when it cannot, then the pipe is closed.

use std::fmt::Display;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};

const STATUS_FD: i32 = 3;

/// fd 3, if the parent left it open.
pub struct StatusPipe(Option<std::fs::File>);

impl StatusPipe {
    /// Takes fd 3 when it is open. Call it first thing in `main`: once this process
    /// opens any file of its own, fd 3 might be that file.
    pub fn claim() -> Self {
        // SAFETY: F_GETFD on a number that may or may not be an open descriptor.
        let open = unsafe { libc::fcntl(STATUS_FD, libc::F_GETFD) } != -1;
        if !open {
            return StatusPipe(None);
        }
        // SAFETY: fd 3 is open and, per docker-proxy's contract, ours to use and close.
        let fd = unsafe { OwnedFd::from_raw_fd(STATUS_FD) };
        // Best effort, as docker-proxy: never hand it to a child, and never block on a
        // parent that does not read.
        let _ = fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        let _ = fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        StatusPipe(Some(std::fs::File::from(fd)))
    }

    /// Reports that the proxy is listening, and closes fd 3.
    pub fn ready(self) {
        self.send(b"0\n");
    }

    /// Reports why the proxy could not start, and closes fd 3.
    pub fn failed(self, err: &dyn Display) {
        self.send(format!("1\n{err}").as_bytes());
    }

    fn send(self, message: &[u8]) {
        if let Some(mut file) = self.0 {
            // The parent may have gone or closed its end; there is nobody to tell.
            let _ = file.write_all(message);
        }
    }
}
