//! `myrunc spec`: write a config.json template, like `runc spec`.

use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
}

pub fn run(a: Args) -> Result<i32> {
    let path = a.bundle.join("config.json");
    let json = serde_json::to_string_pretty(&crate::spec::default_spec()).expect("spec serializes");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("creating", &path, e))?;
    std::io::Write::write_all(&mut f, json.as_bytes())
        .map_err(|e| Error::io("writing", &path, e))?;
    Ok(0)
}
