//! `mycli container ...`: docker's management command for containers. It carries
//! `prune` (docker's container/prune.go) and the operations also reachable at the top
//! level; other container commands may join it.

use clap::{Args, Subcommand};
use engine_api::stats::ContainerPruneResponse;

use super::{Ctx, parse_filters};
use crate::client::{Body, query};
use crate::error::Result;
use crate::units::human_size;

#[derive(Debug, Args)]
pub struct ContainerArgs {
    #[command(subcommand)]
    pub command: ContainerCommand,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Pause all processes within one or more containers
    Pause(super::pause::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(super::pause::PauseArgs),
    /// Rename a container
    Rename(super::rename::RenameArgs),
    /// Display the running processes of a container
    Top(super::top::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(super::stats::StatsArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

const WARNING: &str =
    "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

pub fn container(ctx: &Ctx, args: ContainerArgs) -> Result<i32> {
    match args.command {
        ContainerCommand::Prune(a) => prune(ctx, a),
        ContainerCommand::Pause(a) => super::pause::pause(ctx, a),
        ContainerCommand::Unpause(a) => super::pause::unpause(ctx, a),
        ContainerCommand::Rename(a) => super::rename::rename(ctx, a),
        ContainerCommand::Top(a) => super::top::top(ctx, a),
        ContainerCommand::Stats(a) => super::stats::stats(ctx, a),
    }
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let filters = parse_filters(&args.filter)?;
    let client = ctx.client()?;
    if !args.force && !super::confirm(WARNING, &mut std::io::stdin().lock()) {
        // docker treats a refusal as a cancelled command: nothing more, exit 0.
        return Ok(0);
    }
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let report: ContainerPruneResponse = client
        .request(
            "POST",
            &format!("/containers/prune{}", query(&params)),
            Body::Empty,
        )?
        .json()?;
    crate::out!("{}", prune_output(&report));
    Ok(0)
}

/// `Deleted Containers:`, one ID a line and a blank line (only when something went),
/// then the space reclaimed.
fn prune_output(report: &ContainerPruneResponse) -> String {
    let mut out = String::new();
    let deleted = report.containers_deleted.as_deref().unwrap_or_default();
    if !deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in deleted {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(report.space_reclaimed as f64)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Cli, Command};
    use clap::Parser;

    #[test]
    fn prune_reports_like_docker() {
        let report = ContainerPruneResponse {
            containers_deleted: Some(vec!["aaa".into(), "bbb".into()]),
            space_reclaimed: 2000,
        };
        assert_eq!(
            prune_output(&report),
            "Deleted Containers:\naaa\nbbb\n\nTotal reclaimed space: 2kB\n"
        );
        assert_eq!(
            prune_output(&ContainerPruneResponse::default()),
            "Total reclaimed space: 0B\n"
        );
    }

    #[test]
    fn group_parses() {
        let cli =
            Cli::try_parse_from(["mycli", "container", "prune", "-f", "--filter", "until=1h"])
                .unwrap();
        let Some(Command::Container(ContainerArgs {
            command: ContainerCommand::Prune(p),
        })) = cli.command
        else {
            panic!("not container prune")
        };
        assert!(p.force);
        assert_eq!(p.filter, ["until=1h"]);
    }
}
