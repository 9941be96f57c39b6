//! `myengined`: parses flags, sets up tracing, loads the TLS files, binds the sockets and
//! runs the daemon.
//! `myengined log-driver ...` is the json-file logging program the shim starts; it runs
//! before any async runtime exists.

use anyhow::Context;
use myengined::config::{Config, Flags};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The shim runs us as the logging program (see `logger::is_logger_invocation` for
    // the argument orders the shims produce).
    let rest = args.get(1..).unwrap_or_default();
    if myengined::logger::is_logger_invocation(rest) {
        std::process::exit(myengined::logger::run_logger(rest));
    }
    let flags = match myengined::config_file::parse(&args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("myengined: {e}");
            std::process::exit(1);
        }
    };
    let (filter, reload) = tracing_subscriber::reload::Layer::new(log_filter(&flags.log_level));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    let reload_log_level = move |level: &str| {
        if std::env::var_os("RUST_LOG").is_none() {
            let _ = reload.reload(log_filter(level));
        }
    };
    if let Err(e) = run(&args, &flags, reload_log_level) {
        eprintln!("myengined: {e:#}");
        std::process::exit(1);
    }
}

/// RUST_LOG when set, else the daemon's `--log-level` for our crate.
fn log_filter(level: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("myengined={level},warn")))
}

/// SIGHUP, as dockerd: the configuration file is read again and its log level and
/// default log options take effect (for containers created from then on); a bad file
/// changes nothing.
fn reload(args: &[String], log_opts: &myengined::config::SharedLogOpts, set_level: &impl Fn(&str)) {
    let flags = match myengined::config_file::parse(args) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("reload: {e}");
            return;
        }
    };
    let opts = match myengined::config::log_opts(&flags.log_opts) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("reload: {e}");
            return;
        }
    };
    set_level(&flags.log_level);
    *log_opts.write().unwrap_or_else(|e| e.into_inner()) = opts.clone();
    tracing::info!(log_level = %flags.log_level, ?opts, "configuration reloaded");
}

fn run(
    args: &[String],
    flags: &Flags,
    set_level: impl Fn(&str) + Send + 'static,
) -> anyhow::Result<()> {
    let config = Config::from_flags(flags)?;
    // Taken before the runtime's threads exist (it clears the hand-over variables).
    let passed = if config.fd_hosts.is_empty() {
        Vec::new()
    } else {
        myengined::server::take_passed_sockets(&config.fd_hosts)?
    };
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
        for socket in passed {
            listeners.push(socket.into_listener(acceptor.clone())?);
        }
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        let (args, log_opts) = (args.to_vec(), config.log_opts.clone());
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    _ = hup.recv() => reload(&args, &log_opts, &set_level),
                }
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
