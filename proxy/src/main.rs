//! `myproxy` binary: claims fd 3, parses docker-proxy's flags, runs the proxy.

use std::process::ExitCode;

use myproxy::{Command, ProxyConfig, StatusPipe};

fn main() -> ExitCode {
    // Before anything can open a file and be given fd 3.
    let status = StatusPipe::claim();

    let args: Vec<String> = std::env::args().collect();
    let name = args.first().map_or("myproxy", String::as_str);
    let flags = match myproxy::parse(args.get(1..).unwrap_or_default()) {
        Ok(Command::Run(flags)) => flags,
        Ok(Command::Version) => {
            println!("{}", myproxy::version());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Help) => {
            eprint!("{}", myproxy::usage(name));
            return ExitCode::SUCCESS;
        }
        // Go's flag package: message, usage, exit 2; fd 3 is left untouched.
        Err(err) => {
            eprint!("{err}\n{}", myproxy::usage(name));
            return ExitCode::from(2);
        }
    };

    // A well-formed but unusable command line is a start-up failure for the parent.
    let config = match ProxyConfig::try_from(flags) {
        Ok(config) => config,
        Err(err) => {
            status.failed(&err);
            eprintln!("myproxy: {err}");
            return ExitCode::FAILURE;
        }
    };
    match myproxy::run(config, status) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("myproxy: {err}");
            ExitCode::FAILURE
        }
    }
}
