//! `tasks exec`: an additional process in a running container, with the container's
//! process spec as a base (environment, user, capabilities), as ctr does.

use myproto::containerd::services::tasks::v1::{
    DeleteProcessRequest, ExecProcessRequest, StartRequest,
};
use prost_types::Any;

use crate::cli::ExecArgs;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::identifier;
use crate::json::Json;
use crate::session::{self, Follow, OUTPUT_GRACE, ProcessRef, Signals};
use crate::stdio::Stdio;
use crate::task;
use crate::tty::Terminal;

pub async fn run(client: &Client, args: ExecArgs) -> Result<i32> {
    identifier::validate("exec id", &args.exec_id)?;
    if args.log_uri.is_some() && args.fifo_dir.is_some() {
        return Err(Error::Usage("can't use log-uri with fifo-dir"));
    }
    let container = client.container(&args.id).await?;
    let process_spec = process_spec(&container, &args)?;
    let terminal = if args.tty && !args.detach {
        Some(Terminal::raw()?)
    } else {
        None
    };
    let fifo_root = task::fifo_root(args.fifo_dir.as_deref());
    let stdio = Stdio::new(
        false,
        args.log_uri.as_deref(),
        &fifo_root,
        &args.exec_id,
        args.tty,
    )?;
    let mut copying = match stdio.start(!args.detach, true) {
        Ok(c) => c,
        Err(e) => {
            stdio.remove();
            return Err(e);
        }
    };
    let paths = stdio.paths();
    let process = ProcessRef {
        container_id: args.id.clone(),
        exec_id: args.exec_id.clone(),
    };
    let request = ExecProcessRequest {
        container_id: args.id.clone(),
        stdin: paths.stdin.clone(),
        stdout: paths.stdout.clone(),
        stderr: paths.stderr.clone(),
        terminal: paths.terminal,
        spec: Some(Any {
            type_url: myproto::type_url::PROCESS.to_owned(),
            value: process_spec.compact().into_bytes(),
        }),
        exec_id: args.exec_id.clone(),
    };
    if let Err(status) = client.tasks().exec(client.request(request)).await {
        stdio.remove();
        return Err(status.into());
    }
    let waiting = (!args.detach).then(|| session::wait(client, &process));
    let started = async {
        // Signals are held for the process from here on (see task::start).
        let signals = if args.detach {
            None
        } else {
            Some(Signals::listen()?)
        };
        client
            .tasks()
            .start(client.request(StartRequest {
                container_id: args.id.clone(),
                exec_id: args.exec_id.clone(),
            }))
            .await?;
        Ok::<_, Error>(signals)
    }
    .await;
    let signals = match started {
        Ok(signals) => signals,
        Err(e) => {
            if let Some(waiting) = waiting {
                waiting.abort();
            }
            let _ = delete_process(client, &process).await;
            stdio.remove();
            return Err(e);
        }
    };
    let (Some(waiting), Some(signals)) = (waiting, signals) else {
        // The shim has its ends open, and nothing attaches to an exec later: the
        // FIFOs need not outlive us (ctr leaves them behind).
        stdio.remove();
        return Ok(0);
    };
    let follow = Follow {
        terminal: terminal.as_ref(),
        signals,
        close_stdin: !args.tty,
    };
    let status = session::follow(client, &process, waiting, &mut copying, follow).await;
    copying.wait_output(OUTPUT_GRACE).await;
    let deleted = delete_process(client, &process).await;
    copying.wait_output(OUTPUT_GRACE).await;
    stdio.remove();
    drop(terminal);
    let status = status?;
    deleted?;
    Ok(status as i32)
}

async fn delete_process(client: &Client, process: &ProcessRef) -> Result<()> {
    client
        .tasks()
        .delete_process(client.request(DeleteProcessRequest {
            container_id: process.container_id.clone(),
            exec_id: process.exec_id.clone(),
        }))
        .await?;
    Ok(())
}

/// The container's `process` with this command, terminal, working directory and user.
fn process_spec(
    container: &myproto::containerd::services::containers::v1::Container,
    args: &ExecArgs,
) -> Result<Json> {
    let spec = task::container_spec(container)?;
    let mut process = spec
        .get("process")
        .cloned()
        .filter(|p| matches!(p, Json::Object(_)))
        .ok_or_else(|| Error::BadSpec {
            id: container.id.clone(),
            reason: "no process".into(),
        })?;
    process.set("terminal", Json::Bool(args.tty));
    process.set(
        "args",
        Json::Array(args.args.iter().map(Json::str).collect()),
    );
    process.remove("commandLine");
    if let Some(cwd) = args.cwd.as_ref().filter(|c| !c.is_empty()) {
        process.set("cwd", Json::str(cwd));
    }
    if let Some(user) = &args.user {
        let (uid, gid) = parse_user(user)?;
        let mut spec_user = process
            .get("user")
            .cloned()
            .unwrap_or(Json::Object(Vec::new()));
        spec_user.set("uid", Json::uint(uid.into()));
        spec_user.set("gid", Json::uint(gid.into()));
        spec_user.remove("additionalGids");
        spec_user.remove("username");
        process.set("user", spec_user);
    }
    Ok(process)
}

/// `--user UID[:GID]`, numeric (the GID defaults to the UID, as in the Go client).
fn parse_user(user: &str) -> Result<(u32, u32)> {
    let invalid = || Error::Invalid {
        what: "user",
        value: user.to_owned(),
        reason: "expected UID[:GID], numeric".into(),
    };
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid: u32 = uid.parse().map_err(|_| invalid())?;
    let gid = match gid {
        Some(g) => g.parse().map_err(|_| invalid())?,
        None => uid,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_numeric() {
        assert_eq!(parse_user("1000").unwrap(), (1000, 1000));
        assert_eq!(parse_user("1:2").unwrap(), (1, 2));
        assert!(parse_user("root").is_err());
        assert!(parse_user("1:x").is_err());
    }
}
