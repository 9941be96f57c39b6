//! Errors of the helpers in this crate (the generated code has none of its own).

/// What can go wrong packing, unpacking or tagging messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An `Any` carries a different message than the caller asked for.
    #[error("payload is {actual:?}, expected {expected:?}")]
    TypeMismatch {
        /// Full proto name the caller expected.
        expected: String,
        /// Type URL found in the `Any`.
        actual: String,
    },
    /// The `Any` has the right type URL but its bytes do not decode.
    #[error("payload of type {type_url:?} does not decode")]
    Decode {
        /// Type URL of the payload.
        type_url: String,
        #[source]
        source: prost::DecodeError,
    },
    /// A namespace name that cannot travel as a gRPC metadata value.
    #[error("namespace {namespace:?} is not a valid gRPC metadata value")]
    InvalidNamespace {
        /// The rejected name.
        namespace: String,
        #[source]
        source: tonic::metadata::errors::InvalidMetadataValue,
    },
}

/// Result of this crate's helpers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        // All three come from what the peer sent or asked for.
        tonic::Status::invalid_argument(err.to_string())
    }
}
