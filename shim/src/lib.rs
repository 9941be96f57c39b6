//! mycontainerd-shim: one per container. It is the parent of the container's processes
//! (a subreaper), drives the OCI runtime through its CLI, keeps exit statuses, copies stdio,
//! serves the `containerd.task.v2.Task` API over gRPC on its own socket, and publishes task
//! events to mycontainerd, queued while mycontainerd is away.

pub mod config;
pub mod error;
pub mod io;
pub mod metrics;
pub mod publisher;
pub mod reaper;
pub mod rootfs;
pub mod runtime_cli;
pub mod service;
pub mod start;
pub mod task;

pub use error::{Error, Result};
