//! `images`, `tag` and `rmi`.

use clap::Args;
use engine_api::images::{DeleteItem, ImageSummary};

use super::{Ctx, parse_filters};
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::{table, units};

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

pub fn images(ctx: &Ctx, args: ImagesArgs) -> Result<i32> {
    let mut filters = parse_filters(&args.filter)?;
    if let Some(r) = &args.repository {
        filters.add("reference", r);
    }
    let mut params = Vec::new();
    if args.all {
        params.push(("all", "1".to_owned()));
    }
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let client = ctx.client()?;
    let list: Vec<ImageSummary> = client.get_json(&format!("/images/json{}", query(&params)))?;
    let short = |id: &str| -> String {
        let id = if args.no_trunc {
            id
        } else {
            id.strip_prefix("sha256:").unwrap_or(id)
        };
        if args.no_trunc {
            id.to_owned()
        } else {
            id.chars().take(12).collect()
        }
    };
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for i in &list {
            if seen.insert(i.id.clone()) {
                crate::outln!("{}", short(&i.id));
            }
        }
        return Ok(0);
    }
    let mut header = vec!["REPOSITORY", "TAG"];
    if args.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for i in &list {
        let digest_of = |repo: &str| -> String {
            i.repo_digests
                .iter()
                .find_map(|d| {
                    d.split_once('@')
                        .filter(|(r, _)| *r == repo)
                        .map(|(_, d)| d.to_owned())
                })
                .unwrap_or_else(|| "<none>".into())
        };
        let mut entries: Vec<(String, String)> = i
            .repo_tags
            .iter()
            .filter(|t| *t != "<none>:<none>")
            .map(|t| split_repo_tag(t))
            .collect();
        if entries.is_empty() {
            // Untagged: one row per digest repository, or a dangling `<none>` row.
            let from_digests: Vec<(String, String)> = i
                .repo_digests
                .iter()
                .filter_map(|d| d.split_once('@'))
                .filter(|(r, _)| *r != "<none>")
                .map(|(r, _)| (r.to_owned(), "<none>".to_owned()))
                .collect();
            entries = if from_digests.is_empty() {
                vec![("<none>".into(), "<none>".into())]
            } else {
                from_digests
            };
        }
        for (repo, tag) in entries {
            let mut row = vec![repo.clone(), tag];
            if args.digests {
                row.push(digest_of(&repo));
            }
            row.push(short(&i.id));
            row.push(units::ago(i.created));
            row.push(units::human_size(i.size as f64));
            rows.push(row);
        }
    }
    crate::out!("{}", table::render(&rows));
    Ok(0)
}

/// `127.0.0.1:5000/busybox:latest` → (`127.0.0.1:5000/busybox`, `latest`).
fn split_repo_tag(t: &str) -> (String, String) {
    let slash = t.rfind('/').map_or(0, |i| i + 1);
    match t[slash..].rfind(':') {
        Some(i) => (t[..slash + i].to_owned(), t[slash + i + 1..].to_owned()),
        None => (t.to_owned(), "<none>".to_owned()),
    }
}

pub fn tag(ctx: &Ctx, args: TagArgs) -> Result<i32> {
    let target = Reference::parse(&args.target)?;
    if target.digest.is_some() {
        return Err(Error::InvalidArgument(
            "refusing to create a tag with a digest reference".into(),
        ));
    }
    let target = target.with_default_tag();
    let client = ctx.client()?;
    let params = [
        ("repo", target.familiar_name()),
        ("tag", target.tag.clone().unwrap_or_else(|| "latest".into())),
    ];
    client.post(&format!(
        "/images/{}/tag{}",
        path_segment(&args.source),
        query(&params)
    ))?;
    Ok(0)
}

pub fn rmi(ctx: &Ctx, args: RmiArgs) -> Result<i32> {
    let client = ctx.client()?;
    let mut params = Vec::new();
    if args.force {
        params.push(("force", "1"));
    }
    if args.no_prune {
        params.push(("noprune", "1"));
    }
    let q = query(&params);
    let mut failed = false;
    for name in &args.images {
        let result: Result<Vec<DeleteItem>> = client
            .request(
                "DELETE",
                &format!("/images/{}{q}", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.json());
        match result {
            Ok(items) => {
                for item in items {
                    if let Some(u) = item.untagged {
                        crate::outln!("Untagged: {u}");
                    }
                    if let Some(d) = item.deleted {
                        crate::outln!("Deleted: {d}");
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_and_tag_split_after_the_registry_port() {
        assert_eq!(
            split_repo_tag("127.0.0.1:5000/busybox:latest"),
            ("127.0.0.1:5000/busybox".into(), "latest".into())
        );
        assert_eq!(
            split_repo_tag("127.0.0.1:5000/busybox"),
            ("127.0.0.1:5000/busybox".into(), "<none>".into())
        );
    }
}
