//! myrunc: parse flags, set up logging, run the command, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use myrunc::commands::{self, Cli};
use myrunc::log::{LogFormat, RuncFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = if cli.log_format == "json" {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    let log_file = match &cli.log {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("myrunc: opening log file {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let writer = match &log_file {
        Some(f) => BoxMakeWriter::new(f.try_clone().expect("cloning the log file descriptor")),
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .event_format(RuncFormat(format));
    // RUST_LOG overrides --debug; without it a plain level filter keeps start-up cheap
    // (building an EnvFilter costs more than the rest of `myrunc --version`).
    match std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
    {
        Some(filter) => builder.with_env_filter(filter).init(),
        None => builder
            .with_max_level(if cli.debug { Level::DEBUG } else { Level::WARN })
            .init(),
    }
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // The log gets the structured line (callers such as containerd parse it);
            // the terminal gets one plain line.
            if log_file.is_some() {
                tracing::error!("{e}");
            }
            eprintln!("myrunc: {e}");
            ExitCode::from(1)
        }
    }
}
