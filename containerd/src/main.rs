//! mycontainerd: parse flags, set up logging, bind the socket, serve until SIGTERM/SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mycontainerd::config::{Config, Flags};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "mycontainerd",
    version,
    about = "A containerd-compatible container daemon"
)]
struct Cli {
    /// gRPC socket path
    #[arg(short = 'a', long)]
    address: Option<PathBuf>,
    /// Persistent data directory
    #[arg(long)]
    root: Option<PathBuf>,
    /// Runtime state directory (bundles, shim sockets)
    #[arg(long)]
    state: Option<PathBuf>,
    /// Log level: trace, debug, info, warn, error (RUST_LOG overrides)
    #[arg(short = 'l', long = "log-level")]
    log_level: Option<String>,
    /// TOML config file
    #[arg(short = 'c', long)]
    config: Option<PathBuf>,
    /// The shim binary
    #[arg(long)]
    shim: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(Flags {
        address: cli.address,
        root: cli.root,
        state: cli.state,
        log_level: cli.log_level,
        config: cli.config,
        shim: cli.shim,
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mycontainerd: {e}");
            return ExitCode::from(1);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let listener = match mycontainerd::server::bind(&config.address, config.socket_gid) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mycontainerd: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mycontainerd: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            trigger.cancel();
        });
        mycontainerd::server::run(config, listener, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mycontainerd: {e}");
            ExitCode::from(1)
        }
    }
}
