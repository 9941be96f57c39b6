//! `rename CONTAINER NEW_NAME` (docker's container/rename.go): nothing printed on success.

use clap::Args;

use super::Ctx;
use crate::client::{path_segment, query};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

pub fn rename(ctx: &Ctx, args: RenameArgs) -> Result<i32> {
    let old = args.container.trim();
    let new = args.new_name.trim();
    if old.is_empty() || new.is_empty() {
        return Err(Error::InvalidArgument(
            "Neither old nor new names may be empty".into(),
        ));
    }
    let client = ctx.client()?;
    client.post(&format!(
        "/containers/{}/rename{}",
        path_segment(old),
        query(&[("name", new)])
    ))?;
    Ok(0)
}
