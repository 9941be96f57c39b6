//! `version`, `info`, and the `system` group: `system df` (in `system_df.rs`),
//! `system prune` and `system info`.

use clap::{Args, Subcommand};
use engine_api::system::{Info, Version};

use super::Ctx;
use crate::client::{Body, query};
use crate::error::Result;
use crate::units;

#[derive(Debug, Args)]
pub struct VersionArgs {}

#[derive(Debug, Args)]
pub struct InfoArgs {}

#[derive(Debug, Args)]
pub struct SystemArgs {
    #[command(subcommand)]
    pub command: SystemCommand,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(super::system_df::DfArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

pub fn system(ctx: &Ctx, args: SystemArgs) -> Result<i32> {
    match args.command {
        SystemCommand::Df(a) => super::system_df::df(ctx, a),
        SystemCommand::Info(a) => info(ctx, a),
        SystemCommand::Prune(a) => prune(ctx, a),
    }
}

/// docker's warning, item by item. We have no builder, so no build cache line.
fn prune_warning(all: bool, volumes: bool) -> String {
    let mut lines = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if volumes {
        lines.push("all anonymous volumes not used by at least one container");
    }
    lines.push(if all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    let mut out = String::from("WARNING! This will remove:\n");
    for l in lines {
        out.push_str(&format!("  - {l}\n"));
    }
    out.push_str("\nAre you sure you want to continue?");
    out
}

/// `system prune`, client side as docker's: containers, networks, volumes (with
/// `--volumes`), then images, each pruner's report printed as it comes; the first
/// failure stops it.
fn prune(ctx: &Ctx, args: SystemPruneArgs) -> Result<i32> {
    let filters = super::parse_filters(&args.filter)?;
    if filters.contains("until") && args.volumes {
        return Err(crate::error::Error::InvalidArgument(
            "ERROR: The \"until\" filter is not supported with \"--volumes\"".into(),
        ));
    }
    if !args.force
        && !super::confirm(
            &prune_warning(args.all, args.volumes),
            &mut std::io::stdin().lock(),
        )
    {
        return Ok(0);
    }
    let client = ctx.client()?;
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let post = |path: &str| -> Result<serde_json::Value> {
        client
            .request("POST", &format!("{path}{}", query(&params)), Body::Empty)?
            .json()
    };
    let mut space = 0u64;
    let containers = post("/containers/prune")?;
    space += containers["SpaceReclaimed"].as_u64().unwrap_or(0);
    print_section("Deleted Containers:", &containers["ContainersDeleted"]);
    let networks = post("/networks/prune")?;
    print_section("Deleted Networks:", &networks["NetworksDeleted"]);
    if args.volumes {
        let volumes = post("/volumes/prune")?;
        space += volumes["SpaceReclaimed"].as_u64().unwrap_or(0);
        print_section("Deleted Volumes:", &volumes["VolumesDeleted"]);
    }
    let (output, images) = super::image::prune_images(&client, args.all, filters)?;
    space += images;
    if !output.is_empty() {
        crate::outln!("{output}");
    }
    crate::outln!(
        "Total reclaimed space: {}",
        super::image::human_size_4(space as f64)
    );
    Ok(0)
}

/// A pruner's list as docker prints it: a title, one item a line, a blank line;
/// nothing when the list is empty.
fn print_section(title: &str, items: &serde_json::Value) {
    let items: Vec<&str> = items
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if items.is_empty() {
        return;
    }
    crate::outln!("{title}\n{}\n", items.join("\n"));
}

/// The line `mycli --version` prints.
pub fn version_line() -> String {
    format!("mycli version {}", env!("CARGO_PKG_VERSION"))
}

pub fn version(ctx: &Ctx, _args: VersionArgs) -> Result<i32> {
    let mut out = String::new();
    out.push_str("Client:\n");
    out.push_str(&format!(
        " Version:           {}\n",
        env!("CARGO_PKG_VERSION")
    ));
    // The client section prints even when the daemon cannot be reached, as docker's does.
    let client = ctx.client();
    let api = match &client {
        Ok(c) if c.version() != engine_api::API_VERSION => {
            format!(
                "{} (downgraded from {})",
                c.version(),
                engine_api::API_VERSION
            )
        }
        _ => engine_api::API_VERSION.to_owned(),
    };
    out.push_str(&format!(" API version:       {api}\n"));
    out.push_str(&format!(
        " OS/Arch:           {}/{}\n",
        std::env::consts::OS,
        go_arch(std::env::consts::ARCH)
    ));
    crate::out!("{out}");
    let client = client?;
    let v: Version = client.get_json("/version")?;
    let mut out = String::from("\nServer:\n");
    for c in &v.components {
        out.push_str(&format!(" {}:\n", c.name));
        out.push_str(&format!("  Version:          {}\n", c.version));
        if c.name == "Engine" {
            let d = |k: &str| c.details.get(k).cloned().unwrap_or_default();
            out.push_str(&format!(
                "  API version:      {} (minimum version {})\n",
                d("ApiVersion"),
                d("MinAPIVersion")
            ));
            out.push_str(&format!("  Go version:       {}\n", d("GoVersion")));
            out.push_str(&format!("  Git commit:       {}\n", d("GitCommit")));
            out.push_str(&format!("  Built:            {}\n", ansic(&d("BuildTime"))));
            out.push_str(&format!("  OS/Arch:          {}/{}\n", d("Os"), d("Arch")));
            out.push_str(&format!("  Experimental:     {}\n", d("Experimental")));
        } else {
            for (k, val) in &c.details {
                out.push_str(&format!("  {:<18}{val}\n", format!("{k}:")));
            }
        }
    }
    if v.components.is_empty() {
        out.push_str(" Engine:\n");
        out.push_str(&format!("  Version:          {}\n", v.version));
        out.push_str(&format!(
            "  API version:      {} (minimum version {})\n",
            v.api_version, v.min_api_version
        ));
        out.push_str(&format!("  OS/Arch:          {}/{}\n", v.os, v.arch));
    }
    crate::out!("{out}");
    Ok(0)
}

/// An RFC 3339 time in Go's `time.ANSIC` layout ("Thu May  7 21:09:36 2026"), as docker
/// prints build times; anything else as it came.
fn ansic(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

/// Go's name for an architecture (what daemons report).
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn info(ctx: &Ctx, _args: InfoArgs) -> Result<i32> {
    let client = ctx.client()?;
    let i: Info = client.get_json("/info")?;
    let mut o = String::new();
    o.push_str("Client:\n");
    o.push_str(&format!(" Version:    {}\n", env!("CARGO_PKG_VERSION")));
    o.push_str(&format!(" API version: {}\n\n", client.version()));
    o.push_str("Server:\n");
    o.push_str(&format!(" Containers: {}\n", i.containers));
    o.push_str(&format!("  Running: {}\n", i.containers_running));
    o.push_str(&format!("  Paused: {}\n", i.containers_paused));
    o.push_str(&format!("  Stopped: {}\n", i.containers_stopped));
    o.push_str(&format!(" Images: {}\n", i.images));
    o.push_str(&format!(" Server Version: {}\n", i.server_version));
    o.push_str(&format!(" Storage Driver: {}\n", i.driver));
    for [k, v] in &i.driver_status {
        o.push_str(&format!("  {k}: {v}\n"));
    }
    o.push_str(&format!(" Logging Driver: {}\n", i.logging_driver));
    o.push_str(&format!(" Cgroup Driver: {}\n", i.cgroup_driver));
    o.push_str(&format!(" Cgroup Version: {}\n", i.cgroup_version));
    o.push_str(" Plugins:\n");
    o.push_str(&format!("  Volume: {}\n", i.plugins.volume.join(" ")));
    o.push_str(&format!("  Network: {}\n", i.plugins.network.join(" ")));
    o.push_str(&format!("  Log: {}\n", i.plugins.log.join(" ")));
    let swarm = if i.swarm.local_node_state.is_empty() {
        "inactive"
    } else {
        &i.swarm.local_node_state
    };
    o.push_str(&format!(" Swarm: {swarm}\n"));
    let runtimes: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
    o.push_str(&format!(" Runtimes: {}\n", runtimes.join(" ")));
    o.push_str(&format!(" Default Runtime: {}\n", i.default_runtime));
    o.push_str(&format!(" Init Binary: {}\n", i.init_binary));
    o.push_str(&format!(
        " containerd version: {}\n",
        i.containerd_commit.id
    ));
    o.push_str(&format!(" runc version: {}\n", i.runc_commit.id));
    o.push_str(&format!(" init version: {}\n", i.init_commit.id));
    if !i.security_options.is_empty() {
        o.push_str(" Security Options:\n");
        for opt in &i.security_options {
            // "name=seccomp,profile=default" → " seccomp" then "  Profile: default".
            let mut parts = opt.split(',');
            let name = parts.next().unwrap_or("");
            o.push_str(&format!(
                "  {}\n",
                name.strip_prefix("name=").unwrap_or(name)
            ));
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    let mut key = k.to_owned();
                    if let Some(first) = key.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    o.push_str(&format!("   {key}: {v}\n"));
                }
            }
        }
    }
    o.push_str(&format!(" Kernel Version: {}\n", i.kernel_version));
    o.push_str(&format!(" Operating System: {}\n", i.operating_system));
    o.push_str(&format!(" OSType: {}\n", i.os_type));
    o.push_str(&format!(" Architecture: {}\n", i.architecture));
    o.push_str(&format!(" CPUs: {}\n", i.ncpu));
    o.push_str(&format!(
        " Total Memory: {}\n",
        units::bytes_size(i.mem_total as f64)
    ));
    o.push_str(&format!(" Name: {}\n", i.name));
    o.push_str(&format!(" ID: {}\n", i.id));
    o.push_str(&format!(" Docker Root Dir: {}\n", i.docker_root_dir));
    o.push_str(&format!(" Debug Mode: {}\n", i.debug));
    o.push_str(&format!(" Experimental: {}\n", i.experimental_build));
    o.push_str(&format!(
        " Live Restore Enabled: {}\n",
        i.live_restore_enabled
    ));
    crate::out!("{o}");
    for w in &i.warnings {
        eprintln!("{w}");
    }
    Ok(0)
}
