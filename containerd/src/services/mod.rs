//! The gRPC services: thin adapters that decode a request, call a store or manager, and
//! encode the answer.

pub mod containers;
pub mod events;
pub mod introspection;
pub mod leases;
pub mod namespaces;
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
