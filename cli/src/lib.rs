//! mycli: a docker-compatible command-line client for the Docker Engine API, talking to
//! myengined (or dockerd) over its UNIX socket or TCP (with TLS). Commands, flags, output and exit codes
//! follow docker's CLI; see `commands/` for each.

/// `println!` for our stdout that ends the process quietly when the reader went away
/// (`mycli ps | head -1`), as docker does, instead of panicking on EPIPE.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::emit(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` counterpart of [`outln!`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::emit(&format!($($arg)*)) };
}

/// Writes `text` to stdout; a closed stdout ends the process with the shell's code for
/// SIGPIPE.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|_| o.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(141);
    }
}

pub mod client;
pub mod commands;
pub mod error;
pub mod jsonfmt;
pub mod progress;
pub mod reference;
pub mod session;
pub mod stdio;
pub mod table;
pub mod template;
pub mod tls;
pub mod tty;
pub mod units;

use clap::Parser;

use commands::{Cli, Ctx};
use error::Error;

/// Parses `argv`, runs the command and returns the process's exit code: the command's
/// own (a container's exit code for `run`), 125 for bad flags and for daemon errors of
/// `run`/`create`, 1 for other failures.
pub fn main_with_args(argv: Vec<String>) -> i32 {
    let argv = commands::separate_command_args(argv);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                // docker: "'foo' is not a docker command", exit 1.
                ErrorKind::InvalidSubcommand => 1,
                _ => 125,
            };
            let _ = e.print();
            return code;
        }
    };
    if cli.version {
        outln!("{}", commands::system::version_line());
        return 0;
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return 0;
    };
    let name = command.name();
    let ctx = Ctx::new(cli.host).with_tls(&cli.tls);
    match commands::dispatch(&ctx, command) {
        Ok(code) => code,
        Err(e) => report(name, &e),
    }
}

/// Prints `e` the way docker does for command `name` and returns the exit code.
fn report(name: &str, e: &Error) -> i32 {
    let container_cmd = matches!(name, "run" | "create");
    let code = match e {
        Error::Exit { code, .. } | Error::Reported { code, .. } => *code,
        _ if container_cmd => 125,
        _ => 1,
    };
    match e {
        Error::Reported { message, .. } => eprintln!("{message}"),
        _ if container_cmd => {
            eprintln!("mycli: {e}\n\nRun 'mycli {name} --help' for more information")
        }
        _ => eprintln!("{e}"),
    }
    code
}
