//! Command-line flags, as ctr 1.6 spells them (urfave/cli there, clap here).
//!
//! Global flags come before the command, as with ctr: `-a` is the address there and
//! `--all` in `tasks kill`, so they cannot be global in clap's sense.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

/// containerd's default socket.
pub const DEFAULT_ADDRESS: &str = "/run/containerd/containerd.sock";
/// The runtime ctr asks for unless told otherwise.
pub const DEFAULT_RUNTIME: &str = "io.containerd.runc.v2";
/// Where stdio FIFOs are made, one private directory per process. Not containerd's
/// `/run/containerd/fifo`: that directory belongs to the daemon's host.
pub const DEFAULT_FIFO_ROOT: &str = "/run/myctr/fifo";

#[derive(Parser, Debug)]
#[command(
    name = "myctr",
    version,
    disable_version_flag = true,
    about = "A debugging client for containerd's gRPC API, with ctr's commands and flags"
)]
pub struct Cli {
    /// Enable debug output
    #[arg(long)]
    pub debug: bool,

    /// Address of containerd's gRPC server [env: CONTAINERD_ADDRESS] [default: /run/containerd/containerd.sock]
    #[arg(short = 'a', long, value_name = "PATH")]
    pub address: Option<PathBuf>,

    /// Total timeout for the command, e.g. 30s or 1m (0s: none)
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Timeout for connecting to containerd (0s: the default of 10s)
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Namespace to use with commands [env: CONTAINERD_NAMESPACE] [default: default]
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Print the version
    #[arg(short = 'v', long, action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The socket to dial: the flag, else `$CONTAINERD_ADDRESS`, else containerd's default.
    pub fn address(&self) -> PathBuf {
        self.address
            .clone()
            .or_else(|| non_empty_env("CONTAINERD_ADDRESS").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ADDRESS))
    }

    /// The namespace: the flag, else `$CONTAINERD_NAMESPACE`, else `default`.
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .or_else(|| non_empty_env("CONTAINERD_NAMESPACE"))
            .unwrap_or_else(|| myproto::namespace::DEFAULT.to_owned())
    }
}

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the client and server versions
    Version,
    /// Manage namespaces
    #[command(visible_aliases = ["namespace", "ns"])]
    Namespaces {
        #[command(subcommand)]
        command: NamespacesCommand,
    },
    /// Manage containers
    #[command(visible_aliases = ["c", "container"])]
    Containers {
        #[command(subcommand)]
        command: ContainersCommand,
    },
    /// Manage tasks
    #[command(visible_aliases = ["t", "task"])]
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
    },
    /// Run a container
    Run(Box<RunArgs>),
    /// Display containerd events
    #[command(visible_alias = "event")]
    Events {
        /// Filters, in containerd's syntax (e.g. 'topic~="/tasks/"')
        filters: Vec<String>,
    },
    /// Manage images
    #[command(visible_aliases = ["image", "i"])]
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// Manage content
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Manage snapshots
    #[command(visible_alias = "snapshot")]
    Snapshots {
        /// Snapshotter name [env: CONTAINERD_SNAPSHOTTER] [default: overlayfs]
        #[arg(long, global = true)]
        snapshotter: Option<String>,
        #[command(subcommand)]
        command: SnapshotsCommand,
    },
    /// Manage leases
    Leases {
        #[command(subcommand)]
        command: LeasesCommand,
    },
}

/// The snapshotter: the flag, else `$CONTAINERD_SNAPSHOTTER`, else containerd's default.
pub fn snapshotter(flag: Option<&str>) -> String {
    flag.filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| non_empty_env("CONTAINERD_SNAPSHOTTER"))
        .unwrap_or_else(|| myimages::DEFAULT_SNAPSHOTTER.to_owned())
}

/// How to reach a registry (`images pull`, `content fetch`).
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryFlags {
    /// Skip SSL certificate validation
    #[arg(short = 'k', long)]
    pub skip_verify: bool,
    /// Allow connections using plain HTTP
    #[arg(long)]
    pub plain_http: bool,
    /// User[:password] for the registry
    #[arg(short, long, value_name = "USER[:PASSWORD]")]
    pub user: Option<String>,
    /// Labels to attach to the image (KEY=VALUE); repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Pull content for a specific platform (default: this machine's)
    #[arg(long)]
    pub platform: Option<String>,
    /// Set the max concurrent downloads for each pull (0: 3)
    #[arg(long, default_value_t = 0)]
    pub max_concurrent_downloads: usize,
}

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// Pull an image from a remote, unpack it and record it
    Pull {
        #[command(flatten)]
        registry: RegistryFlags,
        /// Snapshotter name [env: CONTAINERD_SNAPSHOTTER] [default: overlayfs]
        #[arg(long)]
        snapshotter: Option<String>,
        /// Print the resulting image's chain ID
        #[arg(long)]
        print_chainid: bool,
        /// The image (short names are normalised as Docker does: busybox is docker.io/library/busybox:latest)
        reference: String,
    },
    /// List images known to containerd
    #[command(visible_alias = "ls")]
    List {
        /// Print only the image refs
        #[arg(short, long)]
        quiet: bool,
        /// Filters, in containerd's syntax
        filters: Vec<String>,
    },
    /// Remove one or more images by reference
    #[command(visible_aliases = ["del", "remove", "rm"])]
    Delete {
        /// Synchronously remove image and all associated resources
        #[arg(long)]
        sync: bool,
        #[arg(required = true)]
        refs: Vec<String>,
    },
    /// Import images from a tar archive (OCI layout or docker save; - for stdin)
    Import {
        /// Base image name for OCI ref names (tags); only images with this name prefix are imported [default: import-YYYY-MM-DD]
        #[arg(long)]
        base_name: Option<String>,
        /// Platform to unpack (default: this machine's)
        #[arg(long)]
        platform: Option<String>,
        /// Skip unpacking the images
        #[arg(long)]
        no_unpack: bool,
        /// Snapshotter name [env: CONTAINERD_SNAPSHOTTER] [default: overlayfs]
        #[arg(long)]
        snapshotter: Option<String>,
        input: PathBuf,
    },
    /// Export images to an OCI tar archive (- for stdout)
    Export {
        /// Do not add a Docker compatible manifest.json to the archive
        #[arg(long)]
        skip_manifest_json: bool,
        /// Export content for a specific platform (default: this machine's)
        #[arg(long)]
        platform: Option<String>,
        /// Export content for all platforms
        #[arg(long)]
        all_platforms: bool,
        output: PathBuf,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Tag an image
    Tag {
        /// Force target_ref to be created, regardless if it already exists
        #[arg(long)]
        force: bool,
        source: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContentCommand {
    /// List all blobs in the store
    #[command(visible_alias = "ls")]
    List {
        /// Print only the blob digest
        #[arg(short, long)]
        quiet: bool,
        /// Filters, in containerd's syntax
        filters: Vec<String>,
    },
    /// Get the data of blobs (to stdout)
    Get {
        #[arg(required = true)]
        digests: Vec<String>,
    },
    /// Fetch all content of an image into the store (no unpacking)
    Fetch {
        #[command(flatten)]
        registry: RegistryFlags,
        reference: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SnapshotsCommand {
    /// List snapshots
    #[command(visible_alias = "ls")]
    List,
    /// Get info about a snapshot
    Info { key: String },
    /// Remove snapshots
    #[command(visible_aliases = ["del", "remove", "rm"])]
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Usage of snapshots (all, or the given keys)
    Usage {
        /// Display size in bytes
        #[arg(short = 'b')]
        bytes: bool,
        keys: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LeasesCommand {
    /// List all active leases
    #[command(visible_alias = "ls")]
    List {
        /// Print only the lease IDs
        #[arg(short, long)]
        quiet: bool,
        /// Filters, in containerd's syntax
        filters: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum NamespacesCommand {
    /// Create a new namespace; it must be unique
    #[command(visible_alias = "c")]
    Create {
        name: String,
        /// Labels, KEY=VALUE (a bare KEY means KEY=true)
        labels: Vec<String>,
    },
    /// List namespaces
    #[command(visible_alias = "ls")]
    List {
        /// Print only the namespace name
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove one or more namespaces; for now, a namespace must be empty
    #[command(visible_alias = "rm")]
    Remove {
        /// Also delete the namespace's parent cgroup
        #[arg(short, long)]
        cgroup: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set and clear labels for a namespace; an empty value clears a label
    Label { name: String, labels: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum ContainersCommand {
    /// Create a container
    Create(Box<CreateArgs>),
    /// Delete one or more existing containers
    #[command(visible_aliases = ["del", "remove", "rm"])]
    Delete {
        /// Do not clean up the snapshot with the container
        #[arg(long)]
        keep_snapshot: bool,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Get info about a container
    Info {
        /// Only display the spec
        #[arg(long)]
        spec: bool,
        id: String,
    },
    /// List containers
    #[command(visible_alias = "ls")]
    List {
        /// Print only the container id
        #[arg(short, long)]
        quiet: bool,
        /// Filters, in containerd's syntax
        filters: Vec<String>,
    },
    /// Set and clear labels for a container
    Label { id: String, labels: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// Attach to the IO of a running container
    Attach { id: String },
    /// Delete one or more tasks
    #[command(visible_aliases = ["del", "remove", "rm"])]
    Delete {
        /// Kill the task's processes first
        #[arg(short, long)]
        force: bool,
        /// Delete this exec process rather than the task
        #[arg(long)]
        exec_id: Option<String>,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Execute an additional process in an existing container
    Exec(ExecArgs),
    /// List tasks
    #[command(visible_alias = "ls")]
    List {
        /// Print only the task id
        #[arg(short, long)]
        quiet: bool,
    },
    /// Signal a container (default: its stop signal, else SIGTERM)
    Kill {
        /// Signal to send, by name (SIGKILL, KILL) or number
        #[arg(short, long)]
        signal: Option<String>,
        /// The exec process to signal
        #[arg(long)]
        exec_id: Option<String>,
        /// Send the signal to all processes inside the container
        #[arg(short, long)]
        all: bool,
        id: String,
    },
    /// Pause an existing container
    Pause { id: String },
    /// List processes of a container
    Ps { id: String },
    /// Resume a paused container
    Resume { id: String },
    /// Start a container that has been created
    Start(StartArgs),
    /// Get a single data point of metrics for a task
    #[command(visible_alias = "metric")]
    Metrics {
        /// "table" or "json"
        #[arg(long, default_value = "table")]
        format: String,
        id: String,
    },
}

/// How a task's stdio is provided (`tasks start`, `run`).
#[derive(Args, Debug, Clone, Default)]
pub struct StdioFlags {
    /// Send all IO to /dev/null
    #[arg(long)]
    pub null_io: bool,
    /// Log URI (file://PATH or binary://PATH?ARGS) for the task's output
    #[arg(long, value_name = "URI")]
    pub log_uri: Option<String>,
    /// Directory used for storing IO FIFOs
    #[arg(long, value_name = "DIR")]
    pub fifo_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    #[command(flatten)]
    pub stdio: StdioFlags,
    /// File path to write the task's pid
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Detach from the task after it has started execution
    #[arg(short, long)]
    pub detach: bool,
    /// Expect a terminal: the container's spec decides, so this only checks that it has one
    #[arg(short, long)]
    pub tty: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Working directory of the new process
    #[arg(long)]
    pub cwd: Option<String>,
    /// Allocate a TTY for the process
    #[arg(short, long)]
    pub tty: bool,
    /// Detach from the process after it has started execution
    #[arg(short, long)]
    pub detach: bool,
    /// Exec-specific id for the process
    #[arg(long, required = true)]
    pub exec_id: String,
    /// Directory used for storing IO FIFOs
    #[arg(long, value_name = "DIR")]
    pub fifo_dir: Option<PathBuf>,
    /// Log URI for the process's output
    #[arg(long, value_name = "URI")]
    pub log_uri: Option<String>,
    /// User id, UID[:GID] (numeric)
    #[arg(long)]
    pub user: Option<String>,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub args: Vec<String>,
}

/// Options of the runc runtime (ctr has them on `run` only; myctr also on `containers create`).
#[derive(Args, Debug, Clone, Default)]
pub struct RuntimeFlags {
    /// Runc-compatible binary the shim runs (the runc options' BinaryName)
    #[arg(long, value_name = "PATH")]
    pub runc_binary: Option<String>,
    /// Runc-compatible root (the runc options' Root)
    #[arg(long, value_name = "DIR")]
    pub runc_root: Option<String>,
}

/// What describes a new container (`run`, `containers create`).
#[derive(Args, Debug, Clone)]
pub struct ContainerFlags {
    /// Path to a runtime spec file to use as is (then only the container id is given)
    #[arg(short = 'c', long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Working directory of the process
    #[arg(long)]
    pub cwd: Option<String>,
    /// Additional environment variable (FOO=bar); repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// File of additional environment variables, one KEY=VALUE a line
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Additional label (foo=bar); repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Additional OCI annotation (foo=bar); repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Additional mount (type=bind,src=/tmp,dst=/host,options=rbind:ro); repeatable
    #[arg(long, value_name = "SPEC")]
    pub mount: Vec<String>,
    /// Make the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Runtime name
    #[arg(long, default_value = DEFAULT_RUNTIME)]
    pub runtime: String,
    /// Allocate a TTY for the container
    #[arg(short, long)]
    pub tty: bool,
    /// File path to write the task's pid
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Turn off the spec's noNewPrivileges
    #[arg(long)]
    pub allow_new_privs: bool,
    /// Memory limit in bytes
    #[arg(long, value_name = "BYTES")]
    pub memory_limit: Option<u64>,
    /// Add a Linux capability (CAP_...); repeatable
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability (CAP_...); repeatable
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// The first argument is a root filesystem directory, not an image
    #[arg(long)]
    pub rootfs: bool,
    /// Disable the use of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// CFS quota in microseconds (-1: unset)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub cpu_quota: i64,
    /// CFS period in microseconds (0: unset)
    #[arg(long, default_value_t = 0)]
    pub cpu_period: u64,
    /// Propagation of the container's root filesystem (e.g. rslave)
    #[arg(long)]
    pub rootfs_propagation: Option<String>,
    /// Join an existing Linux namespace, TYPE:PATH; repeatable
    #[arg(long, value_name = "TYPE:PATH")]
    pub with_ns: Vec<String>,
    /// Snapshotter of the container's root filesystem [env: CONTAINERD_SNAPSHOTTER] [default: overlayfs]
    #[arg(long)]
    pub snapshotter: Option<String>,
    /// Platform of the image to run (default: this machine's)
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub container: ContainerFlags,
    #[command(flatten)]
    pub runtime: RuntimeFlags,
    /// ROOTFS (with --rootfs) or IMAGE, then the container ID, then the command
    #[arg(
        value_name = "IMAGE|ROOTFS ID [COMMAND [ARG...]]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Remove the container after running (not with --detach)
    #[arg(long)]
    pub rm: bool,
    /// Detach from the task after it has started execution (not with --rm)
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub stdio: StdioFlags,
    /// Cgroup path (default: /NAMESPACE/ID)
    #[arg(long)]
    pub cgroup: Option<String>,
    #[command(flatten)]
    pub runtime_options: RuntimeFlags,
    /// CFS CPU quota in CPUs (e.g. 0.5)
    #[arg(long, default_value_t = 0.0)]
    pub cpus: f64,
    /// CPU shares
    #[arg(long, default_value_t = 1024)]
    pub cpu_shares: u64,
    #[command(flatten)]
    pub container: ContainerFlags,
    /// ROOTFS (with --rootfs) or IMAGE, then the container ID, then the command
    #[arg(
        value_name = "IMAGE|ROOTFS ID [COMMAND [ARG...]]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub args: Vec<String>,
}

/// Parses a Go-style duration: `0`, `1.5s`, `1m30s`, `250ms`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (examples: 10s, 1m30s, 500ms)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        for bad in ["", "10", "s", "1x", "-1s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn run_keeps_flags_of_the_command_for_the_container() {
        let cli = Cli::try_parse_from([
            "myctr",
            "run",
            "--rm",
            "--rootfs",
            "/r",
            "id",
            "sh",
            "-c",
            "echo -n hi",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert!(run.rm && run.container.rootfs);
        assert_eq!(run.args, ["/r", "id", "sh", "-c", "echo -n hi"]);
    }

    #[test]
    fn global_flags_and_aliases() {
        let cli = Cli::try_parse_from([
            "myctr", "-n", "x", "-a", "/s", "t", "kill", "-a", "-s", "9", "c",
        ])
        .unwrap();
        assert_eq!(cli.namespace(), "x");
        assert_eq!(cli.address(), PathBuf::from("/s"));
        let Command::Tasks {
            command: TasksCommand::Kill {
                all, signal, id, ..
            },
        } = cli.command
        else {
            panic!("not kill")
        };
        assert!(all);
        assert_eq!(signal.as_deref(), Some("9"));
        assert_eq!(id, "c");
        Cli::try_parse_from(["myctr", "ns", "rm", "a", "b"]).unwrap();
        Cli::try_parse_from(["myctr", "c", "rm", "a"]).unwrap();
        Cli::try_parse_from(["myctr", "container", "del", "a"]).unwrap();
        Cli::try_parse_from(["myctr", "task", "ls", "-q"]).unwrap();
    }

    #[test]
    fn exec_requires_an_exec_id() {
        assert!(Cli::try_parse_from(["myctr", "t", "exec", "c", "sh"]).is_err());
        let cli =
            Cli::try_parse_from(["myctr", "t", "exec", "--exec-id", "e", "c", "sh", "-c", "x"])
                .unwrap();
        let Command::Tasks {
            command: TasksCommand::Exec(exec),
        } = cli.command
        else {
            panic!("not exec")
        };
        assert_eq!(exec.args, ["sh", "-c", "x"]);
    }
}
