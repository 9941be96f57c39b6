//! `snapshots ls|info|rm|usage`, for one snapshotter.

use myproto::containerd::services::snapshots::v1::{Info, Kind};

use crate::cli::SnapshotsCommand;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::json::{self, Json, Obj};
use crate::table::Table;

pub async fn run(
    client: &Client,
    snapshotter: Option<&str>,
    command: SnapshotsCommand,
) -> Result<i32> {
    let snapshotter = crate::cli::snapshotter(snapshotter);
    match command {
        SnapshotsCommand::List => {
            let mut all = list(client, &snapshotter).await?;
            all.sort_by(|a, b| a.name.cmp(&b.name));
            let mut table = Table::new(1, 1);
            table.line("KEY\tPARENT\tKIND\t");
            for info in &all {
                table.line(&format!(
                    "{}\t{}\t{}\t",
                    info.name,
                    info.parent,
                    kind(info.kind)
                ));
            }
            print!("{}", table.render());
            Ok(0)
        }
        SnapshotsCommand::Info { key } => {
            let images = client.images(Some(&snapshotter));
            let info = images.stat_snapshot(&key).await?.ok_or_else(|| {
                Error::Images(myimages::Error::Usage(format!(
                    "snapshot {key:?} does not exist: not found"
                )))
            })?;
            println!("{}", info_json(&info).indented("    "));
            Ok(0)
        }
        SnapshotsCommand::Delete { keys } => {
            let images = client.images(Some(&snapshotter));
            for key in &keys {
                if images.stat_snapshot(key).await?.is_none() {
                    return Err(Error::Images(myimages::Error::Usage(format!(
                        "failed to remove {key:?}: snapshot {key}: not found"
                    ))));
                }
                images.remove_snapshot(key).await?;
            }
            Ok(0)
        }
        SnapshotsCommand::Usage { bytes, keys } => {
            let images = client.images(Some(&snapshotter));
            let keys = if keys.is_empty() {
                let mut all: Vec<String> = list(client, &snapshotter)
                    .await?
                    .into_iter()
                    .map(|i| i.name)
                    .collect();
                all.sort();
                all
            } else {
                keys
            };
            let mut table = Table::new(1, 1);
            table.line("KEY\tSIZE\tINODES\t");
            for key in &keys {
                let usage = images.snapshot_usage(key).await?;
                let size = if bytes {
                    usage.size.to_string()
                } else {
                    super::images::human_bytes(usage.size.max(0) as u64)
                };
                table.line(&format!("{key}\t{size}\t{}\t", usage.inodes));
            }
            print!("{}", table.render());
            Ok(0)
        }
    }
}

async fn list(client: &Client, snapshotter: &str) -> Result<Vec<Info>> {
    Ok(client.images(Some(snapshotter)).list_snapshots().await?)
}

fn kind(kind: i32) -> &'static str {
    match Kind::try_from(kind).unwrap_or(Kind::Unknown) {
        Kind::View => "View",
        Kind::Active => "Active",
        Kind::Committed => "Committed",
        Kind::Unknown => "Unknown",
    }
}

/// containerd's `snapshots.Info` as Go encodes it.
fn info_json(info: &Info) -> Json {
    let mut obj = Obj::new()
        .str("Kind", kind(info.kind))
        .str("Name", &info.name);
    if !info.parent.is_empty() {
        obj = obj.str("Parent", &info.parent);
    }
    if !info.labels.is_empty() {
        obj = obj.map("Labels", &info.labels);
    }
    obj.field("Created", json::timestamp(info.created_at.as_ref()))
        .field("Updated", json::timestamp(info.updated_at.as_ref()))
        .build()
}
