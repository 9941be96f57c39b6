//! `myrunc list`

use std::path::Path;

use crate::container::{Container, list_ids};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: table or json
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Only print container IDs
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let mut states = Vec::new();
    for id in list_ids(root)? {
        // A container deleted while we list is simply gone.
        if let Ok(c) = Container::load(root, &id) {
            states.push(c.state.output(c.status()));
        }
    }
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    if a.format == "json" {
        println!(
            "{}",
            serde_json::to_string(&states).expect("states serialize")
        );
        return Ok(0);
    }
    let rows: Vec<[String; 6]> =
        std::iter::once(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from))
            .chain(states.iter().map(|s| {
                [
                    s.id.clone(),
                    s.pid.to_string(),
                    s.status.clone(),
                    s.bundle.display().to_string(),
                    s.created.clone(),
                    if s.owner.is_empty() {
                        "root".into()
                    } else {
                        s.owner.clone()
                    },
                ]
            }))
            .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(0)
}
