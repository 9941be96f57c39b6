//! `stop`, `kill`, `rm` and `wait`: one request per container named, each name printed
//! on success (the exit code for `wait`), each error on stderr, exit 1 if any failed.

use clap::Args;
use engine_api::containers::WaitResponse;

use super::{Ctx, for_each_name};
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_negative_numbers = true
    )]
    pub time: Option<i64>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Restart policy to apply when a container exits (no, always, on-failure[:N], unless-stopped)
    #[arg(long)]
    pub restart: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn stop(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    stop_or_restart(ctx, args, "stop")
}

/// `restart` takes the same flags as `stop`.
pub fn restart(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    stop_or_restart(ctx, args, "restart")
}

fn stop_or_restart(ctx: &Ctx, args: StopArgs, action: &str) -> Result<i32> {
    let client = ctx.client()?;
    let mut params = Vec::new();
    if let Some(t) = args.time {
        params.push(("t", t.to_string()));
    }
    // The signal parameter exists from API 1.42 on; older daemons use the stop signal.
    if let Some(s) = &args.signal
        && client.at_least("1.42")
    {
        params.push(("signal", s.clone()));
    }
    let q = query(&params);
    for_each_name(&args.containers, |name| {
        client.post(&format!("/containers/{}/{action}{q}", path_segment(name)))
    })
}

pub fn kill(ctx: &Ctx, args: KillArgs) -> Result<i32> {
    let client = ctx.client()?;
    let params: Vec<(&str, String)> = args.signal.iter().map(|s| ("signal", s.clone())).collect();
    let q = query(&params);
    for_each_name(&args.containers, |name| {
        client.post(&format!("/containers/{}/kill{q}", path_segment(name)))
    })
}

/// `update`: what the engine can change on a container (its restart policy).
pub fn update(ctx: &Ctx, args: UpdateArgs) -> Result<i32> {
    let Some(restart) = &args.restart else {
        return Err(Error::InvalidArgument(
            "you must provide one or more flags when using this command".into(),
        ));
    };
    let body = serde_json::json!({
        "RestartPolicy": super::container_opts::restart_policy(restart)?,
    });
    let client = ctx.client()?;
    for_each_name(&args.containers, |name| {
        client
            .post_json::<serde_json::Value>(
                &format!("/containers/{}/update", path_segment(name)),
                &body,
            )
            .map(drop)
    })
}

pub fn rm(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let client = ctx.client()?;
    let mut params = Vec::new();
    if args.force {
        params.push(("force", "1"));
    }
    if args.volumes {
        params.push(("v", "1"));
    }
    let q = query(&params);
    for_each_name(&args.containers, |name| {
        client
            .request(
                "DELETE",
                &format!("/containers/{}{q}", path_segment(name)),
                Body::Empty,
            )?
            .drain()
    })
}

pub fn wait(ctx: &Ctx, args: WaitArgs) -> Result<i32> {
    let client = ctx.client()?;
    let mut failed = false;
    for name in &args.containers {
        let answer: Result<WaitResponse> = client
            .request(
                "POST",
                &format!("/containers/{}/wait", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.json());
        match crate::session::exit_code(answer) {
            Ok(code) => crate::outln!("{code}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
