//! The command line: docker's commands and flags (clap), and the dispatch from a parsed
//! command to its implementation. Each command returns the process's exit code.

use clap::{Parser, Subcommand};

use crate::client::{Client, DEFAULT_HOST};
use crate::error::{Error, Result};

pub mod attach;
pub mod container;
pub mod container_opts;
pub mod cp;
pub mod create;
pub mod diff;
pub mod events;
pub mod exec;
pub mod export;
pub mod history;
pub mod image;
pub mod images;
pub mod inspect;
pub mod lifecycle;
pub mod load;
pub mod logs;
pub mod network;
pub mod pause;
pub mod port;
pub mod ps;
pub mod pull;
pub mod rename;
pub mod run;
pub mod save;
pub mod start;
pub mod stats;
pub mod system;
pub mod system_df;
pub mod top;
pub mod volume;

/// A docker-compatible client for the Docker Engine API.
#[derive(Debug, Parser)]
#[command(
    name = "mycli",
    disable_version_flag = true,
    disable_help_subcommand = true,
    override_usage = "mycli [OPTIONS] COMMAND"
)]
pub struct Cli {
    /// Daemon socket to connect to (unix://PATH or tcp://HOST:PORT); default $DOCKER_HOST or unix:///var/run/docker.sock
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub host: Option<String>,

    #[command(flatten)]
    pub tls: crate::tls::TlsFlags,

    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(create::CreateArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Update configuration of one or more containers
    Update(lifecycle::UpdateArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::WaitArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Return low-level information on containers or images
    Inspect(inspect::InspectArgs),
    /// List images
    Images(images::ImagesArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Remove one or more images
    Rmi(images::RmiArgs),
    /// Load an image from a tar archive or STDIN
    Load(load::LoadArgs),
    /// Manage networks
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Network(network::NetworkArgs),
    /// Manage volumes
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Volume(volume::VolumeArgs),
    /// Manage containers
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Container(container::ContainerArgs),
    /// Pause all processes within one or more containers
    Pause(pause::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(pause::PauseArgs),
    /// Rename a container
    Rename(rename::RenameArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(diff::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(export::ExportArgs),
    /// Show the Docker version information
    Version(system::VersionArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Get real time events from the server
    Events(events::EventsArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Manage images
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Image(image::ImageArgs),
    /// Manage Docker
    #[command(subcommand_required = true, arg_required_else_help = true)]
    System(system::SystemArgs),
}

impl Command {
    /// The name docker uses in "Run 'docker NAME --help'".
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Create(_) => "create",
            Command::Start(_) => "start",
            Command::Stop(_) => "stop",
            Command::Restart(_) => "restart",
            Command::Update(_) => "update",
            Command::Kill(_) => "kill",
            Command::Rm(_) => "rm",
            Command::Wait(_) => "wait",
            Command::Ps(_) => "ps",
            Command::Logs(_) => "logs",
            Command::Port(_) => "port",
            Command::Exec(_) => "exec",
            Command::Attach(_) => "attach",
            Command::Inspect(_) => "inspect",
            Command::Images(_) => "images",
            Command::Pull(_) => "pull",
            Command::Tag(_) => "tag",
            Command::Rmi(_) => "rmi",
            Command::Load(_) => "load",
            Command::Network(_) => "network",
            Command::Volume(_) => "volume",
            Command::Container(_) => "container",
            Command::Pause(_) => "pause",
            Command::Unpause(_) => "unpause",
            Command::Rename(_) => "rename",
            Command::Top(_) => "top",
            Command::Stats(_) => "stats",
            Command::Cp(_) => "cp",
            Command::Diff(_) => "diff",
            Command::Export(_) => "export",
            Command::Version(_) => "version",
            Command::Info(_) => "info",
            Command::Events(_) => "events",
            Command::History(_) => "history",
            Command::Save(_) => "save",
            Command::Image(_) => "image",
            Command::System(_) => "system",
        }
    }
}

/// What every command needs: where the daemon is, and how to speak TLS to a tcp:// one.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub host: String,
    pub tls: crate::tls::TlsOptions,
}

impl Ctx {
    pub fn new(host: Option<String>) -> Ctx {
        let host = host
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        Ctx {
            host,
            tls: crate::tls::TlsOptions::default(),
        }
    }

    /// Applies the TLS flags and `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`.
    pub fn with_tls(mut self, flags: &crate::tls::TlsFlags) -> Ctx {
        self.tls = crate::tls::TlsOptions::from_flags(flags);
        self
    }

    /// Connects and negotiates the API version.
    pub fn client(&self) -> Result<Client> {
        Client::negotiate_with(&self.host, &self.tls)
    }
}

pub fn dispatch(ctx: &Ctx, command: Command) -> Result<i32> {
    match command {
        Command::Run(a) => run::run(ctx, a),
        Command::Create(a) => create::create(ctx, a),
        Command::Start(a) => start::start(ctx, a),
        Command::Stop(a) => lifecycle::stop(ctx, a),
        Command::Restart(a) => lifecycle::restart(ctx, a),
        Command::Update(a) => lifecycle::update(ctx, a),
        Command::Kill(a) => lifecycle::kill(ctx, a),
        Command::Rm(a) => lifecycle::rm(ctx, a),
        Command::Wait(a) => lifecycle::wait(ctx, a),
        Command::Ps(a) => ps::ps(ctx, a),
        Command::Logs(a) => logs::logs(ctx, a),
        Command::Port(a) => port::port(ctx, a),
        Command::Exec(a) => exec::exec(ctx, a),
        Command::Attach(a) => attach::attach(ctx, a),
        Command::Inspect(a) => inspect::inspect(ctx, a),
        Command::Images(a) => images::images(ctx, a),
        Command::Pull(a) => pull::pull(ctx, a),
        Command::Tag(a) => images::tag(ctx, a),
        Command::Rmi(a) => images::rmi(ctx, a),
        Command::Load(a) => load::load(ctx, a),
        Command::Network(a) => network::network(ctx, a),
        Command::Volume(a) => volume::volume(ctx, a),
        Command::Container(a) => container::container(ctx, a),
        Command::Pause(a) => pause::pause(ctx, a),
        Command::Unpause(a) => pause::unpause(ctx, a),
        Command::Rename(a) => rename::rename(ctx, a),
        Command::Top(a) => top::top(ctx, a),
        Command::Stats(a) => stats::stats(ctx, a),
        Command::Cp(a) => cp::cp(ctx, a),
        Command::Diff(a) => diff::diff(ctx, a),
        Command::Export(a) => export::export(ctx, a),
        Command::Version(a) => system::version(ctx, a),
        Command::Info(a) => system::info(ctx, a),
        Command::Events(a) => events::events(ctx, a),
        Command::History(a) => history::history(ctx, a),
        Command::Save(a) => save::save(ctx, a),
        Command::Image(a) => image::image(ctx, a),
        Command::System(a) => system::system(ctx, a),
    }
}

/// Runs `f` for each of `names`, printing each name that succeeded (as `stop`, `kill`,
/// `rm` do) and each error; the command fails with 1 when any did.
pub fn for_each_name(names: &[String], mut f: impl FnMut(&str) -> Result<()>) -> Result<i32> {
    let mut failed = false;
    for name in names {
        match f(name) {
            Ok(()) => crate::outln!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Commands whose first positional argument (image or container) ends the flags: the
/// rest is the process's command line, hyphens and all (`run busybox ls -l`).
const STOP_AT_FIRST_POSITIONAL: &[&str] = &["run", "create", "exec"];

/// Inserts `--` before the first positional argument of `run`, `create` and `exec`, so
/// that flags after the image belong to the container's command, as with docker.
pub fn separate_command_args(argv: Vec<String>) -> Vec<String> {
    use clap::CommandFactory;
    let root = Cli::command();
    let takes_value = |cmd: &clap::Command, long: Option<&str>, short: Option<char>| {
        cmd.get_arguments().any(|a| {
            let hit = match (long, short) {
                (Some(l), _) => {
                    a.get_long() == Some(l) || a.get_all_aliases().is_some_and(|al| al.contains(&l))
                }
                (_, Some(s)) => a.get_short() == Some(s),
                _ => false,
            };
            hit && a.get_action().takes_values()
        })
    };
    let mut out = Vec::with_capacity(argv.len() + 1);
    let mut iter = argv.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    // Global flags, up to the command name.
    let mut sub: Option<clap::Command> = None;
    while let Some(arg) = iter.next() {
        let is_flag = arg.starts_with('-') && arg != "-";
        if !is_flag {
            let name = arg.clone();
            out.push(arg);
            if STOP_AT_FIRST_POSITIONAL.contains(&name.as_str()) {
                sub = root.find_subcommand(&name).cloned();
            }
            break;
        }
        let needs_value = flag_needs_value(&arg, |l, s| takes_value(&root, l, s));
        out.push(arg);
        if needs_value && let Some(v) = iter.next() {
            out.push(v);
        }
    }
    let Some(sub) = sub else {
        out.extend(iter);
        return out;
    };
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            break;
        }
        let is_flag = arg.starts_with('-') && arg != "-";
        if !is_flag {
            out.push("--".to_owned());
            out.push(arg);
            break;
        }
        let needs_value = flag_needs_value(&arg, |l, s| takes_value(&sub, l, s));
        out.push(arg);
        if needs_value && let Some(v) = iter.next() {
            out.push(v);
        }
    }
    out.extend(iter);
    out
}

/// Whether flag `arg` takes its value from the next argument.
fn flag_needs_value(arg: &str, takes: impl Fn(Option<&str>, Option<char>) -> bool) -> bool {
    if let Some(long) = arg.strip_prefix("--") {
        return !long.contains('=') && takes(Some(long), None);
    }
    let cluster = &arg[1..];
    for (i, c) in cluster.char_indices() {
        if takes(None, Some(c)) {
            // `-ePATH=x` carries its value; `-e` alone takes the next argument.
            return i + c.len_utf8() == cluster.len();
        }
    }
    false
}

/// docker's label check: a label needs a name.
pub(crate) fn label(value: &str) -> std::result::Result<String, String> {
    let key = value.split_once('=').map_or(value, |(k, _)| k);
    if key.trim().is_empty() {
        return Err(format!("invalid label '{value}': empty name"));
    }
    Ok(value.to_owned())
}

/// docker's prompt: `MESSAGE [y/N] ` on stdout, then one line; only `y`/`Y` agrees
/// (end of input does not).
pub(crate) fn confirm(message: &str, input: &mut impl std::io::BufRead) -> bool {
    crate::out!("{message} [y/N] ");
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(_) => line.trim().eq_ignore_ascii_case("y"),
        Err(_) => false,
    }
}

/// Parses `KEY=VALUE` lists (labels, filters) the way docker does: a missing `=` means an
/// empty value.
pub fn key_values(items: &[String]) -> std::collections::BTreeMap<String, String> {
    items
        .iter()
        .map(|i| match i.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (i.clone(), String::new()),
        })
        .collect()
}

/// Parses `--filter key=value` flags into the API's filters.
pub fn parse_filters(items: &[String]) -> Result<engine_api::filters::Filters> {
    let mut f = engine_api::filters::Filters::default();
    for item in items {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::InvalidArgument(format!(
                "bad format of filter (expected name=value): {item}"
            ))
        })?;
        f.add(k.trim().to_ascii_lowercase().as_str(), v);
    }
    Ok(f)
}

/// The order of docker's `sortorder.NaturalLess` (network names, `port` lines): runs
/// of digits compare by value, so `9/tcp` comes before `10/tcp` and `web2` before `web10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            // Digits sort before anything else.
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (nz_a, nz_b) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // A longer number (without leading zeros) is bigger; equal lengths compare
        // as text; then fewer leading zeros first.
        let by_len = (i - nz_a).cmp(&(j - nz_b));
        let ord = by_len
            .then_with(|| a[nz_a..i].cmp(&b[nz_b..j]))
            .then_with(|| nz_a.cmp(&nz_b));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // Equal so far: the one that ended first (docker compares whole lengths).
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sep(args: &[&str]) -> Vec<String> {
        separate_command_args(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn flags_after_the_image_belong_to_the_command() {
        assert_eq!(
            sep(&[
                "mycli", "run", "--rm", "-e", "A=1", "busybox", "ls", "--rm", "-l"
            ]),
            [
                "mycli", "run", "--rm", "-e", "A=1", "--", "busybox", "ls", "--rm", "-l"
            ]
        );
        assert_eq!(
            sep(&["mycli", "-H", "unix:///x", "run", "-it", "-eA=1", "busybox"]),
            [
                "mycli",
                "-H",
                "unix:///x",
                "run",
                "-it",
                "-eA=1",
                "--",
                "busybox"
            ]
        );
        assert_eq!(
            sep(&["mycli", "exec", "-w", "/tmp", "c1", "sh", "-c", "pwd"]),
            ["mycli", "exec", "-w", "/tmp", "--", "c1", "sh", "-c", "pwd"]
        );
        assert_eq!(
            sep(&["mycli", "ps", "-a", "--filter", "status=exited"]),
            ["mycli", "ps", "-a", "--filter", "status=exited"]
        );
        assert_eq!(sep(&["mycli", "run", "--name=x", "busybox"])[3], "--");
    }

    #[test]
    fn natural_order_like_dockers_sortorder() {
        let mut v = vec![
            "web10",
            "web2",
            "web",
            "10/tcp -> 0.0.0.0:10",
            "7/tcp -> 0.0.0.0:32768",
            "100/tcp -> 0.0.0.0:8081",
            "53/udp -> 0.0.0.0:32768",
            "a01",
            "a1",
            "a001b",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "7/tcp -> 0.0.0.0:32768",
                "10/tcp -> 0.0.0.0:10",
                "53/udp -> 0.0.0.0:32768",
                "100/tcp -> 0.0.0.0:8081",
                "a1",
                "a01",
                "a001b",
                "web",
                "web2",
                "web10",
            ]
        );
    }

    #[test]
    fn run_parses_docker_style() {
        let argv = sep(&[
            "mycli", "run", "-dit", "--rm", "-h", "box", "-v", "/a:/b:ro", "busybox", "sh", "-c",
            "exit 3",
        ]);
        let cli = Cli::try_parse_from(argv).unwrap();
        let Some(Command::Run(r)) = cli.command else {
            panic!("not run")
        };
        assert!(r.detach && r.opts.interactive && r.opts.tty && r.opts.rm);
        assert_eq!(r.opts.hostname.as_deref(), Some("box"));
        assert_eq!(r.opts.image, "busybox");
        assert_eq!(r.opts.args, ["sh", "-c", "exit 3"]);
    }
}
