//! Everything that can make myinit give up, with the exit code tini uses for it.

use std::io;

/// Why myinit could not parse its command line or supervise its child.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag that is not one of tini's (getopt's wording).
    #[error("invalid option -- '{0}'")]
    UnknownOption(char),

    /// `-p` or `-e` as the last argument (getopt's wording).
    #[error("option requires an argument -- '{0}'")]
    MissingArgument(char),

    /// `-p` names no signal tini knows (tini's wording).
    #[error("Not a valid option for -p: {0}")]
    InvalidSignal(String),

    /// `-e` is not a number from 0 to 255 (tini's wording).
    #[error("Not a valid option for -e: {0}")]
    InvalidExitCode(String),

    /// Nothing left to run once the flags are consumed.
    #[error("no program given")]
    NoProgram,

    /// An argument cannot be passed to exec (it holds a NUL byte).
    #[error("argument {0:?} contains a NUL byte")]
    NulInArgument(String),

    /// A system call failed where myinit cannot carry on.
    #[error("{call} failed: {}", describe(source))]
    Sys {
        call: &'static str,
        #[source]
        source: io::Error,
    },

    /// waitpid reported the main child neither exited nor killed.
    #[error("Main child exited for unknown reason")]
    UnknownChildStatus,
}

impl Error {
    /// Captures `errno` right after a failed libc call.
    pub(crate) fn last_os(call: &'static str) -> Self {
        Error::Sys {
            call,
            source: io::Error::last_os_error(),
        }
    }

    /// Whether tini answers this with its usage text (getopt errors and a
    /// missing program) rather than a single `[FATAL ...]` line.
    pub fn wants_usage(&self) -> bool {
        matches!(
            self,
            Error::UnknownOption(_) | Error::MissingArgument(_) | Error::NoProgram
        )
    }
}

/// The C library's text for an OS error, without Rust's " (os error N)" suffix, so
/// that messages read like tini's.
pub(crate) fn describe(err: &io::Error) -> String {
    let Some(errno) = err.raw_os_error() else {
        return err.to_string();
    };
    let mut buf = [0u8; 128];
    // SAFETY: the buffer and its length are valid; the XSI strerror_r that the libc
    // crate binds NUL-terminates within it on success.
    let ok = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) } == 0;
    if !ok {
        return err.to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_like_strerror() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(describe(&err), "No such file or directory");
        let sys = Error::Sys {
            call: "fork",
            source: io::Error::from_raw_os_error(libc::EAGAIN),
        };
        assert_eq!(
            sys.to_string(),
            "fork failed: Resource temporarily unavailable"
        );
    }
}
