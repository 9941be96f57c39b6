//! Reaping every exited child, and turning the main child's wait status into
//! myinit's exit code.

use libc::{c_int, pid_t};

use crate::config::ExitCodeSet;
use crate::error::{Error, Result};
use crate::log::{debug, info, trace, warning};

/// The exit code for the main child's wait status: its own code, or 128+N when
/// signal N killed it (as a shell reports it), then 0 if `-e` remapped that code.
/// `None` for a status that is neither (a stopped child; waitpid is never asked
/// for those).
pub(crate) fn exit_code(status: c_int, remapped: &ExitCodeSet) -> Option<u8> {
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        return None;
    };
    // Real-time signals give 128+N above 255; tini keeps the low byte, as exit() would.
    let code = (code & 0xff) as u8;
    Some(if remapped.contains(code) { 0 } else { code })
}

/// Reaps every child that has exited, without blocking. Returns the exit code to
/// leave with once the main child is among them.
pub(crate) fn reap_all(
    main_child: pid_t,
    remapped: &ExitCodeSet,
    warn_on_reap: bool,
) -> Result<Option<u8>> {
    let mut main_exit = None;
    loop {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            -1 => {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::ECHILD) {
                    trace!("No child to wait");
                    return Ok(main_exit);
                }
                if err.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Error::Sys {
                    call: "waitpid",
                    source: err,
                });
            }
            0 => {
                trace!("No child to reap");
                return Ok(main_exit);
            }
            pid if pid == main_child => {
                debug!("Reaped child with pid: '{pid}'");
                if libc::WIFSIGNALED(status) {
                    info!(
                        "Main child exited with signal (with signal '{}')",
                        crate::signals::name(libc::WTERMSIG(status))
                    );
                } else {
                    info!(
                        "Main child exited normally (with status '{}')",
                        libc::WEXITSTATUS(status)
                    );
                }
                main_exit = Some(exit_code(status, remapped).ok_or(Error::UnknownChildStatus)?);
            }
            pid => {
                debug!("Reaped child with pid: '{pid}'");
                if warn_on_reap {
                    warning!("Reaped zombie process with pid={pid}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Wait statuses as the kernel encodes them: exit code in bits 8..16, killing
    // signal in the low 7 bits, 0x7f in the low byte for a stopped child.
    fn exited(code: c_int) -> c_int {
        code << 8
    }
    fn killed(signal: c_int) -> c_int {
        signal
    }
    fn stopped(signal: c_int) -> c_int {
        (signal << 8) | 0x7f
    }

    #[test]
    fn exit_status_passes_through() {
        let none = ExitCodeSet::default();
        assert_eq!(exit_code(exited(0), &none), Some(0));
        assert_eq!(exit_code(exited(3), &none), Some(3));
        assert_eq!(exit_code(exited(255), &none), Some(255));
    }

    #[test]
    fn signal_death_is_128_plus_signal() {
        let none = ExitCodeSet::default();
        assert_eq!(exit_code(killed(libc::SIGTERM), &none), Some(143));
        assert_eq!(exit_code(killed(libc::SIGKILL), &none), Some(137));
        assert_eq!(exit_code(killed(libc::SIGINT), &none), Some(130));
        // A core dump sets bit 7; the code is still 128+N.
        assert_eq!(exit_code(killed(libc::SIGSEGV) | 0x80, &none), Some(139));
    }

    #[test]
    fn real_time_signal_death_wraps_like_exit() {
        let none = ExitCodeSet::default();
        // 128 + 64 = 192 fits; SIGRTMAX is 64 on Linux, so nothing above 255 in practice,
        // but the byte arithmetic must not panic for any signal number.
        assert_eq!(exit_code(killed(64), &none), Some(192));
    }

    #[test]
    fn remapped_codes_become_zero() {
        let mut remapped = ExitCodeSet::default();
        remapped.insert(3);
        remapped.insert(143);
        assert_eq!(exit_code(exited(3), &remapped), Some(0));
        assert_eq!(exit_code(exited(4), &remapped), Some(4));
        assert_eq!(exit_code(killed(libc::SIGTERM), &remapped), Some(0));
        assert_eq!(exit_code(killed(libc::SIGKILL), &remapped), Some(137));
    }

    #[test]
    fn stopped_child_has_no_exit_code() {
        assert_eq!(
            exit_code(stopped(libc::SIGSTOP), &ExitCodeSet::default()),
            None
        );
    }
}
