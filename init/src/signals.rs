//! Collecting signals synchronously in the main loop, and handing the child the
//! signal state myinit itself was started with.

use std::mem::MaybeUninit;

use libc::c_int;

use crate::error::{Error, Result};

/// The names `-p` accepts: tini's table, spelled as tini spells them.
const NAMES: &[(&str, c_int)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGSYS", libc::SIGSYS),
];

/// Signals left to their normal handling instead of being forwarded: the synchronous
/// ones describe a fault of myinit itself, and SIGTTIN/SIGTTOU are ignored so that
/// myinit never stops on the terminal it handed to the child.
const NOT_COLLECTED: &[c_int] = &[
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

pub(crate) fn by_name(name: &str) -> Option<c_int> {
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, number)| number)
}

/// A readable name for messages: tini's name when it has one, else the number
/// (real-time signals are forwarded too).
pub(crate) fn name(signal: c_int) -> String {
    NAMES
        .iter()
        .find(|&&(_, number)| number == signal)
        .map_or_else(|| format!("signal {signal}"), |(n, _)| (*n).to_string())
}

/// The signal state myinit runs with, and the one it found, which the child gets back.
pub(crate) struct SignalSetup {
    collected: libc::sigset_t,
    original_mask: libc::sigset_t,
    original_ttin: libc::sigaction,
    original_ttou: libc::sigaction,
}

impl SignalSetup {
    /// Blocks every signal that the main loop collects and ignores SIGTTIN/SIGTTOU.
    ///
    /// A blocked signal stays pending until `wait` takes it, even when its default
    /// action would be to ignore it (SIGCHLD, SIGWINCH) and even for the init of a PID
    /// namespace, to which the kernel delivers no signal it has no handler for.
    pub(crate) fn install() -> Result<Self> {
        // SAFETY: plain libc calls on stack-owned sigset_t/sigaction values, each
        // initialised by sigfillset/sigprocmask/sigaction before it is read.
        unsafe {
            let mut collected = MaybeUninit::<libc::sigset_t>::uninit();
            if libc::sigfillset(collected.as_mut_ptr()) != 0 {
                return Err(Error::last_os("sigfillset"));
            }
            let mut collected = collected.assume_init();
            for &signal in NOT_COLLECTED {
                if libc::sigdelset(&mut collected, signal) != 0 {
                    return Err(Error::last_os("sigdelset"));
                }
            }

            let mut original_mask = MaybeUninit::<libc::sigset_t>::uninit();
            if libc::sigprocmask(libc::SIG_SETMASK, &collected, original_mask.as_mut_ptr()) != 0 {
                return Err(Error::last_os("sigprocmask"));
            }
            let original_mask = original_mask.assume_init();

            let mut ignore: libc::sigaction = std::mem::zeroed();
            ignore.sa_sigaction = libc::SIG_IGN;
            libc::sigemptyset(&mut ignore.sa_mask);
            let mut original_ttin = MaybeUninit::<libc::sigaction>::uninit();
            if libc::sigaction(libc::SIGTTIN, &ignore, original_ttin.as_mut_ptr()) != 0 {
                return Err(Error::last_os("sigaction(SIGTTIN)"));
            }
            let mut original_ttou = MaybeUninit::<libc::sigaction>::uninit();
            if libc::sigaction(libc::SIGTTOU, &ignore, original_ttou.as_mut_ptr()) != 0 {
                return Err(Error::last_os("sigaction(SIGTTOU)"));
            }

            Ok(SignalSetup {
                collected,
                original_mask,
                original_ttin: original_ttin.assume_init(),
                original_ttou: original_ttou.assume_init(),
            })
        }
    }

    /// Gives the calling process (the freshly forked child) the signal mask and the
    /// SIGTTIN/SIGTTOU actions that myinit was started with. Async-signal-safe.
    pub(crate) fn restore(&self) -> std::result::Result<(), &'static str> {
        // SAFETY: pointers to fields of `self`, valid for the duration of the calls.
        unsafe {
            if libc::sigprocmask(libc::SIG_SETMASK, &self.original_mask, std::ptr::null_mut()) != 0
            {
                return Err("Restoring child signal mask");
            }
            if libc::sigaction(libc::SIGTTIN, &self.original_ttin, std::ptr::null_mut()) != 0 {
                return Err("Restoring SIGTTIN handler");
            }
            if libc::sigaction(libc::SIGTTOU, &self.original_ttou, std::ptr::null_mut()) != 0 {
                return Err("Restoring SIGTTOU handler");
            }
        }
        Ok(())
    }

    /// Blocks until one of the collected signals is pending and takes it.
    ///
    /// No timeout: a pending SIGCHLD is never lost while blocked, and every wake-up
    /// reaps all exited children, so an idle myinit costs no CPU at all.
    pub(crate) fn wait(&self) -> Result<c_int> {
        loop {
            // SAFETY: `collected` is an initialised sigset_t; a null siginfo is allowed.
            let signal = unsafe { libc::sigwaitinfo(&self.collected, std::ptr::null_mut()) };
            if signal > 0 {
                return Ok(signal);
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::Sys {
                    call: "sigwaitinfo",
                    source: err,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &(text, number) in NAMES {
            assert_eq!(by_name(text), Some(number));
            assert_eq!(name(number), text);
        }
        assert_eq!(
            name(libc::SIGRTMIN() + 1),
            format!("signal {}", libc::SIGRTMIN() + 1)
        );
    }

    #[test]
    fn table_matches_libc_numbers() {
        // Guards against a typo pairing a name with the wrong constant.
        assert_eq!(by_name("SIGTERM"), Some(15));
        assert_eq!(by_name("SIGKILL"), Some(9));
        assert_eq!(by_name("SIGUSR1"), Some(10));
        assert_eq!(by_name("SIGWINCH"), Some(28));
        assert_eq!(NAMES.len(), 28);
    }
}
