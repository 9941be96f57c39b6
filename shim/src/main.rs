//! mycontainerd-shim: parse flags, run the action.

use std::io::Write;
use std::process::ExitCode;

use myshim::config::{self, Action};

fn main() -> ExitCode {
    // Before any thread exists: only the reaper's signalfd may see SIGCHLD.
    if let Err(e) = myshim::reaper::block_sigchld() {
        eprintln!("mycontainerd-shim: {e}");
        return ExitCode::from(1);
    }
    let args = match config::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mycontainerd-shim: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.action {
        Action::Start => myshim::start::start(&args).map(|addr| {
            print!("{addr}");
        }),
        Action::Delete => myshim::start::delete(&args).map(|bytes| {
            let _ = std::io::stdout().write_all(&bytes);
        }),
        Action::Serve => myshim::start::run_serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mycontainerd-shim: {e}");
            ExitCode::from(1)
        }
    }
}
