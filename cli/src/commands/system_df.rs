//! `mycli system df [-v] [--format]`: what images, containers, volumes and the build
//! cache take on disk, from `GET /system/df`, in docker's summary table (TYPE, TOTAL,
//! ACTIVE, SIZE, RECLAIMABLE) or, with `-v`, its detailed tables.

use clap::Args;
use engine_api::system::DiskUsage;

use super::Ctx;
use super::image::human_size_4;
use crate::error::{Error, Result};
use crate::table::ellipsis;
use crate::template::{self, ListFormat, Value};
use crate::{table, units};

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go
    /// template
    #[arg(long)]
    pub format: Option<String>,
}

const DEFAULT_FORMAT: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

pub fn df(ctx: &Ctx, args: DfArgs) -> Result<i32> {
    let custom = args
        .format
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "table");
    if args.verbose && custom.is_some() {
        return Err(Error::InvalidArgument(
            "--verbose and --format are not supported together".into(),
        ));
    }
    let client = ctx.client()?;
    let usage: DiskUsage = client.get_json("/system/df")?;
    if args.verbose {
        crate::out!("{}", verbose(&usage));
        return Ok(0);
    }
    let format = ListFormat::parse(custom.unwrap_or(DEFAULT_FORMAT))?;
    let rows: Vec<Value> = summary_rows(&usage)
        .into_iter()
        .map(|r| r.context())
        .collect();
    crate::out!("{}", format.render(&header(), &rows)?);
    Ok(0)
}

/// One line of the summary table.
#[derive(Debug, PartialEq)]
struct SummaryRow {
    kind: &'static str,
    total: usize,
    active: usize,
    size: i64,
    reclaimable: i64,
}

impl SummaryRow {
    fn context(&self) -> Value {
        let s = |v: &str| Value::string(v);
        template::row(
            "*formatter.diskUsageContext",
            vec![
                ("Type", s(self.kind)),
                ("TotalCount", s(&self.total.to_string())),
                ("Active", s(&self.active.to_string())),
                ("Size", s(&human_size_4(self.size as f64))),
                ("Reclaimable", s(&reclaimable(self.reclaimable, self.size))),
            ],
            Vec::new(),
        )
    }
}

/// docker's RECLAIMABLE: the size, and its share of the total when there is one.
fn reclaimable(part: i64, total: i64) -> String {
    let size = human_size_4(part as f64);
    if total > 0 {
        format!("{size} ({}%)", part * 100 / total)
    } else {
        size
    }
}

fn header() -> Value {
    template::header(&[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ])
}

/// docker's `diskUsage*Context`s: images are active when a container uses them (what
/// they do not share with others is kept), containers when running, paused or
/// restarting, volumes when a container refers to them.
fn summary_rows(u: &DiskUsage) -> Vec<SummaryRow> {
    let used_images: i64 = u
        .images
        .iter()
        .filter(|i| i.containers > 0 && i.size != -1 && i.shared_size != -1)
        .map(|i| i.size - i.shared_size)
        .sum();
    let container_active = |state: &str| {
        state.contains("running") || state.contains("paused") || state.contains("restarting")
    };
    let volume_usage = |v: &engine_api::volumes::Volume| v.usage_data.unwrap_or_default();
    vec![
        SummaryRow {
            kind: "Images",
            total: u.images.len(),
            active: u.images.iter().filter(|i| i.containers > 0).count(),
            size: u.layers_size,
            reclaimable: u.layers_size - used_images,
        },
        SummaryRow {
            kind: "Containers",
            total: u.containers.len(),
            active: u
                .containers
                .iter()
                .filter(|c| container_active(&c.summary.state))
                .count(),
            size: u.containers.iter().map(|c| c.size_rw).sum(),
            reclaimable: u
                .containers
                .iter()
                .filter(|c| !container_active(&c.summary.state))
                .map(|c| c.size_rw)
                .sum(),
        },
        SummaryRow {
            kind: "Local Volumes",
            total: u.volumes.len(),
            active: u
                .volumes
                .iter()
                .filter(|v| volume_usage(v).ref_count > 0)
                .count(),
            size: u
                .volumes
                .iter()
                .map(|v| volume_usage(v).size)
                .filter(|s| *s != -1)
                .sum(),
            reclaimable: u
                .volumes
                .iter()
                .map(volume_usage)
                .filter(|d| d.ref_count == 0 && d.size != -1)
                .map(|d| d.size)
                .sum(),
        },
        SummaryRow {
            kind: "Build Cache",
            total: u.build_cache.len(),
            active: 0,
            size: 0,
            reclaimable: 0,
        },
    ]
}

/// docker's `system df -v`: a table each for images, containers, volumes and the build
/// cache.
fn verbose(u: &DiskUsage) -> String {
    let short = |id: &str| -> String {
        let id = id.split_once(':').map_or(id, |(_, h)| h);
        id.chars().take(12).collect()
    };
    let mut out = String::from("Images space usage:\n\n");
    let mut rows = vec![strings(&[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ])];
    for i in &u.images {
        let mut names: Vec<(String, String)> = i
            .repo_tags
            .iter()
            .filter(|t| *t != "<none>:<none>")
            .map(|t| split_repo_tag(t))
            .collect();
        if names.is_empty() {
            names.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in names {
            rows.push(vec![
                repo,
                tag,
                short(&i.id),
                units::ago(i.created),
                units::human_size(i.size as f64),
                units::human_size(i.shared_size as f64),
                // docker prints this one with four digits.
                human_size_4((i.size - i.shared_size) as f64),
                i.containers.to_string(),
            ]);
        }
    }
    out.push_str(&table::render(&rows));
    out.push_str("\nContainers space usage:\n\n");
    let mut rows = vec![strings(&[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ])];
    for c in &u.containers {
        let s = &c.summary;
        let volumes = s.mounts.iter().filter(|m| m.kind == "volume").count();
        let command = format!("\"{}\"", ellipsis(&s.command, 20));
        rows.push(vec![
            short(&s.id),
            s.image.clone(),
            command,
            volumes.to_string(),
            units::human_size(c.size_rw as f64),
            units::ago(s.created),
            s.status.clone(),
            s.names
                .iter()
                .map(|n| n.trim_start_matches('/'))
                .collect::<Vec<_>>()
                .join(","),
        ]);
    }
    out.push_str(&table::render(&rows));
    out.push_str("\nLocal Volumes space usage:\n\n");
    let mut rows = vec![strings(&["VOLUME NAME", "LINKS", "SIZE"])];
    for v in &u.volumes {
        let d = v.usage_data.unwrap_or_default();
        let size = if d.size == -1 {
            "N/A".to_owned()
        } else {
            units::human_size(d.size as f64)
        };
        rows.push(vec![v.name.clone(), d.ref_count.to_string(), size]);
    }
    out.push_str(&table::render(&rows));
    out.push_str("\nBuild cache usage: 0B\n\n");
    out.push_str(&table::render(&[strings(&[
        "CACHE ID",
        "CACHE TYPE",
        "SIZE",
        "CREATED",
        "LAST USED",
        "USAGE",
        "SHARED",
    ])]));
    out
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `127.0.0.1:5000/busybox:latest` → (`127.0.0.1:5000/busybox`, `latest`).
fn split_repo_tag(t: &str) -> (String, String) {
    let slash = t.rfind('/').map_or(0, |i| i + 1);
    match t[slash..].rfind(':') {
        Some(i) => (t[..slash + i].to_owned(), t[slash + i + 1..].to_owned()),
        None => (t.to_owned(), "<none>".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::images::ImageSummary;
    use engine_api::system::DiskUsageContainer;
    use engine_api::volumes::{UsageData, Volume};

    #[test]
    fn the_summary_counts_as_docker_does() {
        let mut u = DiskUsage {
            layers_size: 1000,
            images: vec![
                ImageSummary {
                    size: 600,
                    shared_size: 100,
                    containers: 1,
                    ..Default::default()
                },
                ImageSummary {
                    size: 500,
                    shared_size: 100,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut running = DiskUsageContainer::default();
        running.summary.state = "running".into();
        running.size_rw = 10;
        let mut exited = DiskUsageContainer::default();
        exited.summary.state = "exited".into();
        exited.size_rw = 30;
        u.containers = vec![running, exited];
        u.volumes = vec![
            Volume {
                usage_data: Some(UsageData {
                    ref_count: 1,
                    size: 5,
                }),
                ..Default::default()
            },
            Volume {
                usage_data: Some(UsageData {
                    ref_count: 0,
                    size: 7,
                }),
                ..Default::default()
            },
        ];
        let rows = summary_rows(&u);
        assert_eq!(
            rows[0],
            SummaryRow {
                kind: "Images",
                total: 2,
                active: 1,
                size: 1000,
                reclaimable: 500
            }
        );
        assert_eq!(
            (
                rows[1].total,
                rows[1].active,
                rows[1].size,
                rows[1].reclaimable
            ),
            (2, 1, 40, 30)
        );
        assert_eq!(
            (
                rows[2].total,
                rows[2].active,
                rows[2].size,
                rows[2].reclaimable
            ),
            (2, 1, 12, 7)
        );
        assert_eq!(reclaimable(500, 1000), "500B (50%)");
        assert_eq!(reclaimable(0, 0), "0B");
    }
}
