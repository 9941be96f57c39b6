//! `mycli exec`: create an exec instance, start it attached (hijacked) or detached, and
//! exit with its exit code.

use std::path::PathBuf;

use clap::Args;
use engine_api::IdResponse;
use engine_api::exec::{ExecConfig, ExecInspect, ExecStartConfig};

use super::Ctx;
use crate::client::{Body, path_segment};
use crate::error::{Error, Result};
use crate::session::{self, ResizeTarget};
use crate::stdio::{Outcome, StdioOptions};
use crate::tty;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "COMMAND", required = true)]
    pub command: Vec<String>,
}

pub fn exec(ctx: &Ctx, args: ExecArgs) -> Result<i32> {
    let keys = super::run::detach_keys(args.detach_keys.as_deref())?;
    if !args.detach && args.interactive && args.tty && !tty::is_terminal(tty::STDIN) {
        return Err(Error::Reported {
            message: "the input device is not a TTY".into(),
            code: 1,
        });
    }
    let env = super::container_opts::environment(&args.env_file, &args.env)?;
    let console_size = if args.tty {
        tty::size(tty::STDOUT).map(|(r, c)| [u64::from(r), u64::from(c)])
    } else {
        None
    };
    let config = ExecConfig {
        attach_stdin: args.interactive && !args.detach,
        attach_stdout: !args.detach,
        attach_stderr: !args.detach,
        console_size,
        detach_keys: args.detach_keys.clone().unwrap_or_default(),
        tty: args.tty,
        env,
        cmd: Some(args.command.clone()),
        privileged: args.privileged,
        user: args.user.clone().unwrap_or_default(),
        working_dir: args.workdir.clone().unwrap_or_default(),
    };
    let client = ctx.client()?;
    let created: IdResponse = client.post_json(
        &format!("/containers/{}/exec", path_segment(&args.container)),
        &config,
    )?;
    let id = created.id;
    let start_path = format!("/exec/{}/start", path_segment(&id));
    let start = ExecStartConfig {
        detach: args.detach,
        tty: args.tty,
        console_size,
    };
    let body = serde_json::to_vec(&start).map_err(|e| Error::json("encoding request", e))?;
    if args.detach {
        client
            .request("POST", &start_path, Body::Json(body))?
            .drain()?;
        return Ok(0);
    }
    let resize_target =
        (args.tty && tty::is_terminal(tty::STDOUT)).then(|| ResizeTarget::Exec(id.clone()));
    // Signals are not proxied for exec (docker does not either); only resizes.
    session::watch_signals(&client, &args.container, resize_target.clone(), false);
    let conn = client.hijack("POST", &start_path, Body::Json(body))?;
    let outcome = session::interact(
        &client,
        conn,
        &StdioOptions {
            stdin: args.interactive,
            tty: args.tty,
            detach_keys: keys,
        },
        args.tty && args.interactive && tty::is_terminal(tty::STDIN),
        resize_target.as_ref(),
    );
    if outcome? == Outcome::Detached {
        return Ok(0);
    }
    let info: ExecInspect = client.get_json(&format!("/exec/{}/json", path_segment(&id)))?;
    Ok(info.exit_code.unwrap_or(0) as i32)
}
