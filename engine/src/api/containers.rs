//! `/containers/...` handlers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use engine_api::IdResponse;
use engine_api::containers::{
    CreateRequest, Inspect, State, Summary, SummaryHostConfig, SummaryNetworkSettings,
};
use engine_api::filters::Filters;
use engine_api::stream::{
    DEFAULT_DETACH_KEYS, DetachScanner, MULTIPLEXED_STREAM, RAW_STREAM, parse_detach_keys,
};
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::hijack;
use super::{Query, Response, channel_response, empty, json_response, read_json};
use crate::daemon::containers::{WaitCondition, wait_for};
use crate::daemon::logs::{self, ReadOptions};
use crate::daemon::spec;
use crate::daemon::{Container, Daemon};
use crate::error::{Error, Result};
use crate::store::{ContainerRecord, Status};

const NEVER: &str = "0001-01-01T00:00:00Z";

pub async fn create(daemon: &Daemon, query: &Query, req: Request<Incoming>) -> Result<Response> {
    let body: CreateRequest = read_json(req).await?;
    let (id, warnings) = daemon.create_container(query.get("name"), body).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &IdResponse { id, warnings },
    ))
}

pub async fn delete(daemon: &Daemon, id: &str, query: &Query) -> Result<Response> {
    let c = daemon.find_container(id)?;
    daemon
        .remove_container_with(&c, query.bool("force"), query.bool("v"))
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn action(
    daemon: Arc<Daemon>,
    id: &str,
    action: &str,
    query: &Query,
    req: Request<Incoming>,
) -> Result<Response> {
    let c = daemon.find_container(id)?;
    match action {
        "json" => Ok(json_response(StatusCode::OK, &inspect(&daemon, &c))),
        "start" => {
            daemon.start_container(&c).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "stop" => {
            let signal = query.get("signal");
            daemon.stop_container(&c, signal, query.int("t")?).await?;
            daemon.container_event(&c, "stop", &[]);
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "restart" => {
            match daemon
                .stop_container(&c, query.get("signal"), query.int("t")?)
                .await
            {
                Ok(()) => daemon.container_event(&c, "stop", &[]),
                Err(Error::NotModified) => {}
                Err(e) => return Err(e),
            }
            daemon.start_container(&c).await?;
            daemon.container_event(&c, "restart", &[]);
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "kill" => {
            daemon.kill_container(&c, query.get("signal")).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "update" => update(&daemon, &c, read_json(req).await?),
        "wait" => {
            let condition = WaitCondition::parse(query.get("condition").unwrap_or(""))?;
            // Registered before the answer goes out: a start after this is seen.
            let waiter = c.waiter();
            let (response, tx) = channel_response("application/json");
            tokio::spawn(async move {
                let result = wait_for(waiter, condition).await;
                let mut body = serde_json::to_vec(&result).unwrap_or_default();
                body.push(b'\n');
                let _ = tx.send(body.into()).await;
            });
            Ok(response)
        }
        "resize" => {
            let h = query.int("h")?.unwrap_or(0);
            let w = query.int("w")?.unwrap_or(0);
            if h < 0 || w < 0 || h > u16::MAX as i64 || w > u16::MAX as i64 {
                return Err(Error::BadParameter("invalid terminal size".into()));
            }
            daemon.resize_container(&c, h as u32, w as u32).await?;
            Ok(empty(StatusCode::OK))
        }
        "exec" => {
            let config = read_json(req).await?;
            let id = daemon.create_exec(&c.id, config)?;
            Ok(json_response(
                StatusCode::CREATED,
                &IdResponse {
                    id,
                    warnings: vec![],
                },
            ))
        }
        "logs" => logs_response(daemon, c, query),
        "attach" => attach(daemon, c, query, req),
        other => Err(Error::NotImplemented(format!("container {other}"))),
    }
}

/// `GET /containers/json`.
pub fn list(daemon: &Daemon, query: &Query) -> Result<Response> {
    let filters =
        Filters::parse(query.get("filters").unwrap_or("")).map_err(Error::BadParameter)?;
    filters
        .validate(&[
            "id", "name", "status", "label", "exited", "ancestor", "before", "since",
        ])
        .map_err(Error::BadParameter)?;
    validate_status_filter(&filters)?;
    // Containers created before / after the named ones; an unknown one is a 404.
    let created_of = |v: &str| -> Result<DateTime<Utc>> {
        let c = daemon.find_container(v)?;
        Ok(parse_time(&c.record().created).unwrap_or_default())
    };
    let before: Vec<DateTime<Utc>> = filters
        .get("before")
        .map(created_of)
        .collect::<Result<_>>()?;
    let since: Vec<DateTime<Utc>> = filters
        .get("since")
        .map(created_of)
        .collect::<Result<_>>()?;
    let all = query.bool("all") || filters.contains("status") || filters.contains("exited");
    let mut records: Vec<ContainerRecord> =
        daemon.all_containers().iter().map(|c| c.record()).collect();
    records.sort_by(|a, b| b.created.cmp(&a.created));
    let mut out: Vec<Summary> = records
        .into_iter()
        .filter(|r| all || r.state.status == Status::Running || r.state.restarting)
        .filter(|r| filters.matches("id", |v| r.id.starts_with(v)))
        .filter(|r| filters.matches("name", |v| r.name.contains(v.trim_start_matches('/'))))
        .filter(|r| {
            filters.matches("status", |v| {
                if r.state.restarting {
                    v == "restarting"
                } else if r.state.paused {
                    v == "paused"
                } else {
                    v == r.state.status.as_str()
                }
            })
        })
        .filter(|r| {
            filters.matches("exited", |v| {
                r.state.status == Status::Exited
                    && v.parse::<i64>().is_ok_and(|n| n == r.state.exit_code)
            })
        })
        .filter(|r| {
            filters.matches("ancestor", |v| {
                crate::daemon::images::familiar(&r.image_name) == v
                    || r.config.image == v
                    || r.image_id
                        .trim_start_matches("sha256:")
                        .starts_with(v.trim_start_matches("sha256:"))
            })
        })
        .filter(|r| filters.matches_labels(&r.config.labels))
        .filter(|r| created_between(&r.created, &before, &since))
        .map(|r| summary(daemon, &r))
        .collect();
    if let Some(limit) = query.int("limit")?
        && limit > 0
    {
        out.truncate(limit as usize);
    }
    Ok(json_response(StatusCode::OK, &out))
}

/// `POST /containers/{id}/update`: the restart policy; changing resources of a created
/// container is not implemented yet, and says so.
fn update(daemon: &Daemon, c: &Container, body: serde_json::Value) -> Result<Response> {
    let serde_json::Value::Object(fields) = body else {
        return Err(Error::BadParameter(
            "invalid JSON: expected an object".into(),
        ));
    };
    let mut policy = None;
    let mut resources = Vec::new();
    for (k, v) in fields {
        match k.as_str() {
            "RestartPolicy" => {
                let p: engine_api::containers::RestartPolicy = serde_json::from_value(v)
                    .map_err(|e| Error::BadParameter(format!("invalid JSON: {e}")))?;
                // The docker CLI sends an empty policy when --restart is not given.
                if !p.name.is_empty() {
                    policy = Some(p);
                }
            }
            // Zero, empty and null mean "unchanged", as the CLI sends every field.
            _ if is_unset(&v) => {}
            _ => resources.push(k),
        }
    }
    if !resources.is_empty() {
        return Err(Error::NotImplemented(format!(
            "updating {} of a container",
            resources.join(", ")
        )));
    }
    if let Some(p) = policy {
        daemon.update_restart_policy(c, p)?;
    }
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "Warnings": [] }),
    ))
}

fn is_unset(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.values().all(is_unset),
    }
}

/// The states a `status` filter may name (Docker's list).
const STATUS_FILTER_VALUES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

fn validate_status_filter(filters: &Filters) -> Result<()> {
    match filters
        .get("status")
        .find(|v| !STATUS_FILTER_VALUES.contains(v))
    {
        Some(v) => Err(Error::BadParameter(format!("invalid filter 'status={v}'"))),
        None => Ok(()),
    }
}

/// Whether a container created at `created` is strictly before every time in
/// `before` and strictly after every time in `since`.
fn created_between(created: &str, before: &[DateTime<Utc>], since: &[DateTime<Utc>]) -> bool {
    if before.is_empty() && since.is_empty() {
        return true;
    }
    let Some(t) = parse_time(created) else {
        return false;
    };
    before.iter().all(|b| t < *b) && since.iter().all(|s| t > *s)
}

fn summary(daemon: &Daemon, r: &ContainerRecord) -> Summary {
    let created = parse_time(&r.created).map(|t| t.timestamp()).unwrap_or(0);
    let command = list_command(&r.path, &r.args);
    Summary {
        id: r.id.clone(),
        names: vec![format!("/{}", r.name)],
        image: r.config.image.clone(),
        image_id: r.image_id.clone(),
        command,
        created,
        ports: summary_ports(r),
        labels: r.config.labels.clone(),
        state: if r.state.paused {
            "paused".into()
        } else {
            r.state.status.as_str().into()
        },
        status: status_text(r),
        host_config: SummaryHostConfig {
            network_mode: network_mode(r),
        },
        network_settings: SummaryNetworkSettings {
            networks: daemon.summary_networks(r),
        },
        mounts: mount_points(daemon, r),
    }
}

/// `Mounts` of the list and inspect: binds and tmpfs, then volumes.
fn mount_points(daemon: &Daemon, r: &ContainerRecord) -> Vec<engine_api::containers::MountPoint> {
    let mut out = spec::mount_points(&r.host_config);
    out.extend(daemon.volume_mount_points(r));
    out
}

/// `Ports` of the list: each published binding, then exposed ports not published.
fn summary_ports(r: &ContainerRecord) -> Vec<engine_api::containers::Port> {
    use engine_api::containers::Port;
    let mut out = Vec::new();
    for p in &r.network.ports {
        for b in p.bindings() {
            out.push(Port {
                ip: b.host_ip,
                private_port: p.container_port,
                public_port: Some(p.host_port),
                kind: p.proto.clone(),
            });
        }
    }
    for key in r.config.exposed_ports.keys() {
        if let Ok((port, proto)) = crate::network::ports::parse_port_key(key)
            && !r
                .network
                .ports
                .iter()
                .any(|p| p.container_port == port && p.proto == proto.as_str())
        {
            out.push(Port {
                ip: String::new(),
                private_port: port,
                public_port: None,
                kind: proto.to_string(),
            });
        }
    }
    out
}

/// The list's `Command` as Docker shapes it: the path as it is, then each argument,
/// in single quotes when it has a space (`sh -c 'echo hi'`).
fn list_command(path: &str, args: &[String]) -> String {
    std::iter::once(path.to_owned())
        .chain(args.iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

fn network_mode(r: &ContainerRecord) -> String {
    match r.host_config.network_mode.as_str() {
        "" => "default".into(),
        m => m.into(),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`.
fn status_text(r: &ContainerRecord) -> String {
    let since = |t: &str| {
        parse_time(t)
            .map(|t| human_duration((Utc::now() - t).num_seconds()))
            .unwrap_or_default()
    };
    match r.state.status {
        Status::Created => "Created".into(),
        Status::Running if r.state.paused => {
            format!("Up {} (Paused)", since(&r.state.started_at))
        }
        Status::Running => format!("Up {}", since(&r.state.started_at)),
        Status::Exited if r.state.restarting => format!(
            "Restarting ({}) {} ago",
            r.state.exit_code,
            since(&r.state.finished_at)
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            r.state.exit_code,
            since(&r.state.finished_at)
        ),
    }
}

/// Docker's `HumanDuration`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h) = (s / 60, s / 3600);
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if m == 1 {
        "About a minute".into()
    } else if m < 60 {
        format!("{m} minutes")
    } else if (h as f64 + 0.5) as i64 == 1 {
        "About an hour".into()
    } else if h < 48 {
        format!("{h} hours")
    } else if h < 24 * 7 * 2 {
        format!("{} days", h / 24)
    } else if h < 24 * 30 * 2 {
        format!("{} weeks", h / 24 / 7)
    } else if h < 24 * 365 * 2 {
        format!("{} months", h / 24 / 30)
    } else {
        format!("{} years", h / 24 / 365)
    }
}

/// `GET /containers/{id}/json`.
pub fn inspect(daemon: &Daemon, c: &Container) -> Inspect {
    let r = c.record();
    let dir = daemon.container_dir(&r.id);
    let time = |t: &str| {
        if t.is_empty() {
            NEVER.to_owned()
        } else {
            t.to_owned()
        }
    };
    let mut host_config = r.host_config.clone();
    if host_config.network_mode.is_empty() {
        host_config.network_mode = "default".into();
    }
    Inspect {
        id: r.id.clone(),
        created: r.created.clone(),
        path: r.path.clone(),
        args: r.args.clone(),
        state: State {
            status: if r.state.restarting {
                "restarting".into()
            } else if r.state.paused {
                "paused".into()
            } else {
                r.state.status.as_str().into()
            },
            // As Docker's: a container waiting to be restarted counts as running.
            running: r.state.status == Status::Running || r.state.restarting,
            paused: r.state.paused,
            restarting: r.state.restarting,
            oom_killed: r.state.oom_killed,
            dead: false,
            pid: i64::from(r.state.pid),
            exit_code: r.state.exit_code,
            error: r.state.error.clone(),
            started_at: time(&r.state.started_at),
            finished_at: time(&r.state.finished_at),
        },
        image: r.image_id.clone(),
        resolv_conf_path: dir.join("resolv.conf").display().to_string(),
        hostname_path: dir.join("hostname").display().to_string(),
        hosts_path: dir.join("hosts").display().to_string(),
        log_path: daemon.log_path(&r.id).display().to_string(),
        name: format!("/{}", r.name),
        restart_count: r.restart_count,
        driver: daemon.images.snapshotter().to_owned(),
        platform: "linux".into(),
        exec_ids: None,
        host_config,
        config: r.config.clone(),
        mounts: mount_points(daemon, &r),
        network_settings: daemon.network_settings(&r),
        ..Default::default()
    }
}

/// Docker's `since`/`until`: Unix seconds with an optional fraction of 1-9 digits, or
/// RFC 3339 (the CLI turns durations like `10m` into Unix seconds before sending).
/// Anything else, or a time out of range, is a 400 rather than "no filter".
fn parse_log_time(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    let Some(v) = value.filter(|v| !v.is_empty() && *v != "0") else {
        return Ok(None);
    };
    if let Some(t) = parse_time(v) {
        return Ok(Some(t));
    }
    let invalid = || Error::BadParameter(format!("invalid value for {name}: {v:?}"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (secs, frac) = v.split_once('.').unwrap_or((v, "0"));
    if !digits(secs) || !digits(frac) || frac.len() > 9 {
        return Err(invalid());
    }
    let secs: i64 = secs.parse().map_err(|_| invalid())?;
    // ASCII digits only, so padding to nine is padding to nine bytes.
    let nanos: u32 = format!("{frac:0<9}").parse().map_err(|_| invalid())?;
    DateTime::from_timestamp(secs, nanos)
        .map(Some)
        .ok_or_else(invalid)
}

/// A token cancelled at the container's next exit (at once when it is not running).
fn exit_token(c: &Container) -> CancellationToken {
    let token = CancellationToken::new();
    let mut rx = c.subscribe();
    let initial = *rx.borrow_and_update();
    if !c.is_running() {
        token.cancel();
        return token;
    }
    let t = token.clone();
    tokio::spawn(async move {
        let _ = rx
            .wait_for(|w| w.exits > initial.exits || !w.running || w.removed)
            .await;
        t.cancel();
    });
    token
}

fn logs_response(daemon: Arc<Daemon>, c: Arc<Container>, query: &Query) -> Result<Response> {
    let (stdout, stderr) = (query.bool("stdout"), query.bool("stderr"));
    if !stdout && !stderr {
        return Err(Error::BadParameter(
            "Bad parameters: you must choose at least one stream".into(),
        ));
    }
    let tail = match query.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| Error::BadParameter(format!("invalid tail {n:?}")))?,
        ),
    };
    let opts = ReadOptions {
        since: parse_log_time("since", query.get("since"))?,
        until: parse_log_time("until", query.get("until"))?,
        tail: tail.filter(|n| *n >= 0).map(|n| n as usize),
        follow: query.bool("follow"),
        stdout,
        stderr,
    };
    let timestamps = query.bool("timestamps");
    let tty = c.record().config.tty;
    let stop = exit_token(&c);
    let path = daemon.log_path(&c.id);
    let (response, tx) = channel_response(if tty { RAW_STREAM } else { MULTIPLEXED_STREAM });
    tokio::spawn(async move {
        let mut entries = logs::read(path, opts, stop);
        while let Some(entry) = entries.next().await {
            match entry {
                Ok(e) => {
                    if tx
                        .send(logs::frame(&e, timestamps, tty).into())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!("reading the log: {e}");
                    return;
                }
            }
        }
    });
    Ok(response)
}

/// `POST /containers/{id}/attach`.
fn attach(
    daemon: Arc<Daemon>,
    c: Arc<Container>,
    query: &Query,
    mut req: Request<Incoming>,
) -> Result<Response> {
    let record = c.record();
    let tty = record.config.tty;
    let keys = match query.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => parse_detach_keys(k).map_err(Error::BadParameter)?,
        None => parse_detach_keys(DEFAULT_DETACH_KEYS).map_err(Error::BadParameter)?,
    };
    let want_stdin = query.bool("stdin") && record.config.open_stdin;
    daemon.container_event(&c, "attach", &[]);
    let (stdout, stderr) = (query.bool("stdout"), query.bool("stderr"));
    let stream = query.bool("stream");
    let replay = query.bool("logs");
    // Output ends at the next exit of the container from now (an attach made before
    // start follows that run).
    let stop = CancellationToken::new();
    {
        let mut rx = c.subscribe();
        let initial = *rx.borrow_and_update();
        let t = stop.clone();
        if !stream {
            t.cancel();
        } else {
            tokio::spawn(async move {
                let _ = rx.wait_for(|w| w.exits > initial.exits || w.removed).await;
                t.cancel();
            });
        }
    }
    let (response, pending) =
        hijack::start(&mut req, if tty { RAW_STREAM } else { MULTIPLEXED_STREAM });
    tokio::spawn(async move {
        let Some((input, mut output)) = hijack::connect(pending).await else {
            return;
        };
        let detached = CancellationToken::new();
        let input_task = match input {
            Some(mut reader) if want_stdin => {
                let (daemon, c, detached) = (daemon.clone(), c.clone(), detached.clone());
                let stdin_once = record.config.stdin_once;
                Some(tokio::spawn(async move {
                    let mut scanner = DetachScanner::new(keys);
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        let n = match reader.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let scanned = scanner.scan(&buf[..n]);
                        if !scanned.forward.is_empty() && !write_stdin(&c, &scanned.forward).await {
                            break;
                        }
                        if scanned.detach {
                            tracing::debug!(container_id = %c.id, "detached");
                            detached.cancel();
                            return;
                        }
                    }
                    // Docker's rule: without a TTY and with StdinOnce the container's
                    // stdin closes; with a TTY the client's EOF ends the attach (the
                    // docker CLI detaches that way), leaving the container's stdin open.
                    if tty {
                        detached.cancel();
                    } else if stdin_once {
                        daemon.close_stdin(&c).await;
                    }
                }))
            }
            // Without stdin the client's half of the connection means nothing to us.
            _ => None,
        };
        if stdout || stderr {
            let opts = ReadOptions {
                tail: if replay { None } else { Some(0) },
                follow: stream,
                stdout,
                stderr,
                ..Default::default()
            };
            let mut entries = logs::read(daemon.log_path(&c.id), opts, stop.clone());
            loop {
                tokio::select! {
                    _ = detached.cancelled() => break,
                    entry = entries.next() => match entry {
                        Some(Ok(e)) => {
                            if !output.send(&logs::frame(&e, false, tty)).await {
                                break;
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(container_id = %c.id, "attach: reading the log: {e}");
                            break;
                        }
                        None => break,
                    }
                }
            }
        } else {
            tokio::select! {
                _ = detached.cancelled() => {}
                _ = stop.cancelled() => {}
            }
        }
        if let Some(t) = input_task {
            t.abort();
        }
        output.close().await;
    });
    Ok(response)
}

/// Writes to the container's stdin, waiting for a start when the attach came first.
/// False when there is no stdin to write to any more.
async fn write_stdin(c: &Container, data: &[u8]) -> bool {
    use tokio::io::AsyncWriteExt;
    let writer = match c.stdin_writer() {
        Some(w) => w,
        None => {
            let mut rx = c.subscribe();
            let initial = *rx.borrow_and_update();
            let _ = rx
                .wait_for(|w| w.running || w.exits > initial.exits || w.removed)
                .await;
            match c.stdin_writer() {
                Some(w) => w,
                None => return false,
            }
        }
    };
    let mut w = writer.lock().await;
    w.write_all(data).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_dockers() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3 * 86400), "3 days");
    }

    #[test]
    fn list_command_quotes_arguments_with_spaces_in_single_quotes() {
        let args = ["-c".to_owned(), "echo started; sleep 1".to_owned()];
        assert_eq!(list_command("sh", &args), "sh -c 'echo started; sleep 1'");
        assert_eq!(list_command("true", &[]), "true");
    }

    #[test]
    fn log_times() {
        let t = parse_log_time("since", Some("1700000000.5"))
            .unwrap()
            .unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_nanos(), 500_000_000);
        let t = parse_log_time("since", Some("1700000000"))
            .unwrap()
            .unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 0);
        let t = parse_log_time("until", Some("2023-11-14T22:13:20Z"))
            .unwrap()
            .unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert!(parse_log_time("since", Some("0")).unwrap().is_none());
        assert!(parse_log_time("since", Some("x")).is_err());
    }

    #[test]
    fn status_filters_take_only_dockers_states() {
        for good in ["running", "exited", "created", "dead", "paused"] {
            let f = Filters::parse(&format!(r#"{{"status":["{good}"]}}"#)).unwrap();
            assert!(validate_status_filter(&f).is_ok(), "{good}");
        }
        let f = Filters::parse(r#"{"status":["running","sleeping"]}"#).unwrap();
        let e = validate_status_filter(&f).unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(e.to_string(), "invalid filter 'status=sleeping'");
    }

    #[test]
    fn before_and_since_compare_creation_times() {
        let t = |s: &str| parse_time(s).unwrap();
        let (a, b, c) = (
            "2024-01-01T00:00:01Z",
            "2024-01-01T00:00:02.5Z",
            "2024-01-01T00:00:03Z",
        );
        assert!(created_between(a, &[t(b)], &[]));
        assert!(!created_between(b, &[t(b)], &[]));
        assert!(!created_between(c, &[t(b)], &[]));
        assert!(created_between(c, &[], &[t(b)]));
        assert!(!created_between(a, &[], &[t(b)]));
        assert!(created_between(b, &[t(c)], &[t(a)]));
        assert!(created_between("garbage", &[], &[]));
        assert!(!created_between("garbage", &[t(c)], &[]));
    }

    #[test]
    fn bad_log_times_are_400_not_a_panic_or_no_filter() {
        for bad in [
            "1.é",
            "1.ééééé",
            "é.1",
            "1.",
            ".5",
            "1.1234567890",
            "-5",
            "+5",
            "1.-5",
            "99999999999999999",
            "9223372036854775807",
        ] {
            let e = parse_log_time("until", Some(bad)).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
            assert!(
                e.to_string().contains("invalid value for until"),
                "{bad}: {e}"
            );
        }
    }
}
