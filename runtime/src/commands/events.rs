//! `myrunc events`: statistics once (`--stats`) or every interval, plus OOM events,
//! as JSON lines in runc's shape: `{"type":"stats","id":"...","data":{...}}`.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print statistics once and exit
    #[arg(long)]
    pub stats: bool,
    /// Interval between statistics (e.g. 5s, 500ms)
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    typ: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Error::Usage(format!("invalid interval {s:?} (use e.g. 5s or 500ms)"));
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .ok_or_else(bad)?;
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The cgroup's OOM-kill counter (memory.oom_control on v1, memory.events on v2).
fn oom_kills(c: &Container) -> u64 {
    let read = |p: &Path, f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
    let paths = &c.state.cgroups;
    let text = if paths.v2 {
        paths
            .unified
            .as_deref()
            .map(|d| read(d, "memory.events"))
            .unwrap_or_default()
    } else {
        paths
            .v1
            .iter()
            .find(|(n, _)| n.split(',').any(|c| c == "memory"))
            .map(|(_, d)| read(d, "memory.oom_control"))
            .unwrap_or_default()
    };
    crate::cgroups::parse_flat_keyed(&text)
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let interval = parse_duration(&a.interval)?;
    let c = Container::load(root, &a.id)?;
    let status = c.status();
    if status == Status::Stopped {
        return Err(c.wrong_state(status, "events", "running"));
    }
    let emit = |typ: &str, data: Option<crate::cgroups::Stats>| {
        println!(
            "{}",
            serde_json::to_string(&Event {
                typ,
                id: &a.id,
                data
            })
            .expect("events serialize")
        );
    };
    if a.stats {
        emit("stats", Some(c.cgroup().stats()?));
        return Ok(0);
    }
    let mut ooms = oom_kills(&c);
    while c.status() != Status::Stopped {
        let now = oom_kills(&c);
        if now > ooms {
            emit("oom", None);
            ooms = now;
        }
        emit("stats", Some(c.cgroup().stats()?));
        std::thread::sleep(interval);
    }
    Ok(0)
}
