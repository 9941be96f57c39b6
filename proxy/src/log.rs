//! One-line diagnostics on stderr, as docker-proxy writes them with Go's `log`.
//!
//! Only what an operator can act on is logged (a backend that refuses connections,
//! running out of file descriptors); a client resetting its connection is not news.

macro_rules! warning {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // One write per line; nowhere to report a failure to write to stderr.
        let line = format!("myproxy: {}\n", format_args!($($arg)*));
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }};
}
pub(crate) use warning;
