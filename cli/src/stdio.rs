//! Copies between our stdio and a hijacked attach/exec connection: stdin to the
//! container (then half-close, so the daemon closes the process's stdin), the
//! container's output to our stdout and stderr — raw with a TTY, demultiplexed from
//! 8-byte frames without one — and, with a TTY, the detach sequence typed by the user.

use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::net::Shutdown;
use std::os::fd::FromRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use engine_api::stream::{Demuxer, DetachScanner, StdStream};

use crate::client::Hijacked;
use crate::error::{Error, Result};
use crate::tty;

/// How to treat one hijacked connection.
#[derive(Debug, Clone, Default)]
pub struct StdioOptions {
    /// Copy our stdin to the container.
    pub stdin: bool,
    /// The container has a TTY: output is one raw stream, and the detach keys are
    /// watched for here (without a TTY the daemon watches for them).
    pub tty: bool,
    /// The detach sequence (parsed `--detach-keys`); watched only with a TTY and stdin.
    pub detach_keys: Vec<u8>,
}

/// How the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The daemon closed the output: the process is done with it.
    Ended,
    /// The user typed the detach sequence; the process keeps running.
    Detached,
}

/// Runs the copies until the container's output ends or the user detaches.
pub fn pump(conn: Hijacked, opts: &StdioOptions) -> Result<Outcome> {
    let Hijacked {
        mut reader, writer, ..
    } = conn;
    let detached = Arc::new(AtomicBool::new(false));
    if opts.stdin {
        let detached = detached.clone();
        let keys = if opts.tty {
            opts.detach_keys.clone()
        } else {
            Vec::new()
        };
        std::thread::spawn(move || copy_stdin(writer, keys, &detached));
    } else {
        // Nothing will be sent: say so now, as docker does when stdin is not attached.
        let _ = writer.shutdown(Shutdown::Write);
    }

    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut buf = vec![0u8; 32 * 1024];
    let mut demux = Demuxer::default();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A detach shuts the socket down under us; anything else ended the stream too.
            Err(_) if detached.load(Ordering::SeqCst) => break,
            Err(e) => return Err(Error::io("reading the container's output", e)),
        };
        if opts.tty {
            let mut out = stdout.lock();
            if out.write_all(&buf[..n]).and_then(|_| out.flush()).is_err() {
                break;
            }
            continue;
        }
        demux.push(&buf[..n]);
        loop {
            let frame = demux.next_frame().map_err(Error::Protocol)?;
            let Some((stream, payload)) = frame else {
                break;
            };
            let written = match stream {
                StdStream::Stdout | StdStream::Stdin => {
                    let mut out = stdout.lock();
                    out.write_all(&payload).and_then(|_| out.flush())
                }
                StdStream::Stderr => {
                    let mut err = stderr.lock();
                    err.write_all(&payload).and_then(|_| err.flush())
                }
                StdStream::System => {
                    return Err(Error::Stream(
                        String::from_utf8_lossy(&payload).trim_end().to_owned(),
                    ));
                }
            };
            // Our stdout went away (a closed pipe): there is no one left to copy to.
            if written.is_err() {
                return Ok(Outcome::Ended);
            }
        }
    }
    if detached.load(Ordering::SeqCst) {
        Ok(Outcome::Detached)
    } else {
        Ok(Outcome::Ended)
    }
}

/// Copies fd 0 to the connection until EOF (then half-closes it) or the detach sequence
/// (then shuts the whole connection so that the output loop ends).
fn copy_stdin(mut writer: crate::client::Conn, keys: Vec<u8>, detached: &AtomicBool) {
    // SAFETY: fd 0 stays open for the life of the process; ManuallyDrop keeps it so.
    let mut stdin = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(tty::STDIN) });
    let mut scanner = DetachScanner::new(keys);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let scanned = scanner.scan(&buf[..n]);
        if !scanned.forward.is_empty() && writer.write_all(&scanned.forward).is_err() {
            return;
        }
        if scanned.detach {
            detached.store(true, Ordering::SeqCst);
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = writer.shutdown(Shutdown::Write);
}
