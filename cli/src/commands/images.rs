//! `images`, `tag` and `rmi`. `images --format` goes through `template.rs` like every
//! other `--format`.

use clap::Args;
use engine_api::images::{DeleteItem, ImageSummary};

use super::{Ctx, parse_filters};
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::template::{self, ListFormat, Value};
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
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'raw', 'json',
    /// or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

const RAW_FORMAT: &str = "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n";
const RAW_FORMAT_DIGESTS: &str = "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n";

/// docker's `NewImageFormat`: the template a `--format` value stands for, or `None`
/// for the built-in table (and `-q`). A custom template wins over `-q`.
fn image_format(format: &str, quiet: bool, digests: bool) -> Option<String> {
    match format {
        "" | "table" => None,
        "raw" if quiet => Some("image_id: {{.ID}}".into()),
        "raw" if digests => Some(RAW_FORMAT_DIGESTS.into()),
        "raw" => Some(RAW_FORMAT.into()),
        f if f.starts_with("table") && digests && !f.contains("{{.Digest}}") => {
            Some(format!("{f}\t{{{{.Digest}}}}"))
        }
        f => Some(f.to_owned()),
    }
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
    let custom = image_format(
        args.format.as_deref().unwrap_or(""),
        args.quiet,
        args.digests,
    )
    .map(|f| ListFormat::parse(&f))
    .transpose()?;
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
    if custom.is_none() && args.quiet {
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
    let mut contexts = Vec::new();
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
            if custom.is_some() {
                contexts.push(context(i, &repo, &tag, &digest_of(&repo), short(&i.id)));
                continue;
            }
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
    if let Some(f) = custom {
        crate::out!("{}", f.render(&header_context(), &contexts)?);
        return Ok(0);
    }
    crate::out!("{}", table::render(&rows));
    Ok(0)
}

/// docker's `imageContext`: what a `--format` template sees for one row.
fn context(i: &ImageSummary, repo: &str, tag: &str, digest: &str, id: String) -> Value {
    let s = |v: &str| Value::string(v);
    let or_na = |n: i64, f: &dyn Fn(i64) -> String| {
        if n == -1 { "N/A".to_owned() } else { f(n) }
    };
    let created = chrono::DateTime::from_timestamp(i.created, 0)
        .map(|t| template::go_time(&t.to_rfc3339()))
        .unwrap_or_default();
    template::row(
        "*formatter.imageContext",
        vec![
            ("ID", s(&id)),
            ("Repository", s(repo)),
            ("Tag", s(tag)),
            ("Digest", s(digest)),
            ("CreatedSince", s(&units::ago(i.created))),
            ("CreatedAt", s(&created)),
            ("Size", s(&units::human_size(i.size as f64))),
            ("VirtualSize", s(&human_size_4(i.size as f64))),
            (
                "SharedSize",
                s(&or_na(i.shared_size, &|n| units::human_size(n as f64))),
            ),
            (
                "UniqueSize",
                s(&or_na(i.shared_size, &|n| {
                    units::human_size((i.size - n) as f64)
                })),
            ),
            ("Containers", s(&or_na(i.containers, &|n| n.to_string()))),
        ],
        i.labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn header_context() -> Value {
    template::header(&[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
        ("VirtualSize", "SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
        ("Containers", "CONTAINERS"),
    ])
}

/// docker's `units.HumanSize`: decimal units, four significant digits ("1.986MB").
fn human_size_4(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let g = template::format_g(v, 4);
    format!("{g}{}", UNITS[i])
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
    fn formats_like_dockers_image_context() {
        assert_eq!(image_format("", false, false), None);
        assert_eq!(image_format("table", true, true), None);
        assert_eq!(
            image_format("raw", true, false).as_deref(),
            Some("image_id: {{.ID}}")
        );
        assert_eq!(
            image_format("table {{.ID}}", false, true).as_deref(),
            Some("table {{.ID}}\t{{.Digest}}")
        );
        // A custom format wins over -q.
        assert_eq!(
            image_format("{{.Tag}}", true, false).as_deref(),
            Some("{{.Tag}}")
        );
        let i: ImageSummary = serde_json::from_str(
            r#"{"Id":"sha256:b1def7f819b20e6708c3ab7b0bc5ecf94488f698a72e479b16244d9e61f20b63",
            "RepoTags":["busybox:latest"],"RepoDigests":[],"Created":0,"Size":1985664,
            "SharedSize":-1,"Containers":-1}"#,
        )
        .unwrap();
        let row = context(&i, "busybox", "latest", "<none>", "b1def7f819b2".into());
        let f = ListFormat::parse("json").unwrap();
        // docker 28 against dockerd 20.10, CreatedSince aside.
        let json = f.render(&header_context(), &[row]).unwrap();
        assert!(
            json.starts_with(
                r#"{"Containers":"N/A","CreatedAt":"1970-01-01 00:00:00 +0000 UTC","CreatedSince":"#
            ),
            "{json}"
        );
        assert!(json.ends_with(r#","Digest":"\u003cnone\u003e","ID":"b1def7f819b2","Repository":"busybox","SharedSize":"N/A","Size":"1.99MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"1.986MB"}
"#), "{json}");
        assert_eq!(human_size_4(1_985_664.0), "1.986MB");
        assert_eq!(human_size_4(999.0), "999B");
    }

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
