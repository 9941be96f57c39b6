//! `mycli run`: create (pulling a missing image), attach, register the wait, start, copy
//! the streams, and exit with the container's exit code — docker's order, so no output
//! and no exit is missed.

use clap::Args;

use super::Ctx;
use super::container_opts::ContainerOpts;
use super::create::create_container;
use crate::client::path_segment;
use crate::error::{Error, Result};
use crate::session::{self, ResizeTarget};
use crate::stdio::{Outcome, StdioOptions};
use crate::tty;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub opts: ContainerOpts,
}

pub fn run(ctx: &Ctx, args: RunArgs) -> Result<i32> {
    let o = &args.opts;
    let image = o.image_reference()?;
    let keys = detach_keys(args.detach_keys.as_deref())?;
    let stdin_tty = tty::is_terminal(tty::STDIN);
    if !args.detach && o.interactive && o.tty && !stdin_tty {
        return Err(Error::Reported {
            message: "the input device is not a TTY".into(),
            code: 1,
        });
    }
    let req = o.to_request(!args.detach)?;
    let client = ctx.client()?;
    let id = create_container(&client, &req, o.name.as_deref(), &image)?.id;
    let start_path = format!("/containers/{}/start", path_segment(&id));

    if args.detach {
        client.post(&start_path).map_err(session::start_failure)?;
        crate::outln!("{id}");
        return Ok(0);
    }

    let resize_target =
        (o.tty && tty::is_terminal(tty::STDOUT)).then(|| ResizeTarget::Container(id.clone()));
    // Before any thread exists, so that every thread leaves these signals to it.
    session::watch_signals(
        &client,
        &id,
        resize_target.clone(),
        args.sig_proxy && !o.tty,
    );

    let conn = session::attach(
        &client,
        &id,
        o.interactive,
        args.detach_keys.as_deref(),
        false,
    )?;
    let condition = if o.rm { "removed" } else { "next-exit" };
    let waited = session::register_wait(&client, &id, Some(condition))?;
    if let Err(e) = client.post(&start_path) {
        drop(conn);
        if o.rm {
            // The daemon removes it; leave when it has (docker waits the same way).
            let _ = waited.recv_timeout(std::time::Duration::from_secs(10));
        }
        return Err(session::start_failure(e));
    }

    let outcome = session::interact(
        &client,
        conn,
        &StdioOptions {
            stdin: o.interactive,
            tty: o.tty,
            detach_keys: keys,
        },
        o.tty && o.interactive && stdin_tty,
        resize_target.as_ref(),
    );
    if outcome? == Outcome::Detached {
        return Ok(0);
    }
    session::wait_exit(&waited)
}

/// The detach sequence: `--detach-keys`, or docker's default ctrl-p,ctrl-q.
pub fn detach_keys(spec: Option<&str>) -> Result<Vec<u8>> {
    engine_api::stream::parse_detach_keys(spec.unwrap_or(engine_api::stream::DEFAULT_DETACH_KEYS))
        .map_err(Error::InvalidArgument)
}
