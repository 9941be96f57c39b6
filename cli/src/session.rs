//! The pieces of an attached container or exec that `run`, `start -a`, `attach` and
//! `exec` share: the attach request, a wait registered before the start (so a quick
//! exit is never missed), TTY resizes, and the signal proxy.

use std::sync::mpsc::{self, Receiver};

use engine_api::containers::WaitResponse;

use crate::client::{Body, Client, Hijacked, path_segment, query};
use crate::error::{Error, Result};
use crate::stdio::{self, Outcome, StdioOptions};
use crate::tty;

/// Hijacks `POST /containers/ID/attach` with stdout and stderr, and stdin if asked.
pub fn attach(
    client: &Client,
    id: &str,
    stdin: bool,
    detach_keys: Option<&str>,
    logs: bool,
) -> Result<Hijacked> {
    let mut params = vec![("stream", "1")];
    if stdin {
        params.push(("stdin", "1"));
    }
    params.push(("stdout", "1"));
    params.push(("stderr", "1"));
    if logs {
        params.push(("logs", "1"));
    }
    if let Some(k) = detach_keys {
        params.push(("detachKeys", k));
    }
    client.hijack(
        "POST",
        &format!("/containers/{}/attach{}", path_segment(id), query(&params)),
        Body::Empty,
    )
}

/// Registers `POST /containers/ID/wait?condition=...` now and delivers its answer when
/// the container gets there. The daemon sends the response head once the wait is in
/// place, so returning from here means the wait is registered.
pub fn register_wait(
    client: &Client,
    id: &str,
    condition: Option<&str>,
) -> Result<Receiver<Result<WaitResponse>>> {
    let params: Vec<(&str, &str)> = condition.map(|c| ("condition", c)).into_iter().collect();
    let resp = client
        .send(
            "POST",
            &format!("/containers/{}/wait{}", path_segment(id), query(&params)),
            Body::Empty,
        )?
        .check()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(resp.json::<WaitResponse>());
    });
    Ok(rx)
}

/// Copies between our stdio and the hijacked `conn` until it ends or we detach: the
/// terminal raw meanwhile when `raw` (a TTY session fed from our stdin), and the
/// container's TTY sized to ours once at the start.
pub fn interact(
    client: &Client,
    conn: Hijacked,
    opts: &StdioOptions,
    raw: bool,
    resize_target: Option<&ResizeTarget>,
) -> Result<Outcome> {
    let raw = if raw {
        Some(
            tty::RawMode::enable(tty::STDIN)
                .map_err(|e| Error::io("setting the terminal to raw mode", e))?,
        )
    } else {
        None
    };
    if let Some(t) = resize_target {
        initial_resize(client, t);
    }
    let outcome = stdio::pump(conn, opts);
    drop(raw);
    outcome
}

/// The exit code of a container whose wait `register_wait` registered.
pub fn wait_exit(waited: &Receiver<Result<WaitResponse>>) -> Result<i32> {
    let answer = waited
        .recv()
        .map_err(|_| Error::Protocol("the wait for the container's exit broke off".into()))?;
    exit_code(answer)
}

/// The exit code a wait answer stands for; the daemon's own wait error is an error.
pub fn exit_code(answer: Result<WaitResponse>) -> Result<i32> {
    let w = answer?;
    if let Some(e) = w.error.filter(|e| !e.message.is_empty()) {
        return Err(Error::Daemon {
            status: 500,
            message: e.message,
        });
    }
    Ok(w.status_code as i32)
}

/// What is being resized: a container's TTY or an exec's.
#[derive(Debug, Clone)]
pub enum ResizeTarget {
    Container(String),
    Exec(String),
}

impl ResizeTarget {
    fn path(&self, rows: u16, cols: u16) -> String {
        let (kind, id) = match self {
            ResizeTarget::Container(id) => ("containers", id),
            ResizeTarget::Exec(id) => ("exec", id),
        };
        format!(
            "/{kind}/{}/resize{}",
            path_segment(id),
            query(&[("h", rows.to_string()), ("w", cols.to_string())])
        )
    }
}

/// Sends our terminal's size, if we have one.
pub fn resize(client: &Client, target: &ResizeTarget) -> Result<()> {
    match tty::size(tty::STDOUT) {
        Some((rows, cols)) => client.post(&target.path(rows, cols)),
        None => Ok(()),
    }
}

/// The first resize right after start can race the process's creation; retry a little,
/// as docker's `initTtySize` does.
pub fn initial_resize(client: &Client, target: &ResizeTarget) {
    for attempt in 0..10u64 {
        if resize(client, target).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10 * (attempt + 1)));
    }
    eprintln!("failed to resize tty, using default size");
}

/// Starts the signal thread: SIGWINCH resizes `resize_target`'s TTY, and with `proxy`
/// the usual termination signals go to container `id` (docker's `--sig-proxy`). Call
/// before any other thread is spawned.
pub fn watch_signals(client: &Client, id: &str, resize_target: Option<ResizeTarget>, proxy: bool) {
    let mut signals = Vec::new();
    if resize_target.is_some() {
        signals.push(libc::SIGWINCH);
    }
    if proxy {
        signals.extend_from_slice(tty::PROXIED);
    }
    let client = client.clone();
    let id = id.to_owned();
    tty::watch_signals(&signals, move |sig| {
        if sig == libc::SIGWINCH {
            if let Some(t) = &resize_target {
                let _ = resize(&client, t);
            }
            return;
        }
        let path = format!(
            "/containers/{}/kill{}",
            path_segment(&id),
            query(&[("signal", sig.to_string())])
        );
        if let Err(e) = client.post(&path) {
            eprintln!("error forwarding signal {sig}: {e}");
        }
    });
}

/// docker's exit code for a failed start: 127 when the command was not found, 126 when
/// it could not be executed, 125 for anything else the daemon refused.
pub fn start_failure(e: Error) -> Error {
    let text = e.to_string();
    let text = text
        .strip_prefix("Error response from daemon: ")
        .unwrap_or(&text);
    let code = if text.contains("executable file not found")
        || text.contains("no such file or directory")
        || text.contains("system cannot find the file specified")
    {
        127
    } else if text.contains("permission denied") || text.contains("is a directory") {
        126
    } else {
        125
    };
    Error::Exit {
        code,
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_map_to_dockers_codes() {
        let daemon = |m: &str| Error::Daemon {
            status: 400,
            message: m.into(),
        };
        let code = |e: Error| match e {
            Error::Exit { code, .. } => code,
            _ => 0,
        };
        assert_eq!(
            code(start_failure(daemon(
                "exec: \"nosuch\": executable file not found in $PATH: unknown"
            ))),
            127
        );
        assert_eq!(
            code(start_failure(daemon(
                "exec: \"/etc/passwd\": permission denied"
            ))),
            126
        );
        assert_eq!(code(start_failure(daemon("cgroup trouble"))), 125);
    }
}
