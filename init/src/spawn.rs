//! Starting the main child: its own process group, the terminal's foreground, the
//! signal state myinit was given, then exec.

use std::ffi::{CStr, CString};

use libc::{c_char, c_int, pid_t};

use crate::error::{Error, Result, describe};
use crate::log::{debug, fatal, info};
use crate::signals::SignalSetup;

/// Exit status of the child when exec fails, as a shell reports it:
/// 127 when the program does not exist, 126 when it exists but cannot be run.
///
/// tini returns 126 only for EACCES and 1 for any other failure (ENOEXEC, ELOOP,
/// ETXTBSY, ...); 1 is indistinguishable from the program's own exit 1, so myinit
/// follows the shell instead.
pub(crate) fn exec_failure_code(errno: c_int) -> u8 {
    match errno {
        libc::ENOENT => 127,
        _ => 126,
    }
}

/// Forks and execs `program`; returns the child's PID.
pub(crate) fn spawn(program: &[CString], signals: &SignalSetup) -> Result<pid_t> {
    // Everything the child needs is built before fork, so the child only makes
    // system calls (and, on failure, formats one message).
    let mut argv: Vec<*const c_char> = program.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(std::ptr::null());

    // SAFETY: myinit is single-threaded, so the child starts with no lock held by
    // another thread; it only runs `child` below, which never returns.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Error::last_os("fork")),
        0 => child(&program[0], &argv, signals),
        pid => {
            info!(
                "Spawned child process '{}' with pid '{}'",
                program[0].to_string_lossy(),
                pid
            );
            Ok(pid)
        }
    }
}

/// The forked child: never returns.
fn child(program: &CStr, argv: &[*const c_char], signals: &SignalSetup) -> ! {
    if let Err(what) = isolate() {
        fatal!(
            "{what} failed: {}",
            describe(&std::io::Error::last_os_error())
        );
        exit(1);
    }
    if let Err(what) = signals.restore() {
        fatal!(
            "{what} failed: {}",
            describe(&std::io::Error::last_os_error())
        );
        exit(1);
    }

    // SAFETY: `argv` is a NULL-terminated array of pointers into `program`'s
    // CStrings, all alive until exec replaces the process image.
    unsafe { libc::execvp(program.as_ptr(), argv.as_ptr()) };

    let err = std::io::Error::last_os_error();
    fatal!(
        "exec {} failed: {}",
        program.to_string_lossy(),
        describe(&err)
    );
    exit(exec_failure_code(err.raw_os_error().unwrap_or(0)).into());
}

/// Moves the child into a process group of its own and, when stdin is a terminal,
/// makes that group the terminal's foreground, so that ^C and job control reach the
/// program and not myinit.
///
/// Done in the child rather than the parent: when myinit runs under another myinit
/// (or tini), the outer one may give the foreground to our group after we have handed
/// it on, and the program would end up in the background. SIGTTOU is ignored here
/// (inherited from myinit), which tcsetpgrp from a background group requires.
fn isolate() -> std::result::Result<(), &'static str> {
    // SAFETY: plain system calls on our own process.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            return Err("setpgid");
        }
        if libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) != 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                // No terminal on stdin (or not ours): nothing to hand over.
                Some(libc::ENOTTY) => debug!("tcsetpgrp failed: no tty (ok to proceed)"),
                // Some kernels and emulations report ENXIO for the same situation.
                Some(libc::ENXIO) => debug!("tcsetpgrp failed: no such device (ok to proceed)"),
                _ => return Err("tcsetpgrp"),
            }
        }
    }
    Ok(())
}

fn exit(code: c_int) -> ! {
    // SAFETY: _exit skips atexit handlers and stdio buffers inherited from the
    // parent, which must not run twice.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_map_like_a_shell() {
        assert_eq!(exec_failure_code(libc::ENOENT), 127);
        assert_eq!(exec_failure_code(libc::EACCES), 126);
        assert_eq!(exec_failure_code(libc::ENOEXEC), 126);
        assert_eq!(exec_failure_code(libc::ELOOP), 126);
    }
}
