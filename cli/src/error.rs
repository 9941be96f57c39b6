//! mycli's errors: what failed talking to the daemon, and what the daemon refused. Each
//! displays as the single line docker prints for it.

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error status; `message` is its `{"message": ...}`.
    #[error("Error response from daemon: {message}")]
    Daemon { status: u16, message: String },

    /// Nothing (or nothing we can talk to) listens at `address` (`unix://...`, `tcp://...`).
    #[error("Cannot connect to the Docker daemon at {address}. Is the docker daemon running?")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// The connection broke or the daemon said something that is not HTTP.
    #[error("error during connect: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A response we could not make sense of.
    #[error("malformed response from daemon: {0}")]
    Protocol(String),

    /// A response body that is not the JSON we expected.
    #[error("malformed response from daemon: {context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },

    /// A flag or argument the user gave that we cannot use.
    #[error("{0}")]
    InvalidArgument(String),

    /// A host address scheme we do not speak.
    #[error("unsupported host {0}: want unix:///path or tcp://HOST:PORT")]
    UnsupportedHost(String),

    /// TLS settings (certificates, keys, CA) we cannot use.
    #[error("TLS: {0}")]
    Tls(String),

    /// A pull or load whose JSON message stream ended with an error.
    #[error("{0}")]
    Stream(String),

    /// A local file the user named (an env file, an image archive) we cannot read.
    #[error("{context}: {source}")]
    File {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Something docker's CLI does that we do not do yet.
    #[error("not implemented: {0}")]
    NotImplemented(String),

    /// An error that ends the command with a particular exit code (126/127 for a
    /// container command that cannot run).
    #[error("{source}")]
    Exit {
        code: i32,
        #[source]
        source: Box<Error>,
    },

    /// A command that already told the user what went wrong (per-argument errors of
    /// `rm`, `stop`, ...) and only needs to end with this exit code.
    #[error("{message}")]
    Reported { message: String, code: i32 },
}

impl Error {
    /// The daemon's HTTP status when this is a daemon error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The daemon closed the connection while we were still sending.
    pub(crate) fn is_broken_connection(&self) -> bool {
        matches!(self, Error::Io { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ))
    }

    pub(crate) fn json(context: impl Into<String>, source: serde_json::Error) -> Error {
        Error::Json {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
