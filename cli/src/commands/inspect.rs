//! `mycli inspect`: containers or images as docker prints them — the daemon's JSON
//! documents in one indented array, keys in the daemon's order — or through a
//! `--format` template (a subset of Go's templates, see `template.rs`).

use clap::{Args, ValueEnum};

use super::Ctx;
use crate::client::{Body, Client, path_segment};
use crate::error::{Error, Result};
use crate::{jsonfmt, template};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectType {
    Container,
    Image,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a Go template subset ({{.Field.Sub}}, {{json .Field}})
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
    let tmpl = args
        .format
        .as_deref()
        .map(template::Template::parse)
        .transpose()?;
    let client = ctx.client()?;
    let mut docs: Vec<Vec<u8>> = Vec::new();
    let mut errors = Vec::new();
    for name in &args.names {
        match find(&client, name, args.kind, args.size) {
            Ok(doc) => docs.push(doc),
            Err(e) => errors.push(e),
        }
    }
    match &tmpl {
        None => {
            let joined = format!(
                "[{}]",
                docs.iter()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            crate::outln!("{}", jsonfmt::indent(joined.as_bytes(), ""));
        }
        Some(t) => {
            for d in &docs {
                let value: serde_json::Value = serde_json::from_slice(d)
                    .map_err(|e| Error::json("decoding the daemon's answer", e))?;
                crate::outln!("{}", t.render(&value)?);
            }
        }
    }
    if errors.is_empty() {
        return Ok(0);
    }
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    Err(Error::Reported { message, code: 1 })
}

/// The raw JSON of `name`: a container first, then an image, as docker looks them up.
fn find(client: &Client, name: &str, kind: Option<ObjectType>, size: bool) -> Result<Vec<u8>> {
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
        get(format!("/containers/{seg}/json{q}"))
    };
    let image = || get(format!("/images/{seg}/json"));
    let (found, what) = match kind {
        Some(ObjectType::Container) => (container()?, "container"),
        Some(ObjectType::Image) => (image()?, "image"),
        None => (
            match container()? {
                Some(d) => Some(d),
                None => image()?,
            },
            "object",
        ),
    };
    found.ok_or_else(|| Error::InvalidArgument(format!("Error: No such {what}: {name}")))
}
