//! `myrunc exec`: from a process.json (`-p`) or inline, based on the container's process.

use std::path::{Path, PathBuf};

use crate::container::Container;
use crate::container::exec::{ExecOptions, exec};
use crate::error::{Error, Result};
use crate::spec::{Capabilities, Process};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// process.json describing the whole process
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (KEY=VALUE), repeatable
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional group, repeatable
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Capability to add, repeatable
    #[arg(short, long = "cap")]
    pub cap: Vec<String>,
    /// Set no_new_privs
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Return once the process is started
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process's pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// AF_UNIX socket that receives the pty master
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Pass N extra file descriptors to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// Accepted for compatibility (SELinux is not supported)
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,
    /// Accepted for compatibility (AppArmor is not supported)
    #[arg(long, hide = true)]
    pub apparmor: Option<String>,
    pub id: String,
    /// Command and arguments (inline form)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || Error::Usage(format!("--user {s:?}: want UID[:GID] as numbers"));
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// The inline form: the container's own process with the flags applied on top.
fn inline_process(base: &Process, a: &Args) -> Result<Process> {
    if a.command.is_empty() {
        return Err(Error::Usage(
            "exec needs a command (or --process FILE)".into(),
        ));
    }
    let mut p = base.clone();
    p.args = a.command.clone();
    p.terminal = a.tty;
    p.console_size = None;
    for kv in &a.env {
        let key = kv.split('=').next().unwrap_or(kv);
        p.env.retain(|e| e.split('=').next() != Some(key));
        p.env.push(if kv.contains('=') {
            kv.clone()
        } else {
            format!("{kv}=")
        });
    }
    if let Some(cwd) = &a.cwd {
        p.cwd = cwd.clone();
    }
    if let Some(u) = &a.user {
        let (uid, gid) = parse_user(u)?;
        p.user.uid = uid;
        if let Some(g) = gid {
            p.user.gid = g;
        }
    }
    if !a.additional_gids.is_empty() {
        p.user.additional_gids = a.additional_gids.clone();
    }
    if !a.cap.is_empty() {
        let caps = p.capabilities.get_or_insert_with(Capabilities::default);
        for c in &a.cap {
            for set in [&mut caps.bounding, &mut caps.effective, &mut caps.permitted] {
                if !set.contains(c) {
                    set.push(c.clone());
                }
            }
        }
    }
    p.no_new_privileges |= a.no_new_privs;
    Ok(p)
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    crate::process::exe_guard::ensure()?;
    let process = match &a.process {
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
            let de = &mut serde_json::Deserializer::from_slice(&data);
            serde_path_to_error::deserialize(de).map_err(|source| Error::ParseConfig {
                path: path.clone(),
                source,
            })?
        }
        None => {
            let c = Container::load(root, &a.id)?;
            let base = c.state.config.process.clone().unwrap_or_default();
            inline_process(&base, &a)?
        }
    };
    exec(
        root,
        &a.id,
        ExecOptions {
            process,
            detach: a.detach,
            pid_file: a.pid_file.clone(),
            console_socket: a.console_socket.clone(),
            preserve_fds: a.preserve_fds.max(0),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    #[test]
    fn inline_flags_override_the_base_process() {
        let t = T::try_parse_from([
            "x",
            "-t",
            "-e",
            "A=1",
            "-e",
            "PATH=/x",
            "--cwd",
            "/tmp",
            "-u",
            "1000:1001",
            "c1",
            "sh",
            "-c",
            "id",
        ])
        .unwrap();
        let base = Process {
            args: vec!["init".into()],
            env: vec!["PATH=/bin".into(), "B=2".into()],
            cwd: "/".into(),
            ..Process::default()
        };
        let p = inline_process(&base, &t.a).unwrap();
        assert_eq!(p.args, vec!["sh", "-c", "id"]);
        assert!(p.terminal);
        assert_eq!(p.env, vec!["B=2", "A=1", "PATH=/x"]);
        assert_eq!(p.cwd, "/tmp");
        assert_eq!((p.user.uid, p.user.gid), (1000, 1001));
    }

    #[test]
    fn bad_user_is_an_error() {
        assert!(parse_user("root").is_err());
        assert_eq!(parse_user("5").unwrap(), (5, None));
    }
}
