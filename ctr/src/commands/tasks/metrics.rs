//! `tasks metrics`: one sample of a task's cgroup statistics, as a table or as the JSON
//! of containerd's `io.containerd.cgroups.v1.Metrics`.

use myproto::containerd::services::tasks::v1::MetricsRequest;
use myproto::io::containerd::cgroups::v1 as cg;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::json::{self, Json, Obj};
use crate::table::Table;
use crate::task;

pub async fn run(client: &Client, id: &str, format: &str) -> Result<i32> {
    if format != "table" && format != "json" {
        return Err(Error::Usage("format must be table or json"));
    }
    client.container(id).await?;
    let metrics = client
        .tasks()
        .metrics(client.request(MetricsRequest {
            filters: vec![format!("id=={id}")],
        }))
        .await?
        .into_inner()
        .metrics;
    let Some(metric) = metrics.into_iter().next() else {
        // No sample: say why if the task is gone.
        task::get_process(client, id, "").await?;
        return Err(Error::Metrics("no metrics received".into()));
    };
    let data = metric
        .data
        .as_ref()
        .ok_or_else(|| Error::Metrics("the metric carries no data".into()))?;
    if !myproto::type_url::is::<cg::Metrics>(data) {
        return Err(Error::Metrics(format!(
            "cannot convert metric data of type {:?} (only io.containerd.cgroups.v1.Metrics)",
            data.type_url
        )));
    }
    let stats: cg::Metrics = myproto::type_url::unpack(data).map_err(|e| Error::Decode {
        what: "metrics".into(),
        reason: e.to_string(),
    })?;
    if format == "json" {
        println!("{}", metrics_json(&stats).indented("  "));
        return Ok(0);
    }
    let mut table = Table::new(1, 4);
    table.line("ID\tTIMESTAMP\t");
    table.line(&format!(
        "{}\t{}\t",
        metric.id,
        json::go_time_string(metric.timestamp.as_ref())
    ));
    table.line("");
    table.line("METRIC\tVALUE\t");
    if let Some(memory) = &stats.memory {
        let usage = memory.usage.unwrap_or_default();
        table.line(&format!("memory.usage_in_bytes\t{}\t", usage.usage));
        table.line(&format!("memory.limit_in_bytes\t{}\t", usage.limit));
        table.line(&format!("memory.stat.cache\t{}\t", memory.total_cache));
    }
    if let Some(cpu) = &stats.cpu {
        let usage = cpu.usage.clone().unwrap_or_default();
        let per_cpu: Vec<String> = usage.per_cpu.iter().map(u64::to_string).collect();
        table.line(&format!("cpuacct.usage\t{}\t", usage.total));
        table.line(&format!("cpuacct.usage_percpu\t[{}]\t", per_cpu.join(" ")));
    }
    if let Some(pids) = &stats.pids {
        table.line(&format!("pids.current\t{}\t", pids.current));
        table.line(&format!("pids.limit\t{}\t", pids.limit));
    }
    print!("{}", table.render());
    Ok(0)
}

/// `.uint("name", value.name)` for each listed field.
macro_rules! uints {
    ($obj:expr, $value:expr, $($field:ident),+ $(,)?) => {
        $obj$(.uint(stringify!($field), $value.$field))+
    };
}

fn list<T>(key: &str, items: &[T], each: impl Fn(&T) -> Json, obj: Obj) -> Obj {
    if items.is_empty() {
        obj
    } else {
        obj.field(key, Json::Array(items.iter().map(each).collect()))
    }
}

fn memory_entry(e: &cg::MemoryEntry) -> Json {
    uints!(Obj::new(), e, limit, usage, max, failcnt).build()
}

fn blkio_entry(e: &cg::BlkIoEntry) -> Json {
    let obj = Obj::new().str("op", &e.op).str("device", &e.device);
    uints!(obj, e, major, minor, value).build()
}

fn rdma_entry(e: &cg::RdmaEntry) -> Json {
    let obj = Obj::new().str("device", &e.device);
    uints!(obj, e, hca_handles, hca_objects).build()
}

/// The statistics as Go's encoding/json writes containerd's cgroups v1 `Metrics`.
fn metrics_json(m: &cg::Metrics) -> Json {
    let obj = list(
        "hugetlb",
        &m.hugetlb,
        |h| {
            uints!(Obj::new(), h, usage, max, failcnt)
                .str("pagesize", &h.pagesize)
                .build()
        },
        Obj::new(),
    );
    let obj = obj.opt(
        "pids",
        m.pids
            .as_ref()
            .map(|p| uints!(Obj::new(), p, current, limit).build()),
    );
    let obj = obj.opt(
        "cpu",
        m.cpu.as_ref().map(|c| {
            Obj::new()
                .opt(
                    "usage",
                    c.usage.as_ref().map(|u| {
                        let per_cpu = u.per_cpu.iter().map(|v| Json::uint(*v)).collect();
                        let obj = uints!(Obj::new(), u, total, kernel, user);
                        if u.per_cpu.is_empty() {
                            obj.build()
                        } else {
                            obj.field("per_cpu", Json::Array(per_cpu)).build()
                        }
                    }),
                )
                .opt(
                    "throttling",
                    c.throttling.as_ref().map(|t| {
                        uints!(Obj::new(), t, periods, throttled_periods, throttled_time).build()
                    }),
                )
                .build()
        }),
    );
    let obj = obj.opt(
        "memory",
        m.memory.as_ref().map(|s| {
            uints!(
                Obj::new(),
                s,
                cache,
                rss,
                rss_huge,
                mapped_file,
                dirty,
                writeback,
                pg_pg_in,
                pg_pg_out,
                pg_fault,
                pg_maj_fault,
                inactive_anon,
                active_anon,
                inactive_file,
                active_file,
                unevictable,
                hierarchical_memory_limit,
                hierarchical_swap_limit,
                total_cache,
                total_rss,
                total_rss_huge,
                total_mapped_file,
                total_dirty,
                total_writeback,
                total_pg_pg_in,
                total_pg_pg_out,
                total_pg_fault,
                total_pg_maj_fault,
                total_inactive_anon,
                total_active_anon,
                total_inactive_file,
                total_active_file,
                total_unevictable,
            )
            .opt("usage", s.usage.as_ref().map(memory_entry))
            .opt("swap", s.swap.as_ref().map(memory_entry))
            .opt("kernel", s.kernel.as_ref().map(memory_entry))
            .opt("kernel_tcp", s.kernel_tcp.as_ref().map(memory_entry))
            .build()
        }),
    );
    let obj = obj.opt(
        "blkio",
        m.blkio.as_ref().map(|b| {
            let obj = Obj::new();
            let obj = list(
                "io_service_bytes_recursive",
                &b.io_service_bytes_recursive,
                blkio_entry,
                obj,
            );
            let obj = list(
                "io_serviced_recursive",
                &b.io_serviced_recursive,
                blkio_entry,
                obj,
            );
            let obj = list(
                "io_queued_recursive",
                &b.io_queued_recursive,
                blkio_entry,
                obj,
            );
            let obj = list(
                "io_service_time_recursive",
                &b.io_service_time_recursive,
                blkio_entry,
                obj,
            );
            let obj = list(
                "io_wait_time_recursive",
                &b.io_wait_time_recursive,
                blkio_entry,
                obj,
            );
            let obj = list(
                "io_merged_recursive",
                &b.io_merged_recursive,
                blkio_entry,
                obj,
            );
            let obj = list("io_time_recursive", &b.io_time_recursive, blkio_entry, obj);
            list("sectors_recursive", &b.sectors_recursive, blkio_entry, obj).build()
        }),
    );
    let obj = obj.opt(
        "rdma",
        m.rdma.as_ref().map(|r| {
            let obj = list("current", &r.current, rdma_entry, Obj::new());
            list("limit", &r.limit, rdma_entry, obj).build()
        }),
    );
    let obj = list(
        "network",
        &m.network,
        |n| {
            let obj = Obj::new().str("name", &n.name);
            uints!(
                obj, n, rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes, tx_packets,
                tx_errors, tx_dropped,
            )
            .build()
        },
        obj,
    );
    let obj = obj.opt(
        "cgroup_stats",
        m.cgroup_stats.as_ref().map(|c| {
            uints!(
                Obj::new(),
                c,
                nr_sleeping,
                nr_running,
                nr_stopped,
                nr_uninterruptible,
                nr_io_wait,
            )
            .build()
        }),
    );
    obj.opt(
        "memory_oom_control",
        m.memory_oom_control
            .as_ref()
            .map(|o| uints!(Obj::new(), o, oom_kill_disable, under_oom, oom_kill).build()),
    )
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_present_empty_messages_and_drops_zero_fields() {
        let m = cg::Metrics {
            pids: Some(cg::PidsStat {
                current: 1,
                limit: 0,
            }),
            cpu: Some(cg::CpuStat {
                usage: Some(cg::CpuUsage {
                    total: 20,
                    kernel: 10,
                    user: 0,
                    per_cpu: vec![4, 16],
                }),
                throttling: Some(cg::Throttle::default()),
            }),
            blkio: Some(cg::BlkIoStat::default()),
            memory_oom_control: Some(cg::MemoryOomControl::default()),
            ..cg::Metrics::default()
        };
        assert_eq!(
            metrics_json(&m).compact(),
            r#"{"pids":{"current":1},"cpu":{"usage":{"total":20,"kernel":10,"per_cpu":[4,16]},"throttling":{}},"blkio":{},"memory_oom_control":{}}"#
        );
    }
}
