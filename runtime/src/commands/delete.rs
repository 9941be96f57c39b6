//! `myrunc delete`

use std::path::Path;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container's processes first if it is still running
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    crate::container::delete::delete(root, &a.id, a.force)?;
    Ok(0)
}
