//! `mycli create`, and the create step `run` shares: on a missing image (404), pull it
//! with progress on stderr and try once more, as docker does.

use clap::Args;
use engine_api::IdResponse;
use engine_api::containers::CreateRequest;

use super::Ctx;
use super::container_opts::ContainerOpts;
use crate::client::{Client, query};
use crate::error::{Error, Result};
use crate::progress::Target;
use crate::reference::Reference;

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
}

pub fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let image = args.opts.image_reference()?;
    let req = args.opts.to_request(true)?;
    let client = ctx.client()?;
    let created = create_container(&client, &req, args.opts.name.as_deref(), &image)?;
    crate::outln!("{}", created.id);
    Ok(0)
}

/// `POST /containers/create`, pulling the image first when the daemon does not have it.
pub fn create_container(
    client: &Client,
    req: &CreateRequest,
    name: Option<&str>,
    image: &Reference,
) -> Result<IdResponse> {
    let mut params = Vec::new();
    if let Some(n) = name {
        params.push(("name", n.to_owned()));
    }
    let path = format!("/containers/create{}", query(&params));
    let created: IdResponse = match client.post_json(&path, req) {
        Err(e) if missing_image(&e) => {
            eprintln!("Unable to find image '{}' locally", image.familiar());
            super::pull::pull_image(client, image, Target::Stderr)?;
            client.post_json(&path, req)?
        }
        other => other?,
    };
    for w in &created.warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(created)
}

/// A 404 from create that is about the image (not, say, a network).
fn missing_image(e: &Error) -> bool {
    match e {
        Error::Daemon {
            status: 404,
            message,
        } => message.to_ascii_lowercase().contains("image"),
        _ => false,
    }
}
