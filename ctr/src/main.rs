//! myctr: parse flags, set up logging, run the command, exit with its code.

use std::io::Write;

use clap::Parser;
use tracing::Level;
use tracing_subscriber::EnvFilter;

use myctr::cli::Cli;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit_on_usage_error(e),
    };
    // SAFETY: isatty only inspects the descriptor.
    let colors = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colors)
        .with_target(false)
        .without_time();
    // RUST_LOG overrides --debug; without it a plain level filter keeps start-up cheap.
    match std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
    {
        Some(filter) => builder.with_env_filter(filter).init(),
        None => builder
            .with_max_level(if cli.debug { Level::DEBUG } else { Level::WARN })
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("myctr: starting the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(myctr::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("myctr: {e}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    // Copying threads may still be blocked on our stdin or a FIFO: exit without them.
    std::process::exit(code);
}

/// Help and version go to stdout with status 0; a usage error is one line and status 1.
fn exit_on_usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        std::process::exit(
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                1
            } else {
                0
            },
        );
    }
    // clap's message, up to its usage block, on one line.
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!("myctr: {message} (see --help)");
    std::process::exit(1);
}
