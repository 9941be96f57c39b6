//! `mycli logs`: `GET /containers/ID/logs`, raw for a TTY container, demultiplexed into
//! our stdout and stderr otherwise.

use std::io::{Read, Write};
use std::time::SystemTime;

use clap::Args;
use engine_api::containers::Inspect;
use engine_api::stream::{Demuxer, StdStream};

use super::Ctx;
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};
use crate::units;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn logs(ctx: &Ctx, args: LogsArgs) -> Result<i32> {
    let now = SystemTime::now();
    let mut params = vec![("stdout", "1".to_owned()), ("stderr", "1".to_owned())];
    if let Some(s) = &args.since {
        params.push((
            "since",
            units::api_timestamp(s, now).map_err(Error::InvalidArgument)?,
        ));
    }
    if let Some(u) = &args.until {
        params.push((
            "until",
            units::api_timestamp(u, now).map_err(Error::InvalidArgument)?,
        ));
    }
    if args.timestamps {
        params.push(("timestamps", "1".into()));
    }
    if args.follow {
        params.push(("follow", "1".into()));
    }
    if args.details {
        params.push(("details", "1".into()));
    }
    params.push(("tail", args.tail.clone()));
    let client = ctx.client()?;
    let name = path_segment(&args.container);
    let c: Inspect = client.get_json(&format!("/containers/{name}/json"))?;
    let mut resp = client.request(
        "GET",
        &format!("/containers/{name}/logs{}", query(&params)),
        Body::Empty,
    )?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut buf = vec![0u8; 32 * 1024];
    let mut demux = Demuxer::default();
    loop {
        let n = resp
            .read(&mut buf)
            .map_err(|e| Error::io("reading the logs", e))?;
        if n == 0 {
            break;
        }
        if c.config.tty {
            let mut o = stdout.lock();
            if o.write_all(&buf[..n]).and_then(|_| o.flush()).is_err() {
                return Ok(0);
            }
            continue;
        }
        demux.push(&buf[..n]);
        while let Some((stream, payload)) = demux.next_frame().map_err(Error::Protocol)? {
            let written = match stream {
                StdStream::Stderr => {
                    let mut e = stderr.lock();
                    e.write_all(&payload).and_then(|_| e.flush())
                }
                StdStream::System => {
                    return Err(Error::Stream(
                        String::from_utf8_lossy(&payload).trim_end().to_owned(),
                    ));
                }
                _ => {
                    let mut o = stdout.lock();
                    o.write_all(&payload).and_then(|_| o.flush())
                }
            };
            if written.is_err() {
                return Ok(0);
            }
        }
    }
    Ok(0)
}
