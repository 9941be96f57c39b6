//! `myinit` binary: reads argv, dispatches help/version/license, runs the supervisor.

// A C `main` instead of Rust's: the Rust runtime sets SIGPIPE to "ignore" before
// `main`, an ignored signal survives exec, and every program run under myinit would
// inherit it (`yes | head` would fail with EPIPE errors instead of ending quietly
// on SIGPIPE). tini, being C, passes on the dispositions it was given; so does this.
#![no_main]

use std::ffi::{CStr, OsString, c_char, c_int};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;

use myinit::Command;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args: Vec<OsString> = (0..usize::try_from(argc).unwrap_or(0))
        // SAFETY: the C runtime passes argc valid NUL-terminated strings in argv.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) })
        .map(|arg| OsString::from_vec(arg.to_bytes().to_vec()))
        .collect();
    let name = args
        .first()
        .map_or_else(|| "myinit".into(), |n| n.to_string_lossy().into_owned());

    match myinit::parse(&args, |name| std::env::var_os(name)) {
        Ok(Command::Run(config)) => match myinit::run(config) {
            Ok(code) => c_int::from(code),
            Err(err) => {
                myinit::report(&name, &err);
                1
            }
        },
        Ok(Command::Help) => print(&myinit::usage(&name)),
        Ok(Command::Version) => print(&format!("{}\n", myinit::version())),
        Ok(Command::License) => print(myinit::license()),
        Err(err) => {
            myinit::report(&name, &err);
            1
        }
    }
}

fn print(text: &str) -> c_int {
    // Flushed here: without Rust's `main` nobody flushes stdout at exit.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
