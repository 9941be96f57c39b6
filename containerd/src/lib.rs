//! mycontainerd: a containerd-compatible daemon. It keeps namespaces and containers in an
//! embedded store, runs one shim per task, and serves containerd's v1 gRPC API on a UNIX
//! socket; killing it leaves every container running, and a restart picks them up again.

pub mod config;
pub mod error;
pub mod events;
pub mod filters;
pub mod identifiers;
pub mod metadata;
pub mod runtime;
pub mod server;
pub mod services;

pub use error::{Error, Result};
