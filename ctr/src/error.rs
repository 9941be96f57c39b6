//! What can go wrong, each variant worded as the one line a user sees after `myctr: `.

use std::path::PathBuf;

/// A failed gRPC call, worded as containerd's Go client words it (`errdefs.FromGRPC`):
/// the server's message, then the error class (`: not found`), once.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: tonic::Code,
    pub message: String,
}

impl RpcError {
    /// The class containerd appends to a message of this code.
    fn class(&self) -> &'static str {
        use tonic::Code;
        match self.code {
            Code::Ok => "ok",
            Code::Cancelled => "context canceled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid argument",
            Code::DeadlineExceeded => "context deadline exceeded",
            Code::NotFound => "not found",
            Code::AlreadyExists => "already exists",
            Code::PermissionDenied => "permission denied",
            Code::ResourceExhausted => "resource exhausted",
            Code::FailedPrecondition => "failed precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out of range",
            Code::Unimplemented => "not implemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data loss",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code == tonic::Code::NotFound
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = self.class();
        // A message may span lines (a runtime's stderr); the user gets one.
        let message = self.message.trim().replace('\n', " ");
        let message = message
            .strip_suffix(&format!(": {class}"))
            .unwrap_or(&message);
        if message.is_empty() || message == class {
            f.write_str(class)
        } else {
            write!(f, "{message}: {class}")
        }
    }
}

impl std::error::Error for RpcError {}

impl From<tonic::Status> for RpcError {
    fn from(status: tonic::Status) -> Self {
        RpcError {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to dial {address:?}: {reason}")]
    Dial { address: PathBuf, reason: String },
    #[error("{0}")]
    Rpc(#[from] RpcError),
    #[error("{0} must be provided")]
    Missing(&'static str),
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// Flags that do not go together, and the like.
    #[error("{0}")]
    Usage(&'static str),
    /// Images, content, snapshots and leases (the `myimages` library).
    #[error("{0}")]
    Images(#[from] myimages::Error),
    #[error("rootfs {path:?}: {source}")]
    Rootfs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rootfs {0:?} is not a directory")]
    RootfsNotDirectory(PathBuf),
    #[error("{what} {path:?}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no terminal: -t needs one on stdin, stdout or stderr")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[source] std::io::Error),
    #[error("signal handling: {0}")]
    Signals(#[source] std::io::Error),
    #[error("container {id:?} has no spec")]
    NoSpec { id: String },
    #[error("spec of container {id:?}: {reason}")]
    BadSpec { id: String, reason: String },
    #[error("container {id:?} was created {has} a terminal; {hint}")]
    TerminalMismatch {
        id: String,
        has: &'static str,
        hint: &'static str,
    },
    #[error("cannot delete a non stopped container: {status}")]
    NotStopped { status: String },
    #[error("task must be stopped before deletion: {status}: failed precondition")]
    TaskRunning { status: String },
    #[error("{0}")]
    Metrics(String),
    #[error("waiting for the process: {0}")]
    WaitAborted(String),
    #[error("context deadline exceeded (--timeout)")]
    Timeout,
    #[error("failed to unmarshal {what}: {reason}")]
    Decode { what: String, reason: String },
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Rpc(status.into())
    }
}

impl Error {
    /// Whether the daemon answered NotFound.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Rpc(e) => e.is_not_found(),
            Error::Images(e) => e.is_not_found(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(code: tonic::Code, message: &str) -> String {
        RpcError {
            code,
            message: message.into(),
        }
        .to_string()
    }

    #[test]
    fn messages_read_like_containerds_client() {
        use tonic::Code;
        assert_eq!(
            rpc(
                Code::NotFound,
                "container \"p1\" in namespace \"probe\": not found"
            ),
            "container \"p1\" in namespace \"probe\": not found"
        );
        assert_eq!(
            rpc(Code::NotFound, "container \"x\""),
            "container \"x\": not found"
        );
        assert_eq!(
            rpc(Code::AlreadyExists, "container \"x\": already exists"),
            "container \"x\": already exists"
        );
        assert_eq!(rpc(Code::Unimplemented, ""), "not implemented");
        assert_eq!(
            rpc(Code::Unknown, "OCI runtime create failed\nsecond line"),
            "OCI runtime create failed second line: unknown"
        );
    }
}
