//! `mycli export`: `GET /containers/ID/export`, the container's filesystem as a tar to
//! a file or to stdout (never to a terminal, as docker's).

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::client::{Body, path_segment};
use crate::error::{Error, Result};
use crate::tty;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn export(ctx: &Ctx, args: ExportArgs) -> Result<i32> {
    if args.output.is_none() && tty::is_terminal(tty::STDOUT) {
        return Err(Error::InvalidArgument(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect".into(),
        ));
    }
    let client = ctx.client()?;
    let path = format!("/containers/{}/export", path_segment(&args.container));
    let mut resp = client.send("GET", &path, Body::Empty)?.check()?;
    match &args.output {
        Some(file) => {
            // Written beside the target and renamed: a failed export leaves no half file.
            let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
            let result = (|| -> Result<()> {
                let mut out = std::fs::File::create(&tmp).map_err(|source| Error::File {
                    context: format!("failed to export container: {}", tmp.display()),
                    source,
                })?;
                io::copy(&mut resp, &mut out).map_err(|e| Error::io("reading the export", e))?;
                out.sync_all()
                    .map_err(|e| Error::io("writing the export", e))?;
                std::fs::rename(&tmp, file).map_err(|source| Error::File {
                    context: format!("failed to export container: {}", file.display()),
                    source,
                })
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
        None => {
            let mut out = io::stdout().lock();
            io::copy(&mut resp, &mut out).map_err(|e| Error::io("reading the export", e))?;
            out.flush()
                .map_err(|e| Error::io("writing the export", e))?;
        }
    }
    Ok(0)
}
