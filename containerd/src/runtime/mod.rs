//! Running containers: shims and the tasks they serve.

pub mod shim;
pub mod tasks;
