//! `mycli start`: start containers; with `-a`, attach first and exit with the
//! container's code, like `run` without the create.

use clap::Args;
use engine_api::containers::Inspect;

use super::Ctx;
use crate::client::path_segment;
use crate::error::{Error, Result};
use crate::session::{self, ResizeTarget};
use crate::stdio::{Outcome, StdioOptions};
use crate::tty;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn start(ctx: &Ctx, args: StartArgs) -> Result<i32> {
    let client = ctx.client()?;
    if !(args.attach || args.interactive) {
        let mut failed = Vec::new();
        for name in &args.containers {
            match client.post(&format!("/containers/{}/start", path_segment(name))) {
                Ok(()) => crate::outln!("{name}"),
                Err(e) => {
                    eprintln!("{e}");
                    failed.push(name.as_str());
                }
            }
        }
        if failed.is_empty() {
            return Ok(0);
        }
        return Err(Error::Reported {
            message: format!("Error: failed to start containers: {}", failed.join(", ")),
            code: 1,
        });
    }
    if args.containers.len() > 1 {
        return Err(Error::InvalidArgument(
            "you cannot start and attach multiple containers at once".into(),
        ));
    }
    let name = &args.containers[0];
    let keys = super::run::detach_keys(args.detach_keys.as_deref())?;
    let c: Inspect = client.get_json(&format!("/containers/{}/json", path_segment(name)))?;
    let id = c.id.clone();
    let is_tty = c.config.tty;
    let stdin = args.interactive && c.config.open_stdin;
    if stdin && is_tty && !tty::is_terminal(tty::STDIN) {
        return Err(Error::Reported {
            message: "the input device is not a TTY".into(),
            code: 1,
        });
    }
    let resize_target =
        (is_tty && tty::is_terminal(tty::STDOUT)).then(|| ResizeTarget::Container(id.clone()));
    session::watch_signals(&client, &id, resize_target.clone(), !is_tty);
    let conn = session::attach(&client, &id, stdin, args.detach_keys.as_deref(), false)?;
    let waited = session::register_wait(&client, &id, Some("next-exit"))?;
    client
        .post(&format!("/containers/{}/start", path_segment(&id)))
        .map_err(session::start_failure)?;
    let outcome = session::interact(
        &client,
        conn,
        &StdioOptions {
            stdin,
            tty: is_tty,
            detach_keys: keys,
        },
        stdin && is_tty,
        resize_target.as_ref(),
    );
    if outcome? == Outcome::Detached {
        return Ok(0);
    }
    session::wait_exit(&waited)
}
