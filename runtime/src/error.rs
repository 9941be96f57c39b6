//! Errors of the runtime library, each carrying what was being done when it failed.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container \"{0}\" does not exist")]
    NotFound(String),

    #[error("container with id \"{0}\" already exists")]
    AlreadyExists(String),

    #[error("invalid container id {0:?}: use letters, digits and _ + - . (not \".\" or \"..\")")]
    InvalidId(String),

    #[error("container \"{id}\" is {status}, {action} needs it {expected}")]
    WrongState {
        id: String,
        status: &'static str,
        action: &'static str,
        expected: &'static str,
    },

    #[error("config.json: {field}: {reason}")]
    InvalidConfig { field: String, reason: String },

    #[error("parsing {path}: {source}")]
    ParseConfig {
        path: PathBuf,
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{op}: {source}")]
    Sys {
        op: String,
        #[source]
        source: Errno,
    },

    #[error("cgroup {path}: {op}: {source}")]
    Cgroup {
        op: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("exec: {0:?}: executable file not found in $PATH")]
    ExecutableNotFound(String),

    #[error("exec: {0:?}: permission denied")]
    NotExecutable(String),

    /// An error that happened inside the container's init or exec process,
    /// relayed to the runtime process that started it.
    #[error("{0}")]
    Child(String),

    #[error("{0} is not supported by myrunc")]
    Unsupported(String),

    #[error("{0}")]
    Usage(String),

    #[error("hook {kind}[{index}] ({path}): {reason}")]
    Hook {
        kind: &'static str,
        index: usize,
        path: String,
        reason: String,
    },
}

impl Error {
    pub(crate) fn sys(op: impl Into<String>, source: Errno) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Adds the name of the failed operation to a raw `Errno`.
pub(crate) trait ErrnoContext<T> {
    fn ctx(self, op: impl FnOnce() -> String) -> Result<T>;
}

impl<T> ErrnoContext<T> for std::result::Result<T, Errno> {
    fn ctx(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(op(), e))
    }
}
