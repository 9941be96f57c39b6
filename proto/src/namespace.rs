//! The namespace a request applies to travels in gRPC metadata, not in the
//! messages. containerd reads the key below (`namespaces.GRPCHeader` upstream).

use crate::error::{Error, Result};

/// gRPC metadata key naming the namespace of a request.
pub const METADATA_KEY: &str = "containerd-namespace";

/// The namespace clients such as `ctr` use when none is given.
pub const DEFAULT: &str = "default";

/// Tags an outgoing request with `namespace`.
pub fn set<T>(request: &mut tonic::Request<T>, namespace: &str) -> Result<()> {
    let value = namespace
        .parse()
        .map_err(|source| Error::InvalidNamespace {
            namespace: namespace.to_owned(),
            source,
        })?;
    request.metadata_mut().insert(METADATA_KEY, value);
    Ok(())
}

/// Wraps `message` in a request tagged with `namespace`.
pub fn request<T>(message: T, namespace: &str) -> Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    set(&mut request, namespace)?;
    Ok(request)
}

/// The namespace an incoming request names, if it names one (and the value
/// is printable ASCII). Deciding on a default is the server's business.
pub fn get<T>(request: &tonic::Request<T>) -> Option<&str> {
    request.metadata().get(METADATA_KEY)?.to_str().ok()
}
