//! The user's terminal and signals: raw mode while a container owns the terminal
//! (restored when the guard drops, on every path out), its size for resizes, and a
//! signal thread that turns SIGWINCH into resizes and proxies other signals to the
//! container.

use std::io;
use std::os::fd::RawFd;

pub const STDIN: RawFd = 0;
pub const STDOUT: RawFd = 1;

pub fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// The terminal's size as (rows, columns), if `fd` is a terminal with a size.
pub fn size(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// A terminal in raw mode; the saved settings come back on drop.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Puts `fd` in raw mode (no echo, no line editing, no signals from keys: ctrl-c
    /// goes to the container as a byte).
    pub fn enable(fd: RawFd) -> io::Result<RawMode> {
        // SAFETY: tcgetattr/tcsetattr on a termios we own.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSANOW, &raw) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the settings read in enable.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Signals a non-TTY `run`/`attach` forwards to the container (docker's sig-proxy);
/// SIGCHLD, SIGPIPE and SIGWINCH concern only us.
pub const PROXIED: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGTERM,
    libc::SIGALRM,
];

/// Blocks `signals` in this thread (and every thread it spawns afterwards) and starts a
/// thread that receives them with `sigwait` and hands them to `handler`. Call it before
/// spawning other threads, so that no thread takes these signals the default way.
pub fn watch_signals(
    signals: &[libc::c_int],
    mut handler: impl FnMut(libc::c_int) + Send + 'static,
) {
    if signals.is_empty() {
        return;
    }
    // SAFETY: building and installing a signal mask for this thread.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait on the set blocked above.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            handler(sig);
        }
    });
}
