//! What can go wrong, each variant worded as one line a user can act on.

use std::path::PathBuf;

/// A failed call to the daemon, worded as containerd's Go client words it: the
/// server's message (on one line), then the error class.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: tonic::Code,
    pub message: String,
}

impl From<tonic::Status> for RpcError {
    fn from(status: tonic::Status) -> Self {
        RpcError {
            code: status.code(),
            message: one_line(status.message()),
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use tonic::Code;
        let class = match self.code {
            Code::NotFound => "not found",
            Code::AlreadyExists => "already exists",
            Code::InvalidArgument => "invalid argument",
            Code::FailedPrecondition => "failed precondition",
            Code::Unavailable => "unavailable",
            Code::Unimplemented => "not implemented",
            Code::DeadlineExceeded => "context deadline exceeded",
            Code::Cancelled => "context canceled",
            Code::PermissionDenied => "permission denied",
            Code::DataLoss => "data loss",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out of range",
            Code::ResourceExhausted => "resource exhausted",
            Code::Unauthenticated => "unauthenticated",
            Code::Internal => "internal",
            Code::Ok | Code::Unknown => "unknown",
        };
        let message = self.message.trim();
        if message.is_empty() {
            f.write_str(class)
        } else if message.ends_with(class) {
            f.write_str(message)
        } else {
            write!(f, "{message}: {class}")
        }
    }
}

impl std::error::Error for RpcError {}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest { digest: String, reason: String },
    #[error("invalid platform {platform:?}: {reason}")]
    InvalidPlatform { platform: String, reason: String },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{}", with_context(what, source))]
    Rpc {
        what: String,
        #[source]
        source: RpcError,
    },
    #[error("{reference}: {reason}")]
    Registry { reference: String, reason: String },
    #[error("{reference}: not authorized by the registry (wrong or missing credentials)")]
    Unauthorized { reference: String },
    #[error("{what}: no manifest for platform {platform} (available: {available})")]
    NoMatchingManifest {
        what: String,
        platform: String,
        available: String,
    },
    #[error("{what}: unsupported media type {media_type:?}")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("{what} {digest}: {reason}")]
    BadBlob {
        what: &'static str,
        digest: String,
        reason: String,
    },
    #[error("image {digest}: {layers} layers but {diff_ids} diff IDs in its config")]
    LayerCount {
        digest: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("layer {layer}: unpacked to {actual}, but the config says {expected}")]
    DiffIdMismatch {
        layer: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: {reason}")]
    Archive { path: String, reason: String },
    #[error("{what} {path:?}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Stream {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mounting the image's root filesystem: {0}")]
    Mount(#[source] std::io::Error),
    #[error("user {user:?}: {reason}")]
    User { user: String, reason: String },
    #[error("invalid namespace {namespace:?}: {reason}")]
    Namespace { namespace: String, reason: String },
    #[error("{0}")]
    Usage(String),
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error for the daemon's answer to `what`.
    pub(crate) fn rpc(what: impl Into<String>, status: tonic::Status) -> Error {
        Error::Rpc {
            what: what.into(),
            source: status.into(),
        }
    }

    /// Whether the daemon answered NotFound.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Rpc { source, .. } if source.code == tonic::Code::NotFound)
    }

    /// Whether the daemon answered AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::Rpc { source, .. } if source.code == tonic::Code::AlreadyExists)
    }
}

/// `what: message`, without repeating what the daemon's message already says.
fn with_context(what: &str, source: &RpcError) -> String {
    let message = source.to_string();
    if what.is_empty() || message.contains(what) {
        message
    } else {
        format!("{what}: {message}")
    }
}

/// `text` on one line: a user sees one line per error.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
