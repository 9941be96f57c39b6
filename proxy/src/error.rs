//! Errors of myproxy: command-line syntax errors (exit 2, like Go's flag package)
//! and start-up failures (reported on fd 3, exit 1, like docker-proxy).

use std::io;
use std::net::{IpAddr, SocketAddr};

use nix::errno::Errno;

use crate::config::Proto;

/// A malformed command line, worded as Go's `flag` package words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("flag provided but not defined: -{0}")]
    Undefined(String),
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    #[error("invalid value {value:?} for flag -{flag}: {reason}")]
    InvalidValue {
        value: String,
        flag: String,
        reason: String,
    },
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
}

/// Why the proxy could not start or stopped running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported protocol {0}")]
    UnsupportedProtocol(String),

    #[error("invalid -{flag} {value}: not a port number")]
    InvalidPort { flag: &'static str, value: i64 },

    #[error("-udp-idle-timeout must be more than 0")]
    ZeroIdleTimeout,

    #[error("-dual-stack needs -host-ip 0.0.0.0 or ::, not {0}")]
    DualStackNeedsWildcard(IpAddr),

    /// Worded as docker-proxy's Go error, e.g. `failed to listen on 0.0.0.0:80:
    /// listen tcp4 0.0.0.0:80: bind: address already in use`, which people grep for.
    #[error("failed to listen on {addr}: listen {proto}{} {addr}: {call}: {}", family(addr), go_text(*errno))]
    Listen {
        proto: Proto,
        addr: SocketAddr,
        call: &'static str,
        errno: Errno,
    },

    #[error("listen fd {fd}: {reason}")]
    ListenFd { fd: i32, reason: String },

    #[error("{call} failed: {source}")]
    Sys {
        call: &'static str,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub(crate) fn sys(call: &'static str, errno: Errno) -> Self {
        Error::Sys {
            call,
            source: io::Error::from(errno),
        }
    }
}

fn family(addr: &SocketAddr) -> &'static str {
    if addr.is_ipv4() { "4" } else { "6" }
}

/// Go spells errno texts in lower case ("address already in use").
fn go_text(errno: Errno) -> String {
    errno.desc().to_lowercase()
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_error_reads_like_docker_proxys() {
        let err = Error::Listen {
            proto: Proto::Tcp,
            addr: "0.0.0.0:8080".parse().unwrap(),
            call: "bind",
            errno: Errno::EADDRINUSE,
        };
        assert_eq!(
            err.to_string(),
            "failed to listen on 0.0.0.0:8080: listen tcp4 0.0.0.0:8080: bind: address already in use"
        );
        let err = Error::Listen {
            proto: Proto::Udp,
            addr: "[::1]:53".parse().unwrap(),
            call: "bind",
            errno: Errno::EACCES,
        };
        assert_eq!(
            err.to_string(),
            "failed to listen on [::1]:53: listen udp6 [::1]:53: bind: permission denied"
        );
    }
}
