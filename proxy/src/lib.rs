//! myproxy: a docker-proxy-compatible userland forwarder for one published TCP or UDP
//! port, single-threaded on one epoll loop.

mod config;
mod error;
mod listen;
mod log;
mod poller;
mod readiness;
mod server;
mod slab;
mod tcp;
mod udp;

pub use config::{Command, Flags, Proto, ProxyConfig, parse, usage};
pub use error::{Error, FlagError, Result};
pub use readiness::StatusPipe;

/// Starts forwarding as `config` says, reports the outcome on `status` (fd 3), and
/// runs until SIGTERM or SIGINT.
pub fn run(config: ProxyConfig, status: StatusPipe) -> Result<()> {
    // The listeners first: with -use-listen-fd they are fds 4 and 5, which must be
    // taken before anything else is opened.
    let setup =
        listen::open(&config).and_then(|listeners| Ok((listeners, server::StopSignals::block()?)));
    let (listeners, signals) = match setup {
        Ok(setup) => setup,
        Err(err) => {
            status.failed(&err);
            return Err(err);
        }
    };
    server::raise_fd_limit();
    // Errors from here on are reported on fd 3 too, as long as it is still open.
    let mut status = Some(status);
    let result = server::serve(&config, listeners, signals, || {
        if let Some(status) = status.take() {
            status.ready();
        }
    });
    if let (Err(err), Some(status)) = (&result, status) {
        status.failed(err);
    }
    result
}

/// What `-v` prints.
pub fn version() -> String {
    format!("myproxy version {}", env!("CARGO_PKG_VERSION"))
}
