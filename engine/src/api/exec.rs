//! `/exec/{id}/...` handlers: start (hijacked unless detached), resize, inspect.

use std::sync::Arc;

use engine_api::exec::ExecStartConfig;
use engine_api::stream::{
    DEFAULT_DETACH_KEYS, DetachScanner, MULTIPLEXED_STREAM, RAW_STREAM, StdStream, encode_frame,
    parse_detach_keys,
};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

use super::hijack::{self, Output};
use super::{Query, Response, empty, json_response};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub async fn action(
    daemon: Arc<Daemon>,
    id: &str,
    action: &str,
    query: &Query,
    req: Request<Incoming>,
) -> Result<Response> {
    let exec = daemon.find_exec(id)?;
    match action {
        "json" => Ok(json_response(StatusCode::OK, &exec.inspect())),
        "resize" => {
            let h = query.int("h")?.unwrap_or(0);
            let w = query.int("w")?.unwrap_or(0);
            if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
                return Err(Error::BadParameter("invalid terminal size".into()));
            }
            daemon.resize_exec(&exec, h as u32, w as u32).await?;
            Ok(empty(StatusCode::OK))
        }
        "start" => {
            // The body is read first; the request's parts keep the upgrade hyper attached.
            let (parts, incoming) = req.into_parts();
            let bytes = super::read_incoming(incoming, 1 << 20).await?;
            let mut req = Request::from_parts(parts, ());
            let body: ExecStartConfig = if bytes.iter().all(u8::is_ascii_whitespace) {
                ExecStartConfig::default()
            } else {
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::BadParameter(format!("invalid JSON: {e}")))?
            };
            if body.detach {
                daemon.start_exec(&exec, false, body.console_size).await?;
                return Ok(empty(StatusCode::OK));
            }
            let tty = exec.config.tty;
            let keys = match exec.config.detach_keys.as_str() {
                "" => parse_detach_keys(DEFAULT_DETACH_KEYS),
                k => parse_detach_keys(k),
            }
            .map_err(Error::BadParameter)?;
            let io = daemon.start_exec(&exec, true, body.console_size).await?;
            let (response, pending) =
                hijack::start(&mut req, if tty { RAW_STREAM } else { MULTIPLEXED_STREAM });
            tokio::spawn(session(io, pending, tty, keys));
            Ok(response)
        }
        other => Err(Error::NotImplemented(format!("exec {other}"))),
    }
}

/// Copies an exec's output to the client until the process exits, and the client's
/// input to the process.
async fn session(
    io: crate::daemon::exec::ExecIo,
    pending: hijack::Pending,
    tty: bool,
    keys: Vec<u8>,
) {
    let crate::daemon::exec::ExecIo {
        stdin,
        stdout,
        stderr,
        mut done,
    } = io;
    let Some((input, mut output)) = hijack::connect(pending).await else {
        return;
    };
    let detached = tokio_util::sync::CancellationToken::new();
    let input_task = match (input, stdin) {
        (Some(mut reader), Some(mut writer)) => {
            let detached = detached.clone();
            Some(tokio::spawn(async move {
                let mut scanner = DetachScanner::new(keys);
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = match reader.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let scanned = scanner.scan(&buf[..n]);
                    if !scanned.forward.is_empty()
                        && writer.write_all(&scanned.forward).await.is_err()
                    {
                        break;
                    }
                    if scanned.detach {
                        detached.cancel();
                        return;
                    }
                }
                // Dropping the writer lets the shim see EOF after the data.
                drop(writer);
            }))
        }
        _ => None,
    };
    let mut out = stdout;
    let mut err = stderr;
    let mut obuf = vec![0u8; 32 * 1024];
    let mut ebuf = vec![0u8; 32 * 1024];
    let mut exited = false;
    loop {
        tokio::select! {
            _ = detached.cancelled() => break,
            r = read_some(&mut out, &mut obuf) => match r {
                Some(n) => if !emit(&mut output, StdStream::Stdout, &obuf[..n], tty).await { break },
                None => out = None,
            },
            r = read_some(&mut err, &mut ebuf) => match r {
                Some(n) => if !emit(&mut output, StdStream::Stderr, &ebuf[..n], tty).await { break },
                None => err = None,
            },
            _ = has_exited(&mut done), if !exited => exited = true,
        }
        if exited {
            // The shim delivered all output before it reported the exit: drain what is
            // in the FIFOs, then end.
            drain(&mut out, &mut obuf, &mut output, StdStream::Stdout, tty).await;
            drain(&mut err, &mut ebuf, &mut output, StdStream::Stderr, tty).await;
            break;
        }
    }
    if let Some(t) = input_task {
        t.abort();
    }
    output.close().await;
}

async fn has_exited(done: &mut tokio::sync::watch::Receiver<Option<i64>>) {
    let _ = done.wait_for(Option::is_some).await.map(|_| ());
}

/// Reads from an optional FIFO; pending forever when there is none.
async fn read_some(r: &mut Option<pipe::Receiver>, buf: &mut [u8]) -> Option<usize> {
    match r {
        Some(r) => match r.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

async fn drain(
    r: &mut Option<pipe::Receiver>,
    buf: &mut [u8],
    output: &mut Output,
    stream: StdStream,
    tty: bool,
) {
    let Some(r) = r else { return };
    while let Ok(n) = r.try_read(buf) {
        if n == 0 || !emit(output, stream, &buf[..n], tty).await {
            return;
        }
    }
}

async fn emit(output: &mut Output, stream: StdStream, data: &[u8], tty: bool) -> bool {
    if tty {
        return output.send(data).await;
    }
    let mut framed = Vec::with_capacity(data.len() + 8);
    encode_frame(stream, data, &mut framed);
    output.send(&framed).await
}
