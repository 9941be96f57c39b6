//! `mycli load`: send an image archive (a file, or stdin) to `POST /images/load` and show
//! what the daemon says it loaded.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::client::{Body, query};
use crate::error::{Error, Result};
use crate::progress::{self, Target};
use crate::tty;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub fn load(ctx: &Ctx, args: LoadArgs) -> Result<i32> {
    // Progress bars only make sense on a terminal; docker asks for quiet otherwise.
    let quiet = args.quiet || !tty::is_terminal(tty::STDOUT);
    let params = [("quiet", if quiet { "1" } else { "0" })];
    let path = format!("/images/load{}", query(&params));
    let content_type = "application/x-tar";
    let resp = match &args.input {
        Some(file) => {
            let mut f = std::fs::File::open(file).map_err(|source| Error::File {
                context: format!("open {}", file.display()),
                source,
            })?;
            let len = f
                .metadata()
                .map_err(|source| Error::File {
                    context: format!("stat {}", file.display()),
                    source,
                })?
                .len();
            let client = ctx.client()?;
            client
                .send("POST", &path, Body::Sized(&mut f, len, content_type))?
                .check()?
        }
        None => {
            if tty::is_terminal(tty::STDIN) {
                return Err(Error::Reported {
                    message: "requested load from stdin, but stdin is empty".into(),
                    code: 1,
                });
            }
            let client = ctx.client()?;
            let mut stdin = std::io::stdin().lock();
            client
                .send("POST", &path, Body::Stream(&mut stdin, content_type))?
                .check()?
        }
    };
    let json = resp
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        progress::display(resp, Target::Stdout)?;
    } else {
        let mut body = resp;
        let mut out = Vec::new();
        body.read_to_end(&mut out)
            .map_err(|e| Error::io("reading the daemon's answer", e))?;
        let _ = std::io::stdout().write_all(&out);
    }
    Ok(0)
}
