//! Signal names as ctr accepts them (moby's `signal.ParseSignal`): a number, or a name
//! with or without `SIG`, in any case.

use crate::error::{Error, Result};

const NAMES: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// The signal number `text` names.
pub fn parse(text: &str) -> Result<u32> {
    let invalid = || Error::Invalid {
        what: "signal",
        value: text.to_owned(),
        reason: "not a signal name or number".into(),
    };
    if let Ok(n) = text.parse::<u32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(invalid())
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(*n as u32);
    }
    // RTMIN, RTMIN+n, RTMAX-n.
    let (rtmin, rtmax) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let rt = if name == "RTMIN" {
        Some(rtmin)
    } else if name == "RTMAX" {
        Some(rtmax)
    } else if let Some(n) = name.strip_prefix("RTMIN+") {
        n.parse::<i32>().ok().map(|n| rtmin + n)
    } else if let Some(n) = name.strip_prefix("RTMAX-") {
        n.parse::<i32>().ok().map(|n| rtmax - n)
    } else {
        None
    };
    match rt {
        Some(n) if (rtmin..=rtmax).contains(&n) => Ok(n as u32),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("kill").unwrap(), 9);
        assert_eq!(parse("sigterm").unwrap(), 15);
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("SIGRTMIN+1").unwrap() as i32, libc::SIGRTMIN() + 1);
        for bad in ["", "0", "65", "SIGFOO", "RTMIN+99", "-1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
