//! `myrunc kill`

use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal every process of the container, not just its init
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name (TERM, SIGKILL, RTMIN+1) or number; default SIGTERM
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let sig = crate::signal::parse(&a.signal).map_err(Error::Usage)?;
    crate::container::kill::kill(root, &a.id, sig, a.all)?;
    Ok(0)
}
