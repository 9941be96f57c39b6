//! The engine's errors, and their one conversion to the wire: Docker's
//! `{"message": "..."}` body with the HTTP status the docker CLI expects for each kind.

use hyper::StatusCode;

/// What went wrong, grouped by what the client can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong (400).
    #[error("{0}")]
    BadParameter(String),
    /// No such container, image or exec (404).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Never allowed, whatever the state (403): removing a predefined network.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing to do: already started, already stopped (304, no body).
    #[error("not modified")]
    NotModified,
    /// A known endpoint we do not serve yet (501).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// A route that exists with another method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The runtime could not start the process: Docker answers 400 for a missing or
    /// non-executable binary (the CLI maps the text to 127/126) and 500 otherwise.
    #[error("{message}")]
    Start { message: String, client_error: bool },
    /// containerd answered with an error.
    #[error("{context}: {message}")]
    Containerd {
        context: String,
        code: tonic::Code,
        message: String,
    },
    /// containerd could not be reached.
    #[error("connecting to containerd at {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error(transparent)]
    Images(#[from] myimages::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state store: {0}")]
    Store(String),
    #[error("building the container's spec: {0}")]
    Spec(String),
    /// A request's handler task panicked or was cancelled (500).
    #[error("handling the request: {0}")]
    Handler(#[source] tokio::task::JoinError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A failed containerd call, keeping its code so NotFound can be told apart.
    pub fn rpc(context: impl Into<String>, status: tonic::Status) -> Error {
        Error::Containerd {
            context: context.into(),
            code: status.code(),
            message: status.message().to_owned(),
        }
    }

    pub fn no_such_container(id: &str) -> Error {
        Error::NotFound(format!("No such container: {id}"))
    }

    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound(_) => true,
            Error::Containerd { code, .. } => *code == tonic::Code::NotFound,
            Error::Images(e) => e.is_not_found(),
            _ => false,
        }
    }

    /// The HTTP status Docker gives this kind of error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadParameter(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotModified => StatusCode::NOT_MODIFIED,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Start { client_error, .. } => {
                if *client_error {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
            Error::Containerd { code, .. } => match code {
                tonic::Code::NotFound => StatusCode::NOT_FOUND,
                tonic::Code::AlreadyExists => StatusCode::CONFLICT,
                tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
                tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::Images(e) if e.is_not_found() => StatusCode::NOT_FOUND,
            Error::Images(myimages::Error::InvalidReference { .. }) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Error {
        Error::Store(e.to_string())
    }
}

macro_rules! store_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::Store(e.to_string())
            }
        }
    )*};
}
store_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_docker() {
        assert_eq!(Error::no_such_container("x").status(), 404);
        assert_eq!(Error::Conflict("c".into()).status(), 409);
        assert_eq!(Error::BadParameter("b".into()).status(), 400);
        assert_eq!(
            Error::rpc("x", tonic::Status::not_found("gone")).status(),
            404
        );
        assert_eq!(
            Error::Start {
                message: "m".into(),
                client_error: true
            }
            .status(),
            400
        );
        assert_eq!(
            Error::NotImplemented("x".into()).to_string(),
            "not implemented: x"
        );
    }
}
