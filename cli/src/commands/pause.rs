//! `pause` and `unpause`: one request per container named, each name printed on
//! success, each error on stderr, exit 1 if any failed (docker's container/pause.go).

use clap::Args;

use super::{Ctx, for_each_name};
use crate::client::path_segment;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn pause(ctx: &Ctx, args: PauseArgs) -> Result<i32> {
    post_each(ctx, &args.containers, "pause")
}

pub fn unpause(ctx: &Ctx, args: PauseArgs) -> Result<i32> {
    post_each(ctx, &args.containers, "unpause")
}

fn post_each(ctx: &Ctx, containers: &[String], action: &str) -> Result<i32> {
    let client = ctx.client()?;
    for_each_name(containers, |name| {
        client.post(&format!("/containers/{}/{action}", path_segment(name)))
    })
}
