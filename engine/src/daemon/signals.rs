//! Signal names and numbers as `docker kill -s` and `StopSignal` give them.

use crate::error::{Error, Result};

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `SIGTERM`, `TERM`, `term`, `15`, `RTMIN+3`.
pub fn parse(text: &str) -> Result<u32> {
    let invalid = || Error::BadParameter(format!("Invalid signal: {text}"));
    if let Ok(n) = text.parse::<u32>() {
        if n == 0 || n > libc::SIGRTMAX() as u32 {
            return Err(invalid());
        }
        return Ok(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = SIGNALS.iter().find(|(s, _)| *s == name) {
        return Ok(*n as u32);
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if name == "RTMIN" {
        return Ok(min as u32);
    }
    if name == "RTMAX" {
        return Ok(max as u32);
    }
    // The offset is a small unsigned number: a sign, or one large enough to overflow,
    // is not a signal.
    if let Some(off) = name.strip_prefix("RTMIN+").and_then(rt_offset)
        && let Some(n) = min.checked_add(off)
        && (min..=max).contains(&n)
    {
        return Ok(n as u32);
    }
    if let Some(off) = name.strip_prefix("RTMAX-").and_then(rt_offset)
        && let Some(n) = max.checked_sub(off)
        && (min..=max).contains(&n)
    {
        return Ok(n as u32);
    }
    Err(invalid())
}

/// An `RTMIN+n`/`RTMAX-n` offset: ASCII digits only, no sign.
fn rt_offset(text: &str) -> Option<i32> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("term").unwrap(), 15);
        assert_eq!(parse("HUP").unwrap(), 1);
        assert_eq!(parse("10").unwrap(), 10);
        assert!(parse("SIGNOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn realtime_offsets_stay_in_range() {
        let (min, max) = (libc::SIGRTMIN() as u32, libc::SIGRTMAX() as u32);
        assert_eq!(parse("RTMIN+3").unwrap(), min + 3);
        assert_eq!(parse("SIGRTMIN").unwrap(), min);
        assert_eq!(parse("RTMAX-2").unwrap(), max - 2);
        assert_eq!(parse(&format!("RTMIN+{}", max - min)).unwrap(), max);
        for bad in [
            "RTMIN+-5",
            "RTMIN+2147483647",
            "RTMIN+99",
            "RTMAX-99",
            "RTMAX--1",
            "RTMIN+",
            "RTMIN++1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
