//! myctr: a debugging client for containerd's v1 gRPC API, with the verbs and flags of
//! containerd 1.6's `ctr` for what it covers. It talks to a real containerd and to
//! mycontainerd alike; `main.rs` parses flags and calls [`run`].

pub mod cli;
pub mod client;
mod commands;
mod container;
pub mod error;
mod identifier;
mod images;
mod json;
mod session;
mod signals;
pub mod spec;
mod stdio;
mod table;
mod task;
mod tty;

pub use error::{Error, Result};

/// Runs the command `cli` names; returns the exit code (a process's exit status for
/// `run`, `tasks start`, `tasks exec` and `tasks attach`).
pub async fn run(cli: cli::Cli) -> Result<i32> {
    let timeout = cli.timeout;
    let command = commands::run(cli);
    if timeout.is_zero() {
        command.await
    } else {
        tokio::time::timeout(timeout, command)
            .await
            .unwrap_or(Err(Error::Timeout))
    }
}
