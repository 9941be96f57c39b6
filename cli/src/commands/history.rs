//! `mycli history IMAGE`: the layers an image was built from, newest first, as docker's
//! table (IMAGE, CREATED, CREATED BY, SIZE, COMMENT) or a `--format` template.

use clap::Args;
use engine_api::images::HistoryItem;

use super::Ctx;
use crate::client::path_segment;
use crate::error::Result;
use crate::table::ellipsis;
use crate::template::{self, ListFormat, Value};
use crate::units;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long = "human",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = clap::ArgAction::Set
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go
    /// template
    #[arg(long)]
    pub format: Option<String>,
    /// Show history for the given platform (not supported: one platform per image)
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

pub fn history(ctx: &Ctx, args: HistoryArgs) -> Result<i32> {
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") if args.quiet => "{{.ID}}".to_owned(),
        None | Some("") | Some("table") => DEFAULT_FORMAT.to_owned(),
        Some(f) => f.to_owned(),
    };
    let format = ListFormat::parse(&format)?;
    let client = ctx.client()?;
    let mut path = format!("/images/{}/history", path_segment(&args.image));
    if let Some(p) = &args.platform {
        path.push_str(&crate::client::query(&[("platform", p.as_str())]));
    }
    let items: Vec<HistoryItem> = client.get_json(&path)?;
    let now = units::now_unix();
    let rows: Vec<Value> = items
        .iter()
        .map(|h| context(h, !args.no_trunc, args.human, now))
        .collect();
    crate::out!("{}", format.render(&header(), &rows)?);
    Ok(0)
}

/// docker's `historyContext` for one entry.
fn context(h: &HistoryItem, trunc: bool, human: bool, now: i64) -> Value {
    let s = |v: &str| Value::string(v);
    let id = if trunc { short_id(&h.id) } else { h.id.clone() };
    // docker 28 prints N/A for an entry without a time (Unix 0).
    let created_since = if h.created <= 0 {
        "N/A".to_owned()
    } else if human {
        format!("{} ago", units::human_duration(now - h.created))
    } else {
        chrono::DateTime::from_timestamp(h.created, 0)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
            .unwrap_or_default()
    };
    let created_at = chrono::DateTime::from_timestamp(h.created, 0)
        .map(|t| template::go_time(&t.to_rfc3339()))
        .unwrap_or_default();
    let created_by = h.created_by.replace('\t', " ");
    let created_by = if trunc {
        ellipsis(&created_by, 45)
    } else {
        created_by
    };
    let size = if human {
        units::human_size(h.size as f64)
    } else {
        h.size.to_string()
    };
    template::row(
        "*formatter.historyContext",
        vec![
            ("ID", s(&id)),
            ("CreatedSince", s(&created_since)),
            ("CreatedAt", s(&created_at)),
            ("CreatedBy", s(&created_by)),
            ("Size", s(&size)),
            ("Comment", s(&h.comment)),
            ("Tags", s(&h.tags.join(", "))),
        ],
        Vec::new(),
    )
}

fn header() -> Value {
    template::header(&[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
        ("Tags", "TAGS"),
    ])
}

/// docker's `stringid.TruncateID`: no `sha256:`, 12 characters; `<missing>` stays.
fn short_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_commands_are_cut_as_docker_cuts_them() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("<missing>"), "<missing>");
        assert_eq!(ellipsis("short", 45), "short");
        let long = "/bin/sh -c #(nop) ADD file:123456789abcdef0123456789 in / ";
        let cut = ellipsis(long, 45);
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_table_has_dockers_columns() {
        let items = [HistoryItem {
            id: "sha256:abcdefabcdef0123".into(),
            created: 1,
            created_by: "CMD [\"sh\"]".into(),
            tags: vec!["busybox:latest".into()],
            size: 4_260_000,
            comment: String::new(),
        }];
        let rows: Vec<Value> = items.iter().map(|h| context(h, true, true, 3600)).collect();
        let out = ListFormat::parse(DEFAULT_FORMAT)
            .unwrap()
            .render(&header(), &rows)
            .unwrap();
        let mut lines = out.lines();
        let head = lines.next().unwrap();
        for col in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
            assert!(head.contains(col), "{head}");
        }
        let row = lines.next().unwrap();
        assert!(row.starts_with("abcdefabcdef"), "{row}");
        assert!(row.contains("4.26MB") && row.contains("ago"), "{row}");
        let unknown = HistoryItem::default();
        let out = ListFormat::parse("{{.CreatedSince}}")
            .unwrap()
            .render(&header(), &[context(&unknown, true, true, 3600)])
            .unwrap();
        assert_eq!(out, "N/A\n");
    }
}
