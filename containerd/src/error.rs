//! Errors of mycontainerd, converted to gRPC status codes at the edge.

use std::io;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {name:?}: not found")]
    NotFound { kind: &'static str, name: String },

    #[error("{kind} {name:?}: already exists")]
    AlreadyExists { kind: &'static str, name: String },

    #[error("{0}")]
    InvalidArgument(String),

    #[error("{0}")]
    FailedPrecondition(String),

    #[error("{0} is not implemented by mycontainerd")]
    Unimplemented(String),

    /// Busy right now (a content ref being written by another client); retry later.
    #[error("{0}")]
    Unavailable(String),

    #[error("{0}")]
    OutOfRange(String),

    /// A layer that cannot be applied: corrupt, truncated, of the wrong digest, or with
    /// an entry that would escape its root.
    #[error("layer {digest}: {reason}")]
    Layer { digest: String, reason: String },

    #[error("metadata store: {0}")]
    Store(String),

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// An error from a shim, passed through with its code.
    #[error("{0}")]
    Shim(#[from] tonic::Status),

    #[error("shim for {id}: {message}")]
    ShimStart { id: String, message: String },
}

impl Error {
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            name: name.into(),
        }
    }

    pub fn exists(kind: &'static str, name: impl Into<String>) -> Self {
        Error::AlreadyExists {
            kind,
            name: name.into(),
        }
    }

    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::Store(e.to_string())
    }
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(e.to_string())
            }
        }
    )*};
}
store_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Shim(status) => status,
            Error::NotFound { .. } => tonic::Status::not_found(e.to_string()),
            Error::AlreadyExists { .. } => tonic::Status::already_exists(e.to_string()),
            Error::InvalidArgument(_) => tonic::Status::invalid_argument(e.to_string()),
            Error::FailedPrecondition(_) => tonic::Status::failed_precondition(e.to_string()),
            Error::Unimplemented(_) => tonic::Status::unimplemented(e.to_string()),
            Error::Unavailable(_) => tonic::Status::unavailable(e.to_string()),
            Error::OutOfRange(_) => tonic::Status::out_of_range(e.to_string()),
            Error::Layer { .. } => tonic::Status::failed_precondition(e.to_string()),
            Error::Store(_) | Error::Io { .. } | Error::ShimStart { .. } => {
                tonic::Status::internal(e.to_string())
            }
        }
    }
}
