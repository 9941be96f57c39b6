//! `mycli save [-o FILE] IMAGE...`: one tar archive of the images (OCI layout plus
//! docker's `manifest.json`), from `GET /images/get?names=`, streamed to a file or to
//! stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Ctx;
use crate::client::{Body, query};
use crate::error::{Error, Result};
use crate::tty;

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Save only the given platform (not supported: one platform per image)
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

pub fn save(ctx: &Ctx, args: SaveArgs) -> Result<i32> {
    if args.output.is_none() && tty::is_terminal(tty::STDOUT) {
        return Err(Error::Reported {
            message: "cowardly refusing to save to a terminal. Use the -o flag or redirect".into(),
            code: 1,
        });
    }
    let mut params: Vec<(&str, &str)> = args.images.iter().map(|n| ("names", n.as_str())).collect();
    if let Some(p) = &args.platform {
        params.push(("platform", p));
    }
    let client = ctx.client()?;
    let mut resp = client
        .send(
            "GET",
            &format!("/images/get{}", query(&params)),
            Body::Empty,
        )?
        .check()?;
    match &args.output {
        Some(path) => write_file(path, &mut resp),
        None => {
            let mut out = std::io::stdout().lock();
            std::io::copy(&mut resp, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io("writing the archive to stdout", e))?;
            Ok(0)
        }
    }
}

/// Writes the archive beside `path` and renames it into place, as docker does, so a
/// failed save leaves no half archive under the name asked for.
fn write_file(path: &Path, body: &mut impl std::io::Read) -> Result<i32> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "failed to save image: invalid output path {:?}",
            path.display().to_string()
        )));
    }
    let tmp = path.with_file_name(format!(".docker_temp_{name}.{}", std::process::id()));
    let result = std::fs::File::create(&tmp).and_then(|mut f| {
        std::io::copy(body, &mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::File {
            context: format!("failed to save image: writing {}", path.display()),
            source,
        });
    }
    Ok(0)
}
