//! `mycli image ...`: docker's image management group. `history`, `save` and `prune`
//! live here or beside; `ls`, `rm`, `tag`, `pull`, `load` and `inspect` are the
//! top-level commands under their group names.

use clap::{Args, Subcommand};
use engine_api::images::ImagePruneResponse;

use super::{Ctx, parse_filters};
use crate::client::{Body, query};
use crate::error::Result;
use crate::template;

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show the history of an image
    History(super::history::HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Load an image from a tar archive or STDIN
    Load(super::load::LoadArgs),
    /// List images
    #[command(visible_alias = "list")]
    Ls(super::images::ImagesArgs),
    /// Remove unused images
    Prune(ImagePruneArgs),
    /// Download an image from a registry
    Pull(super::pull::PullArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(super::images::RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(super::save::SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(super::images::TagArgs),
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

pub fn image(ctx: &Ctx, args: ImageArgs) -> Result<i32> {
    match args.command {
        ImageCommand::History(a) => super::history::history(ctx, a),
        ImageCommand::Inspect(a) => super::inspect::inspect(
            ctx,
            super::inspect::InspectArgs {
                format: a.format,
                kind: Some(super::inspect::ObjectType::Image),
                size: false,
                names: a.names,
            },
        ),
        ImageCommand::Load(a) => super::load::load(ctx, a),
        ImageCommand::Ls(a) => super::images::images(ctx, a),
        ImageCommand::Prune(a) => prune(ctx, a),
        ImageCommand::Pull(a) => super::pull::pull(ctx, a),
        ImageCommand::Rm(a) => super::images::rmi(ctx, a),
        ImageCommand::Save(a) => super::save::save(ctx, a),
        ImageCommand::Tag(a) => super::images::tag(ctx, a),
    }
}

const PRUNE_WARNING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const PRUNE_ALL_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

fn prune(ctx: &Ctx, args: ImagePruneArgs) -> Result<i32> {
    let warning = if args.all {
        PRUNE_ALL_WARNING
    } else {
        PRUNE_WARNING
    };
    let filters = parse_filters(&args.filter)?;
    if !args.force && !super::confirm(warning, &mut std::io::stdin().lock()) {
        // docker treats a refusal as a cancelled command: nothing more, exit 0.
        return Ok(0);
    }
    let client = ctx.client()?;
    let (output, space) = prune_images(&client, args.all, filters)?;
    if !output.is_empty() {
        crate::outln!("{output}");
    }
    crate::outln!("Total reclaimed space: {}", human_size_4(space as f64));
    Ok(0)
}

/// `POST /images/prune` (dangling images, or every unused one with `all`); what docker
/// prints of it (`Deleted Images:`, one `untagged:`/`deleted:` a line) and the bytes
/// freed. Shared with `system prune`.
pub(crate) fn prune_images(
    client: &crate::client::Client,
    all: bool,
    mut filters: engine_api::filters::Filters,
) -> Result<(String, u64)> {
    if all && !filters.contains("dangling") {
        filters.add("dangling", "false");
    }
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let resp: ImagePruneResponse = client
        .request(
            "POST",
            &format!("/images/prune{}", query(&params)),
            Body::Empty,
        )?
        .json()?;
    Ok((prune_output(&resp), resp.space_reclaimed))
}

fn prune_output(resp: &ImagePruneResponse) -> String {
    if resp.images_deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Images:\n");
    for item in &resp.images_deleted {
        if let Some(u) = &item.untagged {
            out.push_str(&format!("untagged: {u}\n"));
        }
        if let Some(d) = &item.deleted {
            out.push_str(&format!("deleted: {d}\n"));
        }
    }
    out
}

/// docker's `units.HumanSize`: decimal units, four significant digits ("1.986MB"), as
/// the prune commands print the space reclaimed.
pub(crate) fn human_size_4(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", template::format_g(v, 4), UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::images::DeleteItem;

    #[test]
    fn prune_prints_what_docker_prints() {
        let resp = ImagePruneResponse {
            images_deleted: vec![
                DeleteItem {
                    untagged: Some("x:1".into()),
                    deleted: None,
                },
                DeleteItem {
                    untagged: None,
                    deleted: Some("sha256:abc".into()),
                },
            ],
            space_reclaimed: 1_986_000,
        };
        assert_eq!(
            prune_output(&resp),
            "Deleted Images:\nuntagged: x:1\ndeleted: sha256:abc\n"
        );
        assert_eq!(prune_output(&ImagePruneResponse::default()), "");
        assert_eq!(human_size_4(1_986_000.0), "1.986MB");
        assert_eq!(human_size_4(0.0), "0B");
    }
}
