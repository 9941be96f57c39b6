//! `mycli pull`: `POST /images/create?fromImage=NAME&tag=TAG`, showing the daemon's JSON
//! progress messages (bars on a terminal), then the full reference.

use clap::Args;

use super::Ctx;
use crate::client::{Body, Client, query};
use crate::error::Result;
use crate::progress::{self, Target};
use crate::reference::Reference;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// NAME[:TAG|@DIGEST]
    pub image: String,
}

pub fn pull(ctx: &Ctx, args: PullArgs) -> Result<i32> {
    let parsed = Reference::parse(&args.image)?;
    if parsed.tag.is_none() && parsed.digest.is_none() && !args.quiet {
        crate::outln!("Using default tag: latest");
    }
    let image = parsed.with_default_tag();
    let client = ctx.client()?;
    let resp = start_pull(&client, &image, args.platform.as_deref())?;
    if args.quiet {
        // The stream still has to be read to its end (and its errors seen).
        progress::display(resp, Target::Quiet)?;
    } else {
        progress::display(resp, Target::Stdout)?;
    }
    crate::outln!("{}", image.full());
    Ok(0)
}

/// Pulls `image` (tag filled in) showing progress on `target`.
pub fn pull_image(client: &Client, image: &Reference, target: Target) -> Result<()> {
    let resp = start_pull(client, image, None)?;
    progress::display(resp, target)
}

fn start_pull(
    client: &Client,
    image: &Reference,
    platform: Option<&str>,
) -> Result<crate::client::Response> {
    let tag = image
        .digest
        .clone()
        .or_else(|| image.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let mut params = vec![("fromImage", image.name()), ("tag", tag)];
    if let Some(p) = platform {
        params.push(("platform", p.to_owned()));
    }
    client.request(
        "POST",
        &format!("/images/create{}", query(&params)),
        Body::Empty,
    )
}
