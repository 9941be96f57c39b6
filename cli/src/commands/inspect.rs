//! `mycli inspect`: containers, images, networks or volumes as docker prints them — the daemon's JSON
//! documents in one indented array, keys in the daemon's order — or through a
//! `--format` template (a subset of Go's templates, see `template.rs`).

use clap::{Args, ValueEnum};

use super::Ctx;
use crate::client::{Body, Client, path_segment};
use crate::error::{Error, Result};
use crate::template::{Doc, InspectFormat, Inspector};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectType {
    Container,
    Image,
    Network,
    Volume,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Only inspect objects of the given type
    #[arg(long = "type", value_enum)]
    pub kind: Option<ObjectType>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true, value_name = "NAME|ID")]
    pub names: Vec<String>,
}

pub fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    // A template that does not parse ends the command before anything is fetched.
    let format = InspectFormat::parse(args.format.as_deref())?;
    let client = ctx.client()?;
    let mut inspector = Inspector::new(&format);
    for name in &args.names {
        match find(&client, name, args.kind, args.size) {
            Ok((doc, raw)) => inspector.add(doc, &raw),
            Err(e) => inspector.error(e.to_string()),
        }
    }
    inspector.print()
}

/// The raw JSON of `name`: a container first, then an image, a network and a volume, as
/// docker looks them up.
fn find(
    client: &Client,
    name: &str,
    kind: Option<ObjectType>,
    size: bool,
) -> Result<(Doc, Vec<u8>)> {
    let get = |path: String| -> Result<Option<Vec<u8>>> {
        match client.request("GET", &path, Body::Empty) {
            Ok(r) => r.bytes().map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    };
    let seg = path_segment(name);
    let container = || {
        let q = if size { "?size=1" } else { "" };
        Ok::<_, Error>(get(format!("/containers/{seg}/json{q}"))?.map(|d| (Doc::Container, d)))
    };
    let image = || Ok::<_, Error>(get(format!("/images/{seg}/json"))?.map(|d| (Doc::Image, d)));
    let network = || Ok::<_, Error>(get(format!("/networks/{seg}"))?.map(|d| (Doc::Network, d)));
    let volume = || Ok::<_, Error>(get(format!("/volumes/{seg}"))?.map(|d| (Doc::Volume, d)));
    let (found, what) = match kind {
        Some(ObjectType::Container) => (container()?, "container"),
        Some(ObjectType::Image) => (image()?, "image"),
        Some(ObjectType::Network) => (network()?, "network"),
        Some(ObjectType::Volume) => (volume()?, "volume"),
        None => {
            let mut found = None;
            for lookup in [
                &container as &dyn Fn() -> Result<_>,
                &image,
                &network,
                &volume,
            ] {
                found = lookup()?;
                if found.is_some() {
                    break;
                }
            }
            (found, "object")
        }
    };
    found.ok_or_else(|| Error::InvalidArgument(format!("Error: No such {what}: {name}")))
}
