//! `tasks ...`: one file per subcommand.

mod attach;
mod delete;
mod exec;
mod kill;
mod list;
mod metrics;
mod pause;
mod ps;
mod start;

use crate::cli::TasksCommand;
use crate::client::Client;
use crate::error::Result;

pub async fn run(client: &Client, command: TasksCommand) -> Result<i32> {
    match command {
        TasksCommand::Attach { id } => attach::run(client, &id).await,
        TasksCommand::Delete {
            force,
            exec_id,
            ids,
        } => delete::run(client, force, exec_id.as_deref(), &ids).await,
        TasksCommand::Exec(args) => exec::run(client, args).await,
        TasksCommand::List { quiet } => list::run(client, quiet).await,
        TasksCommand::Kill {
            signal,
            exec_id,
            all,
            id,
        } => kill::run(client, &id, signal.as_deref(), exec_id.as_deref(), all).await,
        TasksCommand::Pause { id } => pause::pause(client, &id).await,
        TasksCommand::Ps { id } => ps::run(client, &id).await,
        TasksCommand::Resume { id } => pause::resume(client, &id).await,
        TasksCommand::Start(args) => start::run(client, args).await,
        TasksCommand::Metrics { format, id } => metrics::run(client, &id, &format).await,
    }
}
