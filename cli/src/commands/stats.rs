//! `stats [-a] [--no-stream] [--no-trunc] [--format] [CONTAINER...]`: docker's
//! container/stats.go and stats_helpers.go. CPU % is the container's CPU time delta over
//! the host's, times the CPUs; memory leaves out the inactive file cache. With
//! `--no-stream` the daemon primes each sample (one request per container, in parallel);
//! otherwise one stream per container feeds a table redrawn every second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clap::Args;
use engine_api::containers::Summary;
use engine_api::stats::StatsJson;

use super::Ctx;
use crate::client::{Body, Client, path_segment, query};
use crate::error::{Error, Result};
use crate::template::{self, ListFormat, Value};
use crate::units::{bytes_size, human_size};

const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// One line of the table, worked out as docker's `StatsEntry`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// What the user named (or the ID when listing).
    pub container: String,
    pub id: String,
    pub name: String,
    pub cpu_percent: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percent: f64,
    pub net_rx: f64,
    pub net_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids: u64,
}

impl Entry {
    pub fn from_stats(container: &str, s: &StatsJson) -> Entry {
        let mem = memory_without_cache(s);
        let limit = s.memory_stats.limit as f64;
        let (mut block_read, mut block_write) = (0.0, 0.0);
        for e in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
            match e.op.to_ascii_lowercase().as_str() {
                "read" => block_read += e.value as f64,
                "write" => block_write += e.value as f64,
                _ => {}
            }
        }
        let (mut rx, mut tx) = (0.0, 0.0);
        for n in s.networks.iter().flat_map(|m| m.values()) {
            rx += n.rx_bytes as f64;
            tx += n.tx_bytes as f64;
        }
        Entry {
            container: container.to_owned(),
            id: s.id.clone(),
            name: s.name.trim_start_matches('/').to_owned(),
            cpu_percent: cpu_percent(s),
            memory: mem,
            memory_limit: limit,
            memory_percent: if limit != 0.0 {
                mem / limit * 100.0
            } else {
                0.0
            },
            net_rx: rx,
            net_tx: tx,
            block_read,
            block_write,
            pids: s.pids_stats.current,
        }
    }
}

/// docker's `calculateCPUPercentUnix`.
pub fn cpu_percent(s: &StatsJson) -> f64 {
    let cpu_delta =
        s.cpu_stats.cpu_usage.total_usage as f64 - s.precpu_stats.cpu_usage.total_usage as f64;
    let system_delta = s.cpu_stats.system_cpu_usage as f64 - s.precpu_stats.system_cpu_usage as f64;
    let mut cpus = s.cpu_stats.online_cpus as f64;
    if cpus == 0.0 {
        cpus = s.cpu_stats.cpu_usage.percpu_usage.len() as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    }
}

/// docker's `calculateMemUsageUnixNoCache`: usage less the inactive file cache (v1's
/// `total_inactive_file`, v2's `inactive_file`).
fn memory_without_cache(s: &StatsJson) -> f64 {
    let m = &s.memory_stats;
    if let Some(&v) = m.stats.get("total_inactive_file")
        && v < m.usage
    {
        return (m.usage - v) as f64;
    }
    if let Some(&v) = m.stats.get("inactive_file")
        && v < m.usage
    {
        return (m.usage - v) as f64;
    }
    m.usage as f64
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> Result<i32> {
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some(f) => f,
    };
    let format = ListFormat::parse(format)?;
    let client = ctx.client()?;
    let containers: Vec<String> = if args.containers.is_empty() {
        let params: Vec<(&str, &str)> = if args.all { vec![("all", "1")] } else { vec![] };
        let list: Vec<Summary> = client.get_json(&format!("/containers/json{}", query(&params)))?;
        list.into_iter().map(|c| c.id).collect()
    } else {
        args.containers.clone()
    };
    if args.no_stream {
        let results = one_sample_each(&client, &containers);
        let mut entries = Vec::new();
        let mut failed = false;
        for (name, r) in containers.iter().zip(results) {
            match r {
                Ok(s) => entries.push(Entry::from_stats(name, &s)),
                Err(e) => {
                    eprintln!("{e}");
                    failed = true;
                }
            }
        }
        if failed {
            return Ok(1);
        }
        crate::out!("{}", render(&format, &entries, args.no_trunc)?);
        return Ok(0);
    }
    stream(&client, &containers, &format, args.no_trunc)
}

/// `stream=false` for every container at once (each takes the daemon a second).
fn one_sample_each(client: &Client, containers: &[String]) -> Vec<Result<StatsJson>> {
    let handles: Vec<_> = containers
        .iter()
        .map(|name| {
            let client = client.clone();
            let path = format!("/containers/{}/stats?stream=false", path_segment(name));
            std::thread::spawn(move || client.get_json::<StatsJson>(&path))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Error::NotImplemented("stats thread panicked".into())))
        })
        .collect()
}

/// Redraws the table every second from the latest sample of each container's stream;
/// runs until interrupted, or until every stream failed.
fn stream(
    client: &Client,
    containers: &[String],
    format: &ListFormat,
    no_trunc: bool,
) -> Result<i32> {
    type Latest = Arc<Mutex<HashMap<usize, std::result::Result<Entry, String>>>>;
    let latest: Latest = Arc::default();
    for (i, name) in containers.iter().enumerate() {
        let client = client.clone();
        let latest = latest.clone();
        let name = name.clone();
        std::thread::spawn(move || {
            let path = format!("/containers/{}/stats?stream=true", path_segment(&name));
            let response = match client.request("GET", &path, Body::Empty) {
                Ok(r) => r,
                Err(e) => {
                    latest
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(i, Err(e.to_string()));
                    return;
                }
            };
            let samples = serde_json::Deserializer::from_reader(response).into_iter::<StatsJson>();
            for s in samples {
                let Ok(s) = s else { return };
                let entry = Entry::from_stats(&name, &s);
                latest
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(i, Ok(entry));
            }
        });
    }
    let clear = crate::tty::is_terminal(1);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let snapshot = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !containers.is_empty()
            && snapshot.len() == containers.len()
            && snapshot.values().all(|r| r.is_err())
        {
            for e in snapshot.values().filter_map(|r| r.as_ref().err()) {
                eprintln!("{e}");
            }
            return Ok(1);
        }
        let mut entries = Vec::new();
        for i in 0..containers.len() {
            if let Some(Ok(e)) = snapshot.get(&i) {
                entries.push(e.clone());
            }
        }
        let text = render(format, &entries, no_trunc)?;
        if clear {
            crate::out!("\x1b[2J\x1b[H{text}");
        } else {
            crate::out!("{text}");
        }
    }
}

fn render(format: &ListFormat, entries: &[Entry], no_trunc: bool) -> Result<String> {
    let rows: Vec<Value> = entries.iter().map(|e| row(e, no_trunc)).collect();
    format.render(&header(), &rows)
}

fn row(e: &Entry, no_trunc: bool) -> Value {
    let id = if no_trunc {
        e.id.clone()
    } else {
        e.id.chars().take(12).collect()
    };
    let s = |v: String| Value::string(v);
    template::row(
        "formatter.statsContext",
        vec![
            ("Container", s(e.container.clone())),
            ("ID", s(id)),
            (
                "Name",
                s(if e.name.is_empty() {
                    "--".into()
                } else {
                    e.name.clone()
                }),
            ),
            ("CPUPerc", s(format!("{:.2}%", e.cpu_percent))),
            (
                "MemUsage",
                s(format!(
                    "{} / {}",
                    bytes_size(e.memory),
                    bytes_size(e.memory_limit)
                )),
            ),
            ("MemPerc", s(format!("{:.2}%", e.memory_percent))),
            (
                "NetIO",
                s(format!(
                    "{} / {}",
                    human_size(e.net_rx),
                    human_size(e.net_tx)
                )),
            ),
            (
                "BlockIO",
                s(format!(
                    "{} / {}",
                    human_size(e.block_read),
                    human_size(e.block_write)
                )),
            ),
            ("PIDs", s(e.pids.to_string())),
        ],
        Vec::new(),
    )
}

fn header() -> Value {
    template::header(&[
        ("Container", "CONTAINER"),
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::stats::{BlkioEntry, NetworkStats};

    fn sample() -> StatsJson {
        let mut s = StatsJson {
            id: "0123456789abcdef".into(),
            name: "/web".into(),
            ..Default::default()
        };
        s.cpu_stats.cpu_usage.total_usage = 300;
        s.cpu_stats.system_cpu_usage = 2000;
        s.cpu_stats.online_cpus = 2;
        s.precpu_stats.cpu_usage.total_usage = 100;
        s.precpu_stats.system_cpu_usage = 1000;
        s.memory_stats.usage = 3 * 1024 * 1024;
        s.memory_stats.limit = 8 * 1024 * 1024;
        s.memory_stats
            .stats
            .insert("total_inactive_file".into(), 1024 * 1024);
        s.pids_stats.current = 4;
        s.networks = Some(
            [(
                "eth0".to_owned(),
                NetworkStats {
                    rx_bytes: 1500,
                    tx_bytes: 700,
                    ..Default::default()
                },
            )]
            .into(),
        );
        s.blkio_stats.io_service_bytes_recursive = Some(vec![
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096,
            },
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 8192,
            },
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Total".into(),
                value: 12288,
            },
        ]);
        s
    }

    #[test]
    fn entries_compute_like_docker() {
        let e = Entry::from_stats("web", &sample());
        // (200 / 1000) * 2 CPUs * 100.
        assert!((e.cpu_percent - 40.0).abs() < 1e-9, "{}", e.cpu_percent);
        assert_eq!(e.memory, 2.0 * 1024.0 * 1024.0);
        assert!((e.memory_percent - 25.0).abs() < 1e-9);
        assert_eq!((e.block_read, e.block_write), (4096.0, 8192.0));
        assert_eq!((e.net_rx, e.net_tx), (1500.0, 700.0));
        assert_eq!(e.name, "web");
    }

    #[test]
    fn table_like_dockers() {
        let f = ListFormat::parse(DEFAULT_FORMAT).unwrap();
        let out = render(&f, &[Entry::from_stats("web", &sample())], false).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
            "{out}"
        );
        assert!(lines[0].ends_with("PIDS"), "{out}");
        assert!(
            lines[1].starts_with("0123456789ab   web       40.00%    2MiB / 8MiB"),
            "{out}"
        );
        assert!(
            lines[1].contains("25.00%") && lines[1].contains("1.5kB / 700B"),
            "{out}"
        );
        assert!(
            lines[1].contains("4.1kB / 8.19kB") && lines[1].ends_with('4'),
            "{out}"
        );
        let stopped = StatsJson {
            id: "abc".into(),
            name: "/x".into(),
            ..Default::default()
        };
        let out = render(&f, &[Entry::from_stats("x", &stopped)], false).unwrap();
        assert!(out.contains("0.00%     0B / 0B"), "{out}");
        let f = ListFormat::parse("{{.Name}}: {{.PIDs}}").unwrap();
        assert_eq!(
            render(&f, &[Entry::from_stats("web", &sample())], false).unwrap(),
            "web: 4\n"
        );
    }
}
