//! `mycli attach`: attach our stdio to a running container, and exit with its exit code
//! when it stops (0 after a detach).

use clap::Args;
use engine_api::containers::Inspect;

use super::Ctx;
use crate::client::path_segment;
use crate::error::{Error, Result};
use crate::session::{self, ResizeTarget};
use crate::stdio::{Outcome, StdioOptions};
use crate::tty;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn attach(ctx: &Ctx, args: AttachArgs) -> Result<i32> {
    let keys = super::run::detach_keys(args.detach_keys.as_deref())?;
    let client = ctx.client()?;
    let c: Inspect = client.get_json(&format!(
        "/containers/{}/json",
        path_segment(&args.container)
    ))?;
    if !c.state.running {
        return Err(Error::Reported {
            message: "You cannot attach to a stopped container, start it first".into(),
            code: 1,
        });
    }
    if c.state.paused {
        return Err(Error::Reported {
            message: "You cannot attach to a paused container, unpause it first".into(),
            code: 1,
        });
    }
    let id = c.id.clone();
    let is_tty = c.config.tty;
    let stdin = !args.no_stdin && c.config.open_stdin;
    if stdin && is_tty && !tty::is_terminal(tty::STDIN) {
        return Err(Error::Reported {
            message: "the input device is not a TTY".into(),
            code: 1,
        });
    }
    let resize_target =
        (is_tty && tty::is_terminal(tty::STDOUT)).then(|| ResizeTarget::Container(id.clone()));
    session::watch_signals(
        &client,
        &id,
        resize_target.clone(),
        args.sig_proxy && !is_tty,
    );
    // Registered first, so that an exit while we attach is still seen.
    let waited = session::register_wait(&client, &id, None)?;
    let conn = session::attach(&client, &id, stdin, args.detach_keys.as_deref(), false)?;
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
