//! The gRPC services: thin adapters that decode a request, call a store or manager, and
//! encode the answer.

pub mod containers;
pub mod content;
pub mod diff;
pub mod events;
pub mod images;
pub mod introspection;
pub mod leases;
pub mod namespaces;
pub mod snapshots;
pub mod tasks;
pub mod version;

use crate::error::Result;
use crate::identifiers;

/// The namespace of a request (`containerd-namespace` metadata, default `default`).
pub(crate) fn namespace<T>(req: &tonic::Request<T>) -> Result<String> {
    let ns = myproto::namespace::get(req).unwrap_or(myproto::namespace::DEFAULT);
    identifiers::validate("namespace", ns)?;
    Ok(ns.to_string())
}

pub(crate) fn now() -> Option<prost_types::Timestamp> {
    Some(std::time::SystemTime::now().into())
}

/// The lease a request runs under (`containerd-lease` metadata), if any: what it creates
/// joins that lease.
pub(crate) fn lease<T>(req: &tonic::Request<T>) -> Option<String> {
    req.metadata()
        .get("containerd-lease")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Runs blocking filesystem work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::error::Error::Store(format!("blocking task: {e}")))?
}
