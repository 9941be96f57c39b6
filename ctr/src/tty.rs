//! The local terminal of an interactive (`-t`) session: raw mode, restored however the
//! session ends, and its size.

use std::os::fd::RawFd;

use crate::error::{Error, Result};

/// The terminal we run on, in raw mode until dropped.
pub struct Terminal {
    fd: RawFd,
    saved: libc::termios,
}

impl Terminal {
    /// Finds the terminal on stdin, stdout or stderr (as containerd's `console.Current`
    /// does) and puts it in raw mode: keys, ^C included, go to the container.
    pub fn raw() -> Result<Terminal> {
        let fd = [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO]
            .into_iter()
            // SAFETY: isatty only inspects the descriptor.
            .find(|fd| unsafe { libc::isatty(*fd) } == 1)
            .ok_or(Error::NotATerminal)?;
        // SAFETY: termios is plain data, filled in by tcgetattr.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is a terminal; saved is a valid termios.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(Error::Terminal(std::io::Error::last_os_error()));
        }
        let mut raw = saved;
        // SAFETY: raw is a valid termios.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: fd is a terminal; raw is a valid termios.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return Err(Error::Terminal(std::io::Error::last_os_error()));
        }
        Ok(Terminal { fd, saved })
    }

    /// The size as (columns, rows), if the terminal knows it.
    pub fn size(&self) -> Option<(u16, u16)> {
        // SAFETY: winsize is plain data, filled in by the ioctl.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes a winsize.
        let rc = unsafe { libc::ioctl(self.fd, libc::TIOCGWINSZ, &mut ws) };
        (rc == 0 && (ws.ws_col > 0 || ws.ws_row > 0)).then_some((ws.ws_col, ws.ws_row))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in raw().
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}
