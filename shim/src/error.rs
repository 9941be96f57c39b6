//! Errors of the shim, and their gRPC status codes.

use std::io;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
        source: nix::errno::Errno,
    },

    /// The OCI runtime failed; the message is what it said (its JSON log's last error).
    #[error("OCI runtime {command} failed: {message}")]
    Runtime {
        command: &'static str,
        message: String,
    },

    #[error("process {0:?} not found")]
    ProcessNotFound(String),

    #[error("process {0:?} already exists")]
    ProcessExists(String),

    #[error("{0}")]
    FailedPrecondition(String),

    #[error("{0}")]
    InvalidArgument(String),

    #[error("{0} is not supported by mycontainerd-shim")]
    Unsupported(String),
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn sys(op: impl Into<String>, source: nix::errno::Errno) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        let msg = e.to_string();
        match e {
            Error::ProcessNotFound(_) => tonic::Status::not_found(msg),
            Error::ProcessExists(_) => tonic::Status::already_exists(msg),
            Error::FailedPrecondition(_) => tonic::Status::failed_precondition(msg),
            Error::InvalidArgument(_) => tonic::Status::invalid_argument(msg),
            Error::Unsupported(_) => tonic::Status::unimplemented(msg),
            Error::Io { .. } | Error::Sys { .. } | Error::Runtime { .. } => {
                tonic::Status::unknown(msg)
            }
        }
    }
}
