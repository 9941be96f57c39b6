//! `/_ping`, `/version`, `/info`, `/system/df`.

use std::collections::BTreeMap;

use engine_api::containers::Summary;
use engine_api::system::{
    Commit, Component, DiskUsage, DiskUsageContainer, Info, Platform, PluginsInfo, RuntimeInfo,
    SwarmInfo, Version,
};
use engine_api::{API_VERSION, MIN_API_VERSION};
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA};

use super::{Response, full, json_response};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::store::Status;

/// The version we report for ourselves.
const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where dockerd names its Go toolchain: the rustc that built us (build.rs).
const RUSTC_VERSION: &str = env!("MYENGINE_RUSTC_VERSION");
/// The workspace's short commit at build time, `n/a` outside a git checkout (build.rs).
const GIT_COMMIT: &str = env!("MYENGINE_GIT_COMMIT");
/// Unix seconds of the build (build.rs).
const BUILD_UNIX: &str = env!("MYENGINE_BUILD_UNIX");

/// The build time in RFC 3339 with nanoseconds, as dockerd sends it (the CLI reformats it).
fn build_time() -> String {
    BUILD_UNIX
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, false))
        .unwrap_or_default()
}

pub fn ping(head: bool) -> Response {
    let mut r = hyper::Response::new(full(if head { "" } else { "OK" }));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn version(daemon: &Daemon) -> Result<Response> {
    let (containerd, containerd_commit) = daemon.containerd.version().await.unwrap_or_default();
    let v = Version {
        platform: Platform {
            name: "myengine".into(),
        },
        components: vec![
            Component {
                name: "Engine".into(),
                version: ENGINE_VERSION.into(),
                details: BTreeMap::from([
                    ("ApiVersion".into(), API_VERSION.into()),
                    ("MinAPIVersion".into(), MIN_API_VERSION.into()),
                    ("Os".into(), "linux".into()),
                    ("Arch".into(), arch().into()),
                    ("KernelVersion".into(), kernel_version()),
                    ("GoVersion".into(), RUSTC_VERSION.into()),
                    ("GitCommit".into(), GIT_COMMIT.into()),
                    ("BuildTime".into(), build_time()),
                    ("Experimental".into(), "false".into()),
                ]),
            },
            Component {
                name: "containerd".into(),
                version: containerd,
                details: BTreeMap::from([("GitCommit".into(), containerd_commit)]),
            },
        ],
        version: ENGINE_VERSION.into(),
        api_version: API_VERSION.into(),
        min_api_version: MIN_API_VERSION.into(),
        git_commit: GIT_COMMIT.into(),
        go_version: RUSTC_VERSION.into(),
        os: "linux".into(),
        arch: arch().into(),
        kernel_version: kernel_version(),
        experimental: false,
        build_time: build_time(),
    };
    Ok(json_response(StatusCode::OK, &v))
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

pub async fn info(daemon: &Daemon) -> Result<Response> {
    let containers = daemon.all_containers();
    let count = |s: Status| containers.iter().filter(|c| c.status() == s).count() as i64;
    let images = daemon
        .images
        .list_images(&[])
        .await
        .map(|l| l.len() as i64)
        .unwrap_or(0);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let info = Info {
        id: "myengine".into(),
        containers: containers.len() as i64,
        containers_running: count(Status::Running),
        containers_paused: 0,
        containers_stopped: count(Status::Exited),
        images,
        driver: daemon.images.snapshotter().to_owned(),
        driver_status: vec![],
        plugins: PluginsInfo {
            volume: vec![],
            network: vec!["host".into(), "null".into()],
            authorization: None,
            log: vec!["json-file".into()],
        },
        memory_limit: true,
        swap_limit: false,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        oom_kill_disable: false,
        ipv4_forwarding: false,
        debug: false,
        nfd: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as i64).unwrap_or(0),
        n_goroutines: 0,
        system_time: crate::daemon::now_rfc3339(),
        logging_driver: "json-file".into(),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: cgroup_version().into(),
        n_events_listener: 0,
        kernel_version: kernel_version(),
        operating_system: os_name(),
        os_version: String::new(),
        os_type: "linux".into(),
        architecture: std::env::consts::ARCH.into(),
        ncpu: std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1),
        mem_total: mem_total(),
        index_server_address: "https://index.docker.io/v1/".into(),
        docker_root_dir: daemon.config.data_root.display().to_string(),
        name: hostname,
        labels: vec![],
        experimental_build: false,
        server_version: ENGINE_VERSION.into(),
        runtimes: BTreeMap::from([(
            crate::daemon::containers::RUNTIME.to_owned(),
            RuntimeInfo {
                path: crate::daemon::containers::RUNTIME.into(),
            },
        )]),
        default_runtime: crate::daemon::containers::RUNTIME.into(),
        swarm: SwarmInfo {
            local_node_state: "inactive".into(),
            ..Default::default()
        },
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: daemon.config.init_path.display().to_string(),
        containerd_commit: Commit::default(),
        runc_commit: Commit::default(),
        init_commit: Commit::default(),
        security_options: vec!["name=seccomp,profile=builtin".into()],
        warnings: vec![
            "WARNING: bridge networking is not available yet: containers get a private network namespace with only lo".into(),
        ],
    };
    Ok(json_response(StatusCode::OK, &info))
}

/// `GET /system/df[?type=container|image|volume|build-cache]`: what images, containers
/// and volumes take on disk (swagger: SystemDataUsageResponse). Without `type` every
/// part is filled; with it only the parts named.
pub async fn disk_usage(daemon: &Daemon, raw_query: &str) -> Result<Response> {
    let types: Vec<String> = raw_query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| *k == "type")
        .map(|(_, v)| v.to_owned())
        .collect();
    for t in &types {
        if !matches!(t.as_str(), "container" | "image" | "volume" | "build-cache") {
            return Err(Error::BadParameter(format!("unknown object type: {t}")));
        }
    }
    let wants = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let mut usage = DiskUsage::default();
    let mut image_sizes = BTreeMap::new();
    if wants("image") || wants("container") {
        let (layers_size, images) = daemon.image_disk_usage().await?;
        image_sizes = images.iter().map(|i| (i.id.clone(), i.size)).collect();
        if wants("image") {
            usage.layers_size = layers_size;
            usage.images = images;
        }
    }
    if wants("container") {
        // The list's own entries (names, status text, mounts), with sizes added.
        let listed = super::containers::list(daemon, &super::Query::parse("all=1"))?;
        let body = listed
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let summaries: Vec<Summary> = serde_json::from_slice(&body)
            .map_err(|e| Error::Store(format!("listing containers: {e}")))?;
        for summary in summaries {
            let size_rw = daemon.container_size_rw(&summary.id).await;
            let image = image_sizes.get(&summary.image_id).copied().unwrap_or(0);
            usage.containers.push(DiskUsageContainer {
                summary,
                size_rw,
                size_root_fs: size_rw + image,
            });
        }
    }
    if wants("volume") {
        usage.volumes = daemon.volume_disk_usage().await?;
    }
    Ok(json_response(StatusCode::OK, &usage))
}
