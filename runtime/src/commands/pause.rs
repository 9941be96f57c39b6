//! `myrunc pause` and `myrunc resume`

use std::path::Path;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn pause(root: &Path, a: Args) -> Result<i32> {
    crate::container::pause::pause(root, &a.id)?;
    Ok(0)
}

pub fn resume(root: &Path, a: Args) -> Result<i32> {
    crate::container::pause::resume(root, &a.id)?;
    Ok(0)
}
