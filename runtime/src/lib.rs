//! myrunc: a runc-compatible OCI runtime.
//!
//! The library holds everything; `main.rs` only parses flags and sets up logging.

pub mod capabilities;
pub mod cgroups;
pub mod commands;
pub mod console;
pub mod container;
pub mod error;
pub mod hooks;
pub mod log;
pub mod namespaces;
pub mod process;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
pub mod sysctl;

pub use error::{Error, Result};
