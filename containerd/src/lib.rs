//! mycontainerd: a containerd-compatible daemon. It keeps namespaces, containers, images,
//! content and snapshots (metadata in an embedded store, blobs and layers on disk), runs
//! one shim per task, and serves containerd's v1 gRPC API on a UNIX socket; killing it
//! leaves every container running, and a restart picks them up again.

pub mod config;
pub mod content;
pub mod diff;
pub mod digest;
pub mod error;
pub mod events;
pub mod filters;
pub mod gc;
pub mod identifiers;
pub mod metadata;
pub mod runtime;
pub mod server;
pub mod services;
pub mod snapshots;
pub mod tree;

pub use error::{Error, Result};
