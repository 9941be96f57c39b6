//! `myrunc run`: create, start, and (unless detached) wait and delete.

use std::path::Path;

use crate::commands::create::CreateFlags;
use crate::container::{create, delete, foreground, start};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: CreateFlags,
    /// Return once the container is started
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
    /// Accepted for compatibility (the container's pid namespace reaps its orphans)
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    crate::process::exe_guard::ensure()?;
    if a.detach {
        create::create(root, &a.flags.options(&a.id, false))?;
        start::start(root, &a.id)?;
        return Ok(0);
    }
    // Catch signals before the process exists, so none of them (nor its exit) is missed.
    let signals = foreground::catch_signals()?;
    let created = create::create(root, &a.flags.options(&a.id, true))?;
    let started = start::start(root, &a.id);
    let code = match started {
        Ok(_) => foreground::wait(created.pid, signals, created.console_master)?,
        Err(e) => {
            let _ = delete::delete(root, &a.id, true);
            return Err(e);
        }
    };
    if !a.keep {
        delete::delete(root, &a.id, true)?;
    }
    Ok(code)
}
