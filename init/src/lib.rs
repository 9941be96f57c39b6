//! myinit: a tini-compatible PID 1 for containers. It runs one program, forwards
//! the signals it receives to it, reaps every zombie, and exits with the program's
//! exit code.

mod config;
mod error;
mod log;
mod reaper;
mod signals;
mod spawn;

pub use config::{Command, InitConfig, license, parse, usage, version};
pub use error::{Error, Result};

use log::{debug, fatal, trace, warning};

/// Supervises `config.program` until it exits; returns the code to exit with.
pub fn run(config: InitConfig) -> Result<u8> {
    log::set_verbosity(config.verbosity);

    let signals = signals::SignalSetup::install()?;

    if let Some(signal) = config.parent_death_signal {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) } != 0 {
            return Err(Error::last_os("prctl(PR_SET_PDEATHSIG)"));
        }
    }
    if config.subreaper {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) } != 0 {
            return Err(Error::last_os("prctl(PR_SET_CHILD_SUBREAPER)"));
        }
        trace!("Registered as child subreaper");
    }
    warn_if_orphans_escape();

    let child = spawn::spawn(&config.program, &signals)?;
    loop {
        let signal = signals.wait()?;
        if signal == libc::SIGCHLD {
            debug!("Received SIGCHLD");
        } else {
            forward(signal, child, config.kill_process_group)?;
        }
        if let Some(code) = reaper::reap_all(child, &config.remapped, config.warn_on_reap)? {
            trace!("Exiting: child has exited");
            return Ok(code);
        }
    }
}

/// Prints an error the way tini does: a `[FATAL ...]` line, plus the usage text on
/// stderr for getopt-style mistakes.
pub fn report(name: &str, err: &Error) {
    match err {
        Error::UnknownOption(_) | Error::MissingArgument(_) => {
            let name = name.rsplit('/').next().unwrap_or(name);
            eprint!("{name}: {err}\n{}", usage(name));
        }
        Error::NoProgram => eprint!("{}", usage(name)),
        _ => fatal!("{err}"),
    }
}

fn forward(signal: libc::c_int, child: libc::pid_t, whole_group: bool) -> Result<()> {
    debug!("Passing signal: '{}'", signals::name(signal));
    // The child leads its own process group (see spawn), so -PID is that group.
    let target = if whole_group { -child } else { child };
    // SAFETY: kill with integer arguments only.
    if unsafe { libc::kill(target, signal) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(Error::Sys {
                call: "kill",
                source: err,
            });
        }
        // Exited but not reaped yet: the SIGCHLD behind this signal will end the loop.
        warning!("Child was dead when forwarding signal");
    }
    Ok(())
}

/// Orphans are re-parented to PID 1 or to the nearest subreaper; anywhere else
/// they would become zombies that myinit never sees.
fn warn_if_orphans_escape() {
    // SAFETY: getpid and prctl with a valid out-pointer.
    unsafe {
        if libc::getpid() == 1 {
            return;
        }
        let mut is_subreaper: libc::c_int = 0;
        if libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut is_subreaper as *mut libc::c_int,
        ) != 0
        {
            debug!(
                "Failed to read child subreaper attribute: {}",
                error::describe(&std::io::Error::last_os_error())
            );
        } else if is_subreaper == 1 {
            return;
        }
    }
    warning!(
        "myinit is not running as PID 1 and isn't registered as a child subreaper.\n\
         Zombie processes will not be re-parented to myinit, so zombie reaping won't work.\n\
         To fix the problem, use the -s option or set the environment variable \
         TINI_SUBREAPER to register myinit as a child subreaper, or run myinit as PID 1."
    );
}
