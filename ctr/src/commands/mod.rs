//! One module per ctr command; each takes the connected client and its flags.

mod containers;
mod content;
mod events;
mod images;
mod leases;
mod namespaces;
mod run;
mod snapshots;
mod tasks;
mod version;

use crate::cli::{Cli, Command};
use crate::client::Client;
use crate::error::Result;

pub async fn run(cli: Cli) -> Result<i32> {
    let address = cli.address();
    let namespace = cli.namespace();
    let connect = || Client::connect(&address, &namespace, cli.connect_timeout);
    match cli.command {
        Command::Version => version::run(connect).await,
        Command::Namespaces { command } => namespaces::run(&connect().await?, command).await,
        Command::Containers { command } => containers::run(&connect().await?, command).await,
        Command::Tasks { command } => tasks::run(&connect().await?, command).await,
        Command::Run(args) => run::run(&connect().await?, args).await,
        Command::Events { filters } => events::run(&connect().await?, filters).await,
        Command::Images { command } => images::run(&connect().await?, command).await,
        Command::Content { command } => content::run(&connect().await?, command).await,
        Command::Snapshots {
            snapshotter,
            command,
        } => snapshots::run(&connect().await?, snapshotter.as_deref(), command).await,
        Command::Leases { command } => leases::run(&connect().await?, command).await,
    }
}
