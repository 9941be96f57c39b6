//! `tasks start`: the task of an existing container. Whether it gets a terminal is
//! the container's spec's to say (`process.terminal`), as with ctr.

use crate::cli::StartArgs;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::task::{self, StartOptions};

pub async fn run(client: &Client, args: StartArgs) -> Result<i32> {
    let container = client.container(&args.id).await?;
    if args.tty && !task::spec_terminal(&container)? {
        return Err(Error::TerminalMismatch {
            id: args.id,
            has: "without",
            hint: "create it with -t",
        });
    }
    let options = StartOptions {
        stdio: &args.stdio,
        detach: args.detach,
        pid_file: args.pid_file.as_deref(),
        no_pivot: false,
        rootfs: None,
    };
    task::start(client, &container, options)
        .await
        .map(|status| status as i32)
}
