//! The command line, shaped like runc's: global flags, then one command per file.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};

pub const DEFAULT_ROOT: &str = "/run/myrunc";

#[derive(Debug, Parser)]
#[command(
    name = "myrunc",
    about = "A runc-compatible OCI runtime",
    version = concat!("version ", env!("CARGO_PKG_VERSION"), "\ncommit: ", env!("MYRUNC_COMMIT"), "\nspec: 1.2.0"),
    disable_version_flag = true
)]
pub struct Cli {
    /// Directory for container state (use tmpfs)
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Write logs to this file instead of stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd to manage cgroups (not supported)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (only false and auto are supported)
    #[arg(long, global = true)]
    pub rootless: Option<String>,
    /// Path to criu (accepted for compatibility; checkpointing is not supported)
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// Print the version
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container
    Create(create::Args),
    /// Start a created container
    Start(start::Args),
    /// Create and start a container
    Run(run::Args),
    /// Output the state of a container
    State(state::Args),
    /// Send a signal to the container's init (or all its processes)
    Kill(kill::Args),
    /// Delete a container and everything it holds
    Delete(delete::Args),
    /// List containers
    List(list::Args),
    /// List the processes of a container
    Ps(ps::Args),
    /// Run a new process inside a container
    Exec(exec::Args),
    /// Suspend every process of a container
    Pause(pause::Args),
    /// Resume a paused container
    Resume(pause::Args),
    /// Change the resource limits of a container
    Update(update::Args),
    /// Show container statistics and events
    Events(events::Args),
    /// Show what this runtime supports
    Features,
    /// Write a new config.json template
    Spec(spec::Args),
}

/// Runs the command; the result is the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if cli.systemd_cgroup {
        return Err(Error::Unsupported(
            "--systemd-cgroup (systemd cgroup management)".into(),
        ));
    }
    if cli.rootless.as_deref() == Some("true") {
        return Err(Error::Unsupported("--rootless=true".into()));
    }
    let root = &cli.root;
    match cli.command {
        Command::Create(a) => create::run(root, a),
        Command::Start(a) => start::run(root, a),
        Command::Run(a) => run::run(root, a),
        Command::State(a) => state::run(root, a),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::List(a) => list::run(root, a),
        Command::Ps(a) => ps::run(root, a),
        Command::Exec(a) => exec::run(root, a),
        Command::Pause(a) => pause::pause(root, a),
        Command::Resume(a) => pause::resume(root, a),
        Command::Update(a) => update::run(root, a),
        Command::Events(a) => events::run(root, a),
        Command::Features => features::run(),
        Command::Spec(a) => spec::run(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn runc_style_invocations_parse() {
        let cli = Cli::try_parse_from([
            "myrunc",
            "--root",
            "/r",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--console-socket",
            "/s",
            "--no-new-keyring",
            "--preserve-fds",
            "2",
            "c1",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Create(_)));
        let cli = Cli::try_parse_from(["myrunc", "kill", "--all", "c1", "9"]).unwrap();
        assert!(matches!(cli.command, Command::Kill(ref k) if k.all && k.signal == "9"));
        let cli = Cli::try_parse_from([
            "myrunc",
            "exec",
            "--process",
            "/p.json",
            "--detach",
            "--pid-file",
            "/x",
            "c1",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Exec(_)));
        let cli = Cli::try_parse_from(["myrunc", "ps", "--format", "table", "c1", "-ef"]).unwrap();
        assert!(matches!(cli.command, Command::Ps(ref p) if p.ps_args == ["-ef"]));
        assert!(Cli::try_parse_from(["myrunc", "update", "--resources", "-", "c1"]).is_ok());
        assert!(Cli::try_parse_from(["myrunc", "events", "--interval=2s", "c1"]).is_ok());
        assert!(Cli::try_parse_from(["myrunc", "list", "--format=json"]).is_ok());
    }
}
