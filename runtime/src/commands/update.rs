//! `myrunc update`: resources from a JSON file (`-r FILE`, `-r -` for stdin) or flags.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::spec::{BlockIo, Cpu, Memory, Pids, Resources};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON LinuxResources file, or - for stdin
    #[arg(short, long)]
    pub resources: Option<String>,
    /// Memory limit (bytes, or with k/m/g suffix; -1 for none)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap limit
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Relative CPU weight
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// CFS period in microseconds
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CFS quota in microseconds (-1 for none)
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Realtime period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// Realtime runtime in microseconds
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (e.g. 0-1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes (-1 or 0 for none)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block I/O weight (10-1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    pub id: String,
}

/// Parses `1024`, `64k`, `10m`, `1g` (binary units, as runc), or `-1`.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let bad = || Error::Usage(format!("invalid size {s:?}"));
    if s == "-1" {
        return Ok(-1);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    if n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

fn from_flags(a: &Args) -> Result<Resources> {
    let mut r = Resources::default();
    if a.memory.is_some() || a.memory_swap.is_some() || a.memory_reservation.is_some() {
        r.memory = Some(Memory {
            limit: a.memory.as_deref().map(parse_bytes).transpose()?,
            swap: a.memory_swap.as_deref().map(parse_bytes).transpose()?,
            reservation: a
                .memory_reservation
                .as_deref()
                .map(parse_bytes)
                .transpose()?,
            ..Memory::default()
        });
    }
    if a.cpu_shares.is_some()
        || a.cpu_period.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_rt_period.is_some()
        || a.cpu_rt_runtime.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some()
    {
        r.cpu = Some(Cpu {
            shares: a.cpu_shares,
            period: a.cpu_period,
            quota: a.cpu_quota,
            realtime_period: a.cpu_rt_period,
            realtime_runtime: a.cpu_rt_runtime,
            cpus: a.cpuset_cpus.clone(),
            mems: a.cpuset_mems.clone(),
        });
    }
    if let Some(l) = a.pids_limit {
        r.pids = Some(Pids { limit: l });
    }
    if let Some(w) = a.blkio_weight {
        r.block_io = Some(BlockIo {
            weight: Some(w),
            ..BlockIo::default()
        });
    }
    Ok(r)
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let res = match &a.resources {
        Some(src) => {
            let mut data = Vec::new();
            if src == "-" {
                std::io::stdin()
                    .read_to_end(&mut data)
                    .map_err(|e| Error::io("reading", "stdin", e))?;
            } else {
                data = std::fs::read(src).map_err(|e| Error::io("reading", src, e))?;
            }
            let de = &mut serde_json::Deserializer::from_slice(&data);
            serde_path_to_error::deserialize(de).map_err(|source| Error::ParseConfig {
                path: src.into(),
                source,
            })?
        }
        None => from_flags(&a)?,
    };
    crate::container::update::update(root, &a.id, &res)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("64k").unwrap(), 65536);
        assert_eq!(parse_bytes("10M").unwrap(), 10 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("lots").is_err());
    }
}
