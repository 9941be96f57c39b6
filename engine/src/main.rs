//! `myengined`: parses flags, sets up tracing, loads the TLS files, binds the sockets and
//! runs the daemon.
//! `myengined log-driver ...` is the json-file logging program the shim starts; it runs
//! before any async runtime exists.

use anyhow::Context;
use clap::Parser;
use myengined::config::{Config, Flags};
use tokio_util::sync::CancellationToken;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The shim runs us as the logging program (see `logger::is_logger_invocation` for
    // the argument orders the shims produce).
    let rest = args.get(1..).unwrap_or_default();
    if myengined::logger::is_logger_invocation(rest) {
        std::process::exit(myengined::logger::run_logger(rest));
    }
    let flags = Flags::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("myengined={},warn", flags.log_level))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(&flags) {
        eprintln!("myengined: {e:#}");
        std::process::exit(1);
    }
}

fn run(flags: &Flags) -> anyhow::Result<()> {
    let config = Config::from_flags(flags)?;
    // Two workers: enough for a daemon that mostly waits, and small when idle.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Certificates are read before anything is bound: a bad file is one clear error.
    let acceptor = match &config.tls {
        Some(tls) => Some(tokio_rustls::TlsAcceptor::from(
            myengined::tls::server_config(tls)?,
        )),
        None => None,
    };
    runtime.block_on(async {
        let mut listeners = Vec::new();
        for path in &config.hosts {
            let l = myengined::server::bind(path, config.group)?;
            listeners.push(myengined::server::Listener::Unix(path.clone(), l));
        }
        for addr in &config.tcp_hosts {
            listeners.push(myengined::server::bind_tcp(addr, acceptor.clone())?);
        }
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            on_signal.cancel();
        });
        let hosts = config.hosts.clone();
        let result = myengined::server::run(config, listeners, shutdown).await;
        for h in hosts {
            let _ = std::fs::remove_file(h);
        }
        result.map_err(anyhow::Error::from)
    })
}
