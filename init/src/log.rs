//! tini-style diagnostics (`[WARN  myinit (PID)] ...`) on stderr, filtered by verbosity.
//!
//! tini prints its info, debug and trace lines on stdout; myinit keeps stdout for the
//! container's own output and writes every line of its own to stderr.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// tini's default: warnings on, info and below off.
pub(crate) const DEFAULT_VERBOSITY: u32 = 1;

// A process-wide setting read by every message; a global keeps the call sites as
// short as tini's macros and costs nothing in a single-threaded process.
static VERBOSITY: AtomicU32 = AtomicU32::new(DEFAULT_VERBOSITY);

pub(crate) fn set_verbosity(level: u32) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Fatal,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Fatal => "FATAL",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }

    /// The verbosity from which tini prints this level (`FATAL` always).
    fn threshold(self) -> u32 {
        match self {
            Level::Fatal => 0,
            Level::Warn => 1,
            Level::Info => 2,
            Level::Debug => 3,
            Level::Trace => 4,
        }
    }
}

pub(crate) fn enabled(level: Level) -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= level.threshold()
}

pub(crate) fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    // One write per line so that lines from myinit and its forked child do not interleave.
    let line = format!(
        "[{} myinit ({})] {}\n",
        level.label(),
        std::process::id(),
        args
    );
    // Nowhere to report a failure to write to stderr.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

macro_rules! fatal {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Fatal, format_args!($($arg)*)) };
}
macro_rules! warning {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($arg)*)) };
}
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($arg)*)) };
}
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($arg)*)) };
}
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Trace, format_args!($($arg)*)) };
}
pub(crate) use {debug, fatal, info, trace, warning};
