//! Driving the OCI runtime (myrunc, or runc) through its command line, as containerd's
//! shim does with go-runc: `--root`, `--log <bundle>/log.json --log-format json`, and the
//! last error line of that log as the reason when a command fails.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};
use crate::reaper::Reaper;

/// Standard streams for a runtime command whose children become container processes.
#[derive(Default)]
pub struct ProcessIo {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

pub struct Runtime {
    pub binary: PathBuf,
    pub root: PathBuf,
    pub log: PathBuf,
    pub systemd_cgroup: bool,
    reaper: Reaper,
}

pub struct CreateOpts<'a> {
    pub bundle: &'a Path,
    pub pid_file: &'a Path,
    pub console_socket: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
}

pub struct ExecOpts<'a> {
    pub process_json: &'a Path,
    pub pid_file: &'a Path,
    pub console_socket: Option<&'a Path>,
}

/// Everything a pipe delivers until its writers are gone.
async fn read_all(fd: Option<OwnedFd>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = fd.and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok())
    {
        let _ = r.read_to_end(&mut buf).await;
    }
    buf
}

impl Runtime {
    pub fn new(
        binary: PathBuf,
        root: PathBuf,
        log: PathBuf,
        systemd_cgroup: bool,
        reaper: Reaper,
    ) -> Runtime {
        Runtime {
            binary,
            root,
            log,
            systemd_cgroup,
            reaper,
        }
    }

    fn command(&self, args: &[OsString]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .arg("--log-format")
            .arg("json");
        if self.systemd_cgroup {
            cmd.arg("--systemd-cgroup");
        }
        cmd.args(args);
        cmd
    }

    /// The last `"level":"error"` message of the JSON log, as go-runc reports it.
    fn last_error(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.log).ok()?;
        text.lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["level"] == "error")
            .and_then(|v| v["msg"].as_str().map(str::to_string))
    }

    /// Runs one command; returns its stdout. `io` becomes its stdio (for create/exec,
    /// whose container processes inherit it); otherwise stdout is captured.
    async fn run(
        &self,
        name: &'static str,
        args: Vec<OsString>,
        io: Option<ProcessIo>,
        input: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let mut cmd = self.command(&args);
        let capture = io.is_none();
        match io {
            Some(io) => {
                cmd.stdin(io.stdin.map(Stdio::from).unwrap_or_else(Stdio::null));
                cmd.stdout(io.stdout.map(Stdio::from).unwrap_or_else(Stdio::null));
                cmd.stderr(io.stderr.map(Stdio::from).unwrap_or_else(Stdio::null));
            }
            None => {
                cmd.stdin(if input.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                });
                cmd.stdout(Stdio::piped());
                cmd.stderr(Stdio::piped());
            }
        }
        let since = Instant::now();
        let mut child = cmd.spawn().map_err(|e| Error::Runtime {
            command: name,
            message: format!("cannot run {}: {e}", self.binary.display()),
        })?;
        let exited = self.reaper.claim(child.id() as i32, since);
        if let (Some(data), Some(stdin)) = (input, child.stdin.take()) {
            let mut pipe = tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(stdin))
                .map_err(|e| Error::io("writing to", &self.binary, e))?;
            tokio::io::AsyncWriteExt::write_all(&mut pipe, &data)
                .await
                .map_err(|e| Error::io("writing to", &self.binary, e))?;
        }
        let (out, err) = if capture {
            tokio::join!(
                read_all(child.stdout.take().map(OwnedFd::from)),
                read_all(child.stderr.take().map(OwnedFd::from))
            )
        } else {
            (Vec::new(), Vec::new())
        };
        // The std Child must not wait: the reaper owns every exit.
        drop(child);
        let exit = exited.await.map_err(|_| Error::Runtime {
            command: name,
            message: "the reaper stopped".into(),
        })?;
        if exit.status != 0 {
            let message = self
                .last_error()
                .or_else(|| {
                    Some(String::from_utf8_lossy(&err).trim().to_string()).filter(|s| !s.is_empty())
                })
                .unwrap_or_else(|| format!("exit status {}", exit.status));
            return Err(Error::Runtime {
                command: name,
                message,
            });
        }
        Ok(out)
    }

    pub async fn create(&self, id: &str, opts: CreateOpts<'_>, io: ProcessIo) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "create".into(),
            "--bundle".into(),
            opts.bundle.into(),
            "--pid-file".into(),
            opts.pid_file.into(),
        ];
        if let Some(s) = opts.console_socket {
            args.push("--console-socket".into());
            args.push(s.into());
        }
        if opts.no_pivot {
            args.push("--no-pivot".into());
        }
        if opts.no_new_keyring {
            args.push("--no-new-keyring".into());
        }
        args.push(id.into());
        self.run("create", args, Some(io), None).await.map(drop)
    }

    pub async fn start(&self, id: &str) -> Result<()> {
        self.run("start", vec!["start".into(), id.into()], None, None)
            .await
            .map(drop)
    }

    pub async fn exec(&self, id: &str, opts: ExecOpts<'_>, io: ProcessIo) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "exec".into(),
            "--process".into(),
            opts.process_json.into(),
            "--detach".into(),
            "--pid-file".into(),
            opts.pid_file.into(),
        ];
        if let Some(s) = opts.console_socket {
            args.push("--console-socket".into());
            args.push(s.into());
        }
        args.push(id.into());
        self.run("exec", args, Some(io), None).await.map(drop)
    }

    pub async fn kill(&self, id: &str, signal: u32, all: bool) -> Result<()> {
        let mut args: Vec<OsString> = vec!["kill".into()];
        if all {
            args.push("--all".into());
        }
        args.push(id.into());
        args.push(signal.to_string().into());
        self.run("kill", args, None, None).await.map(drop)
    }

    pub async fn delete(&self, id: &str, force: bool) -> Result<()> {
        let mut args: Vec<OsString> = vec!["delete".into()];
        if force {
            args.push("--force".into());
        }
        args.push(id.into());
        self.run("delete", args, None, None).await.map(drop)
    }

    pub async fn pause(&self, id: &str) -> Result<()> {
        self.run("pause", vec!["pause".into(), id.into()], None, None)
            .await
            .map(drop)
    }

    pub async fn resume(&self, id: &str) -> Result<()> {
        self.run("resume", vec!["resume".into(), id.into()], None, None)
            .await
            .map(drop)
    }

    pub async fn update(&self, id: &str, resources_json: Vec<u8>) -> Result<()> {
        self.run(
            "update",
            vec!["update".into(), "--resources".into(), "-".into(), id.into()],
            None,
            Some(resources_json),
        )
        .await
        .map(drop)
    }

    /// The container's pids (`ps --format json`).
    pub async fn ps(&self, id: &str) -> Result<Vec<u32>> {
        let out = self
            .run(
                "ps",
                vec!["ps".into(), "--format".into(), "json".into(), id.into()],
                None,
                None,
            )
            .await?;
        serde_json::from_slice(&out).map_err(|e| Error::Runtime {
            command: "ps",
            message: format!("unreadable output: {e}"),
        })
    }

    /// One `events --stats` sample, as runc's JSON.
    pub async fn stats(&self, id: &str) -> Result<serde_json::Value> {
        let out = self
            .run(
                "events",
                vec!["events".into(), "--stats".into(), id.into()],
                None,
                None,
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| Error::Runtime {
            command: "events",
            message: format!("unreadable output: {e}"),
        })?;
        Ok(v["data"].clone())
    }
}
