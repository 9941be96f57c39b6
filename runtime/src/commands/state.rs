//! `myrunc state`

use std::path::Path;

use crate::container::Container;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let c = Container::load(root, &a.id)?;
    let out = c.state.output(c.status());
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("state serializes")
    );
    Ok(0)
}
