//! `mycli diff`: `GET /containers/ID/changes`, one `A|C|D /path` line per change.

use clap::Args;
use engine_api::containers::Change;

use super::Ctx;
use crate::client::path_segment;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn diff(ctx: &Ctx, args: DiffArgs) -> Result<i32> {
    let client = ctx.client()?;
    let changes: Option<Vec<Change>> = client.get_json(&format!(
        "/containers/{}/changes",
        path_segment(&args.container)
    ))?;
    for c in changes.unwrap_or_default() {
        println!("{} {}", kind_letter(c.kind), c.path);
    }
    Ok(0)
}

fn kind_letter(kind: u8) -> char {
    match kind {
        Change::ADDED => 'A',
        Change::DELETED => 'D',
        _ => 'C',
    }
}
