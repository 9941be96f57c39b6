//! `myrunc start`

use std::path::Path;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    crate::container::start::start(root, &a.id)?;
    Ok(0)
}
