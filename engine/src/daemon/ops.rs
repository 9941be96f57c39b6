//! Container operations beyond the life cycle: pause and unpause (containerd's
//! Pause/Resume, the cgroup freezer underneath), rename, top (host `ps` filtered by the
//! container's cgroup), stats samples, and prune of stopped containers.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use engine_api::filters::Filters;
use engine_api::stats::{ContainerPruneResponse, StatsJson, TopResponse};
use myproto::containerd::services::tasks::v1::{PauseTaskRequest, ResumeTaskRequest};

use super::stats::{self, CgroupFs, ZERO_TIME};
use super::{Container, Daemon, names, now_rfc3339};
use crate::error::{Error, Result};
use crate::store::Status;

/// Filters `POST /containers/prune` accepts (Docker's list).
const PRUNE_FILTERS: &[&str] = &["until", "label", "label!"];

impl Daemon {
    /// `POST /containers/{id}/pause`: freezes every process of the container.
    pub async fn pause_container(&self, c: &Container) -> Result<()> {
        let _op = c.op.lock().await;
        let r = c.record();
        if r.state.status != Status::Running {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if r.state.paused {
            return Err(Error::Conflict(format!(
                "Container {} is already paused",
                c.id
            )));
        }
        self.containerd
            .tasks()
            .pause(self.containerd.request(PauseTaskRequest {
                container_id: c.id.clone(),
            }))
            .await
            .map_err(|s| Error::rpc(format!("Cannot pause container {}", c.id), s))?;
        self.set_paused(c, true);
        self.container_event(c, "pause", &[]);
        tracing::info!(container_id = %c.id, "container paused");
        Ok(())
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn unpause_container(&self, c: &Container) -> Result<()> {
        let _op = c.op.lock().await;
        let r = c.record();
        if !r.state.paused || r.state.status != Status::Running {
            return Err(Error::Conflict(format!("Container {} is not paused", c.id)));
        }
        self.resume_task(c).await?;
        self.container_event(c, "unpause", &[]);
        tracing::info!(container_id = %c.id, "container unpaused");
        Ok(())
    }

    async fn resume_task(&self, c: &Container) -> Result<()> {
        self.containerd
            .tasks()
            .resume(self.containerd.request(ResumeTaskRequest {
                container_id: c.id.clone(),
            }))
            .await
            .map_err(|s| Error::rpc(format!("Cannot unpause container {}", c.id), s))?;
        self.set_paused(c, false);
        Ok(())
    }

    /// Brings the stored pause flag in line with containerd's task status (`PAUSED` or
    /// not), for the reconcile at start: the engine may have died between a Pause call
    /// and its record, or the task was paused or resumed by another client meanwhile.
    pub fn reconcile_paused(&self, c: &Container, task_paused: bool) {
        if c.record().state.paused != task_paused {
            tracing::info!(container_id = %c.id, task_paused, "pause state from containerd");
            self.set_paused(c, task_paused);
        }
    }

    fn set_paused(&self, c: &Container, paused: bool) {
        let record = c.update(|r| r.state.paused = paused);
        if let Err(e) = self.store.put(&record) {
            tracing::warn!(container_id = %c.id, "recording the pause state: {e}");
        }
    }

    /// After a signal that ends the container (SIGKILL, or its stop signal) was sent to a
    /// paused one: thaw it, so the signal is delivered, as Docker's kill and stop do.
    /// Other signals stay pending until an unpause, as with Docker.
    pub(crate) async fn thaw_after_signal(&self, c: &Container, signal: u32) {
        let r = c.record();
        if !r.state.paused {
            return;
        }
        let stop_signal = if r.config.stop_signal.is_empty() {
            libc::SIGTERM as u32
        } else {
            super::signals::parse(&r.config.stop_signal).unwrap_or(libc::SIGTERM as u32)
        };
        if signal != libc::SIGKILL as u32 && signal != stop_signal {
            return;
        }
        match self.resume_task(c).await {
            Ok(()) => self.container_event(c, "unpause", &[]),
            Err(e) => tracing::warn!(container_id = %c.id, "thawing after a signal: {e}"),
        }
    }

    /// `POST /containers/{id}/rename?name=`: the name index and the record change in one
    /// transaction, under the create lock so a concurrent create cannot take the name.
    pub async fn rename_container(&self, c: &Container, new_name: &str) -> Result<()> {
        if new_name.is_empty() {
            return Err(Error::BadParameter(
                "Neither old nor new names may be empty".into(),
            ));
        }
        let new_name = names::validate(new_name)?;
        let _guard = self.create_lock.lock().await;
        let old_name = c.name();
        if old_name == new_name {
            return Err(Error::BadParameter(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        if let Some(owner) = self.store.id_of_name(&new_name)?
            && owner != c.id
        {
            return Err(Error::Conflict(format!(
                "Error when allocating new name: {}",
                crate::store::name_conflict(&new_name, &owner)
            )));
        }
        let record = c.update(|r| r.name = new_name.clone());
        if let Err(e) = self.store.rename(&record, &old_name) {
            c.update(|r| r.name = old_name.clone());
            return Err(e);
        }
        // Peers on user networks resolve it by its new name from now on.
        if record.state.status == Status::Running {
            self.refresh_hosts(&record, &super::networks::network_ids(&record.network));
        }
        self.container_event(c, "rename", &[("oldName", format!("/{old_name}"))]);
        tracing::info!(container_id = %c.id, old_name, new_name, "container renamed");
        Ok(())
    }

    /// `GET /containers/{id}/top?ps_args=`: the host's `ps` with the given arguments,
    /// keeping the rows of the container's processes (Docker's ContainerTop).
    pub async fn top_container(&self, c: &Container, ps_args: &str) -> Result<TopResponse> {
        let ps_args = if ps_args.is_empty() { "-ef" } else { ps_args };
        validate_ps_args(ps_args)?;
        let r = c.record();
        if r.state.status != Status::Running {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let pids = CgroupFs::default()
            .procs(&r.cgroups_path)
            .map_err(|e| Error::io(format!("listing the processes of {}", c.id), e))?;
        let args: Vec<&str> = ps_args.split(' ').collect();
        let pid_list = pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // `-q PIDS` narrows ps's work; some options (`f`) refuse it, so retry without.
        let mut output = run_ps(&args, Some(&pid_list)).await;
        if output.is_err() {
            output = run_ps(&args, None).await;
        }
        let output = output?;
        let top = parse_ps_output(&output, &pids)?;
        self.container_event(c, "top", &[]);
        Ok(top)
    }

    /// One `StatsJson` sample of `c`; `previous` fills `precpu_stats`/`preread`. A
    /// container that does not run answers Docker's empty sample (name and ID only).
    pub fn stats_sample(&self, c: &Container, previous: Option<&StatsJson>) -> StatsJson {
        let r = c.record();
        let mut out = StatsJson {
            read: ZERO_TIME.into(),
            preread: ZERO_TIME.into(),
            name: format!("/{}", r.name),
            id: r.id.clone(),
            ..Default::default()
        };
        if r.state.status != Status::Running {
            return out;
        }
        let proc_stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let sample = CgroupFs::default().sample(&r.cgroups_path, stats::machine_memory(&meminfo));
        let (system, cpus) = stats::system_cpu(&proc_stat);
        out.read = now_rfc3339();
        out.cpu_stats = sample.cpu;
        out.cpu_stats.system_cpu_usage = system;
        out.cpu_stats.online_cpus = cpus;
        out.memory_stats = sample.memory;
        out.pids_stats = sample.pids;
        out.blkio_stats = sample.blkio;
        if r.host_config.network_mode != "host" && r.state.pid != 0 {
            out.networks = stats::networks_of(r.state.pid).filter(|n| !n.is_empty());
        }
        if let Some(p) = previous
            && p.read != ZERO_TIME
        {
            out.preread = p.read.clone();
            out.precpu_stats = p.cpu_stats.clone();
        }
        out
    }

    /// `POST /containers/prune`: removes every container that does not run and passes
    /// the filters; the space reclaimed is their writable layers'.
    pub async fn prune_containers(&self, filters: &Filters) -> Result<ContainerPruneResponse> {
        filters
            .validate(PRUNE_FILTERS)
            .map_err(Error::BadParameter)?;
        let until: Vec<DateTime<Utc>> = filters
            .get("until")
            .map(|v| parse_until(v, Utc::now()))
            .collect::<Result<_>>()?;
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.all_containers() {
            let r = c.record();
            if r.state.status == Status::Running {
                continue;
            }
            let created = DateTime::parse_from_rfc3339(&r.created)
                .map(|t| t.with_timezone(&Utc))
                .ok();
            if !until.iter().all(|u| created.is_some_and(|t| t < *u)) {
                continue;
            }
            if !filters.matches_labels(&r.config.labels)
                || filters
                    .get("label!")
                    .any(|f| label_matches(f, &r.config.labels))
            {
                continue;
            }
            let size = self
                .images
                .snapshot_usage(&c.id)
                .await
                .map(|u| u.size.max(0) as u64)
                .unwrap_or(0);
            match self.remove_container_with(&c, false, false).await {
                Ok(()) => {
                    deleted.push(c.id.clone());
                    reclaimed += size;
                }
                Err(e) => tracing::warn!(container_id = %c.id, "prune: {e}"),
            }
        }
        let mut attributes = BTreeMap::new();
        attributes.insert("reclaimed".to_owned(), reclaimed.to_string());
        self.events.publish("container", "prune", "", attributes);
        Ok(ContainerPruneResponse {
            containers_deleted: (!deleted.is_empty()).then_some(deleted),
            space_reclaimed: reclaimed,
        })
    }
}

/// A `label`/`label!` filter value (`key` or `key=value`) against `labels`.
fn label_matches(filter: &str, labels: &BTreeMap<String, String>) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

/// Docker's `until`: a duration before now (`10m`, `1h30m`, `24h`), Unix seconds with an
/// optional fraction, or RFC 3339.
fn parse_until(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let bad = || {
        Error::BadParameter(format!(
            "failed to parse value as time or duration: {value:?}"
        ))
    };
    if let Some(d) = go_duration(value) {
        return Ok(now - d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse::<u32>().map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    DateTime::from_timestamp(secs, nanos).ok_or_else(bad)
}

/// A Go duration (`1h30m`, `90s`, `1.5h`, `300ms`); `None` when `text` is not one.
fn go_duration(text: &str) -> Option<chrono::Duration> {
    let mut rest = text;
    let mut nanos = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += value * unit;
        rest = &rest[u..];
    }
    Some(chrono::Duration::nanoseconds(nanos as i64))
}

/// Docker refuses `-o x=PID...` column renames other than `pid=`: the PID column must
/// stay findable.
fn validate_ps_args(args: &str) -> Result<()> {
    let words: Vec<&str> = args.split_ascii_whitespace().collect();
    for w in &words {
        if let Some((k, v)) = w.split_once('=')
            && v.starts_with("PID")
        {
            let k = k.rsplit(',').next().unwrap_or(k);
            if k != "pid" {
                return Err(Error::BadParameter(format!(
                    "specifying \"{k}={v}\" is not allowed"
                )));
            }
        }
    }
    Ok(())
}

async fn run_ps(args: &[&str], pids: Option<&str>) -> Result<String> {
    let mut cmd = tokio::process::Command::new("ps");
    cmd.args(args);
    if let Some(p) = pids {
        cmd.arg(format!("-q{p}"));
    }
    let out = cmd.output().await.map_err(|e| Error::io("running ps", e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim().to_owned();
        let why = if first.is_empty() {
            out.status.to_string()
        } else {
            first
        };
        // A 500 reading "ps: <ps's first line of complaint>", as Docker's.
        return Err(Error::io("ps", std::io::Error::other(why)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `ps` table narrowed to `pids`: the header's words are the titles, the last column
/// keeps its spaces (the command line). Rows of threads (`-` in the PID column, with `m`)
/// follow the process row they belong to.
fn parse_ps_output(output: &str, pids: &[u32]) -> Result<TopResponse> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let pid_index = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::BadParameter("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    let mut in_container = false;
    for line in lines {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() <= pid_index {
            continue;
        }
        let keep = if fields[pid_index] == "-" {
            in_container
        } else {
            let pid: u32 = fields[pid_index].parse().map_err(|_| {
                Error::BadParameter(format!("Unexpected pid '{}'", fields[pid_index]))
            })?;
            in_container = pids.contains(&pid);
            in_container
        };
        if keep {
            let last = titles.len() - 1;
            let mut row: Vec<String> = fields.iter().take(last).map(|s| s.to_string()).collect();
            row.push(fields.get(last..).map(|f| f.join(" ")).unwrap_or_default());
            processes.push(row);
        }
    }
    Ok(TopResponse { titles, processes })
}

/// Stream of `stats` samples: one a second for a running container until it stops or
/// the receiver is dropped.
pub async fn stream_stats(
    daemon: Arc<Daemon>,
    c: Arc<Container>,
    tx: tokio::sync::mpsc::Sender<bytes::Bytes>,
) {
    let mut previous: Option<StatsJson> = None;
    loop {
        let sample = daemon.stats_sample(&c, previous.as_ref());
        let mut body = serde_json::to_vec(&sample).unwrap_or_default();
        body.push(b'\n');
        if tx.send(body.into()).await.is_err() || !c.is_running() {
            return;
        }
        previous = Some(sample);
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_are_those_of_the_container() {
        let out = "UID PID PPID C STIME TTY TIME CMD\n\
                   root 1 0 0 10:00 ? 00:00:01 /sbin/init\n\
                   root 42 1 0 10:01 ? 00:00:00 sleep 1000 now\n\
                   root - - 0 10:01 - 00:00:00 -\n\
                   root 43 1 0 10:01 ? 00:00:00 other\n";
        let top = parse_ps_output(out, &[42]).unwrap();
        assert_eq!(
            top.titles,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        );
        assert_eq!(top.processes.len(), 2, "{:?}", top.processes);
        assert_eq!(top.processes[0][7], "sleep 1000 now");
        assert_eq!(top.processes[1][1], "-");
        let e = parse_ps_output("USER COMMAND\nroot x\n", &[1]).unwrap_err();
        assert!(e.to_string().contains("PID"), "{e}");
    }

    #[test]
    fn ps_args_may_rename_only_the_pid_column() {
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        let e = validate_ps_args("-o user=PID").unwrap_err();
        assert_eq!(e.to_string(), "specifying \"user=PID\" is not allowed");
    }

    #[test]
    fn until_reads_durations_times_and_unix_seconds() {
        let now = DateTime::parse_from_rfc3339("2024-01-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_until("24h", now).unwrap().to_rfc3339(),
            "2024-01-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_until("1h30m", now).unwrap(),
            now - chrono::Duration::minutes(90)
        );
        assert_eq!(
            parse_until("1704067200", now).unwrap().timestamp(),
            1_704_067_200
        );
        assert_eq!(
            parse_until("2024-01-01T00:00:00Z", now)
                .unwrap()
                .timestamp(),
            1_704_067_200
        );
        for bad in ["", "soon", "10x", "1.2.3"] {
            assert_eq!(parse_until(bad, now).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn label_filters_match_keys_and_values() {
        let labels: BTreeMap<String, String> = [("a".to_owned(), "1".to_owned())].into();
        assert!(label_matches("a", &labels));
        assert!(label_matches("a=1", &labels));
        assert!(!label_matches("a=2", &labels));
        assert!(!label_matches("b", &labels));
    }
}
