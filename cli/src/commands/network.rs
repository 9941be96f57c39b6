//! `mycli network create|ls|inspect|rm|connect|disconnect|prune`: the Engine API's
//! `/networks` endpoints with docker's flags, output and exit codes (docker CLI 28's
//! cli/command/network).

use std::collections::BTreeMap;
use std::net::IpAddr;

use clap::{Args, Subcommand};
use engine_api::containers::{EndpointIpamConfig, EndpointSettings};
use engine_api::networks::{
    ConnectRequest, CreateNetworkRequest, CreateNetworkResponse, DisconnectRequest, Ipam,
    IpamConfig, Network, PruneResponse,
};
use serde::Deserialize;

use super::{Ctx, key_values, natural_cmp, parse_filters};
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};
use crate::template::{self, Value};

#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Create a network
    Create(CreateArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, Args, Default)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// Set metadata on a network
    #[arg(long = "label", value_parser = super::label)]
    pub labels: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv6: Option<bool>,
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "KEY=VALUE")]
    pub ipam_opts: Vec<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long = "subnet", value_delimiter = ',')]
    pub subnets: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_delimiter = ',')]
    pub ip_ranges: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long = "gateway", value_delimiter = ',')]
    pub gateways: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "NAME=IP")]
    pub aux_addresses: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct ConnectArgs {
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link")]
    pub links: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_delimiter = ',')]
    pub aliases: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_delimiter = ',')]
    pub driver_opts: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

pub fn network(ctx: &Ctx, args: NetworkArgs) -> Result<i32> {
    match args.command {
        NetworkCommand::Connect(a) => connect(ctx, a),
        NetworkCommand::Create(a) => create(ctx, a),
        NetworkCommand::Disconnect(a) => disconnect(ctx, a),
        NetworkCommand::Inspect(a) => inspect(ctx, a),
        NetworkCommand::Ls(a) => ls(ctx, a),
        NetworkCommand::Prune(a) => prune(ctx, a),
        NetworkCommand::Rm(a) => rm(ctx, a),
    }
}

// ---------------------------------------------------------------------------- create

fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    // Flags are checked before anything is sent, as docker does.
    let ipam = ipam_config(&args)?;
    let client = ctx.client()?;
    let req = create_request(&args, ipam, !client.at_least("1.44"));
    let resp: CreateNetworkResponse = client.post_json("/networks/create", &req)?;
    crate::outln!("{}", resp.id);
    Ok(0)
}

/// The body of `POST /networks/create`. `check_duplicate` for daemons before API 1.44,
/// which only refuse a duplicate name when asked (later ones always do).
fn create_request(args: &CreateArgs, ipam: Ipam, check_duplicate: bool) -> CreateNetworkRequest {
    CreateNetworkRequest {
        name: args.name.clone(),
        check_duplicate,
        driver: args.driver.clone(),
        internal: args.internal,
        attachable: args.attachable,
        ingress: args.ingress,
        ipam: Some(ipam),
        enable_ipv6: args.ipv6,
        options: key_values(&args.opts),
        labels: key_values(&args.labels),
    }
}

/// A network prefix, as Go's `net.ParseCIDR` reads one.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    fn parse(text: &str) -> Result<Cidr> {
        let bad = || Error::InvalidArgument(format!("invalid CIDR address: {text}"));
        let (addr, bits) = text.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        // Go takes only plain decimal digits here.
        if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) || bits.len() > 3 {
            return Err(bad());
        }
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        if bits > max {
            return Err(bad());
        }
        Ok(Cidr { addr, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// docker's `subnetMatches`: whether `data` (an address, or the address of a prefix)
/// lies in `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool> {
    let net =
        Cidr::parse(subnet).map_err(|e| Error::InvalidArgument(format!("invalid subnet: {e}")))?;
    let ip = if data.contains('/') {
        Some(Cidr::parse(data)?.addr)
    } else {
        data.parse::<IpAddr>().ok()
    };
    Ok(ip.is_some_and(|ip| net.contains(ip)))
}

/// Groups `--subnet`, `--ip-range`, `--gateway` and `--aux-address` into one IPAM pool per
/// subnet, with docker's checks and messages (its `createIPAMConfig`). Pools keep the
/// order of the `--subnet` flags.
fn ipam_config(args: &CreateArgs) -> Result<Ipam> {
    let fail = |m: String| Err(Error::InvalidArgument(m));
    let subnets = &args.subnets;
    if subnets.len() < args.ip_ranges.len() || subnets.len() < args.gateways.len() {
        return fail("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut pools: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for p in &pools {
            if subnet_matches(s, &p.subnet)? || subnet_matches(&p.subnet, s)? {
                return fail("multiple overlapping subnet configuration is not supported".into());
            }
        }
        pools.push(IpamConfig {
            subnet: s.clone(),
            ..Default::default()
        });
    }
    for r in &args.ip_ranges {
        let mut matched = false;
        for pool in pools.iter_mut() {
            Cidr::parse(r)?;
            if !subnet_matches(&pool.subnet, r)? {
                continue;
            }
            if !pool.ip_range.is_empty() {
                return fail(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    pool.ip_range, pool.subnet
                ));
            }
            pool.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return fail(format!("no matching subnet for range {r}"));
        }
    }
    for g in &args.gateways {
        let mut matched = false;
        for pool in pools.iter_mut() {
            if !subnet_matches(&pool.subnet, g)? {
                continue;
            }
            if !pool.gateway.is_empty() {
                return fail(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    pool.gateway, pool.subnet
                ));
            }
            pool.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return fail(format!("no matching subnet for gateway {g}"));
        }
    }
    for (name, addr) in key_values(&args.aux_addresses) {
        let mut matched = false;
        for pool in pools.iter_mut() {
            if subnet_matches(&pool.subnet, &addr)? {
                pool.auxiliary_addresses.insert(name.clone(), addr.clone());
                matched = true;
            }
        }
        if !matched {
            return fail(format!("no matching subnet for aux-address {addr}"));
        }
    }
    Ok(Ipam {
        driver: args.ipam_driver.clone(),
        options: key_values(&args.ipam_opts),
        config: pools,
    })
}

// ---------------------------------------------------------------------------- ls

/// A list entry: the shared type plus `EnableIPv4` (API 1.47), which `ls` can show.
#[derive(Debug, Default, Deserialize)]
struct ListEntry {
    #[serde(flatten)]
    network: Network,
    #[serde(rename = "EnableIPv4", default)]
    enable_ipv4: Option<bool>,
}

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const RAW_FORMAT: &str =
    r"network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n";

fn ls(ctx: &Ctx, args: LsArgs) -> Result<i32> {
    let filters = parse_filters(&args.filter)?;
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let client = ctx.client()?;
    let list: Vec<ListEntry> = client.get_json(&format!("/networks{}", query(&params)))?;
    crate::out!(
        "{}",
        render_list(list, args.format.as_deref(), args.quiet, !args.no_trunc)?
    );
    Ok(0)
}

/// `ls` output: docker's formatter with its `table`, `raw`, `json` and custom formats.
fn render_list(
    mut list: Vec<ListEntry>,
    format: Option<&str>,
    quiet: bool,
    trunc: bool,
) -> Result<String> {
    list.sort_by(|a, b| natural_cmp(&a.network.name, &b.network.name));
    let format = match format.unwrap_or("") {
        "" | "table" if quiet => "{{.ID}}",
        "" | "table" => DEFAULT_TABLE,
        "raw" if quiet => "network_id: {{.ID}}",
        "raw" => RAW_FORMAT,
        other => other,
    };
    let rows: Vec<Value> = list.iter().map(|n| list_row(n, trunc)).collect();
    template::ListFormat::parse(format)?.render(&header_row(), &rows)
}

/// The fields a `ls --format` template can name, with docker's values (`ID` cut to 12
/// characters unless `--no-trunc`, booleans as words, `CreatedAt` as Go prints a time).
fn list_row(n: &ListEntry, trunc: bool) -> Value {
    let net = &n.network;
    let id = if trunc {
        truncate_id(&net.id)
    } else {
        net.id.clone()
    };
    let labels = net
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let s = |v: String| Value::string(v);
    template::row(
        "*network.networkContext",
        vec![
            ("CreatedAt", s(template::go_time(&net.created))),
            ("Driver", s(net.driver.clone())),
            ("ID", s(id)),
            ("IPv4", s(n.enable_ipv4.unwrap_or(false).to_string())),
            ("IPv6", s(net.enable_ipv6.to_string())),
            ("Internal", s(net.internal.to_string())),
            ("Labels", s(labels)),
            ("Name", s(net.name.clone())),
            ("Scope", s(net.scope.clone())),
        ],
        net.labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The column titles of a `table` format.
fn header_row() -> Value {
    template::header(&[
        ("CreatedAt", "CREATED AT"),
        ("Driver", "DRIVER"),
        ("ID", "NETWORK ID"),
        ("IPv4", "IPV4"),
        ("IPv6", "IPV6"),
        ("Internal", "INTERNAL"),
        ("Labels", "LABELS"),
        ("Name", "NAME"),
        ("Scope", "SCOPE"),
    ])
}

/// docker's `stringid.TruncateID`.
fn truncate_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    id.chars().take(12).collect()
}

// ---------------------------------------------------------------------------- inspect

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    // A template that does not parse ends the command before anything is fetched.
    let format = template::InspectFormat::parse(args.format.as_deref())?;
    let client = ctx.client()?;
    let q = if args.verbose { "?verbose=true" } else { "" };
    let mut inspector = template::Inspector::new(&format);
    for name in &args.names {
        let got = client
            .request(
                "GET",
                &format!("/networks/{}{q}", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.bytes());
        match got {
            Ok(doc) => inspector.add(template::Doc::Network, &doc),
            Err(e) => inspector.error(e.to_string()),
        }
    }
    inspector.print()
}

// ---------------------------------------------------------------------------- rm

fn rm(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let client = ctx.client()?;
    let mut failed = false;
    // docker first inspects each network to warn before removing a swarm ingress
    // network; there is no swarm here, so it goes straight to the removal.
    for name in &args.names {
        let removed = client
            .request(
                "DELETE",
                &format!("/networks/{}", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.drain());
        match removed {
            Ok(()) => crate::outln!("{name}"),
            Err(e) if args.force && e.is_not_found() => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        // docker ends with this line on stderr after the per-network errors.
        return Err(Error::Reported {
            message: "exit status 1".into(),
            code: 1,
        });
    }
    Ok(0)
}

// ---------------------------------------------------------------------------- connect

fn connect(ctx: &Ctx, args: ConnectArgs) -> Result<i32> {
    let req = connect_request(&args)?;
    let client = ctx.client()?;
    client
        .request(
            "POST",
            &format!("/networks/{}/connect", path_segment(&args.network)),
            json_body(&req)?,
        )?
        .drain()?;
    Ok(0)
}

/// The body docker sends: every endpoint field present, empty ones as `{}`/`[]`.
fn connect_request(args: &ConnectArgs) -> Result<ConnectRequest> {
    let mut driver_opts = BTreeMap::new();
    for opt in &args.driver_opts {
        match opt.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                driver_opts.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => {
                return Err(Error::InvalidArgument(
                    "invalid key/value pair format in driver options".into(),
                ));
            }
        }
    }
    Ok(ConnectRequest {
        container: args.container.clone(),
        endpoint_config: Some(EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: args.ip.clone().unwrap_or_default(),
                ipv6_address: args.ip6.clone().unwrap_or_default(),
            }),
            links: (!args.links.is_empty()).then(|| args.links.clone()),
            aliases: Some(args.aliases.clone()),
            driver_opts: Some(driver_opts),
            ..Default::default()
        }),
    })
}

fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> Result<i32> {
    let req = DisconnectRequest {
        container: args.container.clone(),
        force: args.force,
    };
    let client = ctx.client()?;
    client
        .request(
            "POST",
            &format!("/networks/{}/disconnect", path_segment(&args.network)),
            json_body(&req)?,
        )?
        .drain()?;
    Ok(0)
}

fn json_body(value: &impl serde::Serialize) -> Result<Body<'static>> {
    serde_json::to_vec(value)
        .map(Body::Json)
        .map_err(|e| Error::json("encoding request", e))
}

// ---------------------------------------------------------------------------- prune

const PRUNE_WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let filters = parse_filters(&args.filter)?;
    if !args.force && !super::confirm(PRUNE_WARNING, &mut std::io::stdin().lock()) {
        // docker treats a refusal as a cancelled command: nothing more, exit 0.
        return Ok(0);
    }
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let client = ctx.client()?;
    let resp: PruneResponse = client
        .request(
            "POST",
            &format!("/networks/prune{}", query(&params)),
            Body::Empty,
        )?
        .json()?;
    crate::out!("{}", prune_output(&resp));
    Ok(0)
}

/// `Deleted Networks:` and one name a line, then the blank line docker's `Fprintln`
/// adds; nothing when nothing was removed.
fn prune_output(resp: &PruneResponse) -> String {
    if resp.networks_deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Networks:\n");
    for n in &resp.networks_deleted {
        out.push_str(n);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use crate::commands::{Cli, Command};

    fn parse(argv: &[&str]) -> NetworkCommand {
        let mut full = vec!["mycli", "network"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Some(Command::Network(n)) => n.command,
            other => panic!("not a network command: {other:?}"),
        }
    }

    fn create_args(argv: &[&str]) -> CreateArgs {
        let mut full = vec!["create"];
        full.extend_from_slice(argv);
        match parse(&full) {
            NetworkCommand::Create(c) => c,
            other => panic!("{other:?}"),
        }
    }

    fn create_json(argv: &[&str], check_duplicate: bool) -> serde_json::Value {
        let args = create_args(argv);
        let ipam = ipam_config(&args).unwrap();
        serde_json::to_value(create_request(&args, ipam, check_duplicate)).unwrap()
    }

    fn create_err(argv: &[&str]) -> String {
        ipam_config(&create_args(argv)).unwrap_err().to_string()
    }

    #[test]
    fn create_sends_what_docker_sends() {
        // docker 28 (API 1.41): {"Driver":"bridge","Scope":"","IPAM":{"Driver":"default",
        // "Options":{},"Config":[{"Subnet":"10.213.0.0/24","IPRange":"10.213.0.128/25",
        // "Gateway":"10.213.0.1"}]},"Internal":false,"Attachable":false,"Ingress":false,
        // "ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.bridge.name":
        // "nlbr0"},"Labels":{"a":"b"},"Name":"web","CheckDuplicate":true}
        let v = create_json(
            &[
                "--subnet",
                "10.213.0.0/24",
                "--gateway",
                "10.213.0.1",
                "--ip-range",
                "10.213.0.128/25",
                "--label",
                "a=b",
                "-o",
                "com.docker.network.bridge.name=nlbr0",
                "web",
            ],
            true,
        );
        assert_eq!(v["Name"], "web");
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["CheckDuplicate"], true);
        assert_eq!(
            v["IPAM"],
            serde_json::json!({"Driver":"default","Options":{},"Config":[
                {"Subnet":"10.213.0.0/24","IPRange":"10.213.0.128/25","Gateway":"10.213.0.1"}]})
        );
        assert_eq!(v["Options"]["com.docker.network.bridge.name"], "nlbr0");
        assert_eq!(v["Labels"], serde_json::json!({"a":"b"}));
        assert_eq!(v["Internal"], false);
        assert_eq!(v["EnableIPv6"], serde_json::Value::Null);

        // Without IPAM flags docker still sends the default IPAM with no pools.
        let v = create_json(
            &["--internal", "--attachable", "--ipv6", "-d", "host", "x"],
            false,
        );
        assert_eq!(
            v["IPAM"],
            serde_json::json!({"Driver":"default","Options":{},"Config":[]})
        );
        assert_eq!(v["Driver"], "host");
        assert_eq!(v["Internal"], true);
        assert_eq!(v["Attachable"], true);
        assert_eq!(v["EnableIPv6"], true);
        assert_eq!(v["CheckDuplicate"], false);
        let v = create_json(&["--ipv6=false", "--label", "x", "-o", "y", "x"], true);
        assert_eq!(v["EnableIPv6"], false);
        assert_eq!(v["Labels"], serde_json::json!({"x":""}));
        assert_eq!(v["Options"], serde_json::json!({"y":""}));
    }

    #[test]
    fn several_pools_and_aux_addresses() {
        let v = create_json(
            &[
                "--subnet",
                "10.1.0.0/16,10.3.0.0/16",
                "--ip-range",
                "10.1.0.0/24",
                "--gateway",
                "10.1.0.1",
                "--aux-address",
                "a=10.1.0.3",
                "--gateway",
                "10.3.0.1",
                "--ipam-driver",
                "custom",
                "--ipam-opt",
                "k=v",
                "zz",
            ],
            true,
        );
        assert_eq!(
            v["IPAM"],
            serde_json::json!({"Driver":"custom","Options":{"k":"v"},"Config":[
                {"Subnet":"10.1.0.0/16","IPRange":"10.1.0.0/24","Gateway":"10.1.0.1",
                 "AuxiliaryAddresses":{"a":"10.1.0.3"}},
                {"Subnet":"10.3.0.0/16","Gateway":"10.3.0.1"}]})
        );
        let v = create_json(
            &["--subnet", "fd00:1::/64", "--gateway", "fd00:1::1", "v6"],
            true,
        );
        assert_eq!(v["IPAM"]["Config"][0]["Gateway"], "fd00:1::1");
    }

    #[test]
    fn ipam_mistakes_fail_with_dockers_messages() {
        // Each message is what docker 28 printed for the same flags.
        assert_eq!(
            create_err(&["--gateway", "10.1.0.1", "z"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1", "z"]),
            "no matching subnet for gateway 10.2.0.1"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/24", "--ip-range", "10.2.0.0/25", "z"]),
            "no matching subnet for range 10.2.0.0/25"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/16", "--subnet", "10.1.2.0/24", "z"]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/16", "--subnet", "foo", "z"]),
            "invalid subnet: invalid CIDR address: foo"
        );
        assert_eq!(
            create_err(&[
                "--subnet",
                "10.1.0.0/16",
                "--subnet",
                "10.2.0.0/16",
                "--ip-range",
                "10.1.0.0/33",
                "z"
            ]),
            "invalid CIDR address: 10.1.0.0/33"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/16", "--ip-range", "10.1.0.0", "z"]),
            "invalid CIDR address: 10.1.0.0"
        );
        assert_eq!(
            create_err(&["--subnet", "10.1.0.0/16", "--gateway", "foo", "z"]),
            "no matching subnet for gateway foo"
        );
        assert_eq!(
            create_err(&[
                "--subnet",
                "10.1.0.0/16",
                "--gateway",
                "10.1.0.1",
                "--gateway",
                "10.1.0.2",
                "z"
            ]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            create_err(&[
                "--subnet",
                "10.1.0.0/16,10.2.0.0/16",
                "--gateway",
                "10.1.0.1",
                "--gateway",
                "10.1.0.2",
                "z"
            ]),
            "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/16)"
        );
        assert_eq!(
            create_err(&[
                "--subnet",
                "10.1.0.0/16",
                "--aux-address",
                "a=10.9.0.1",
                "z"
            ]),
            "no matching subnet for aux-address 10.9.0.1"
        );
        // A lone bad subnet is the daemon's to refuse, as with docker.
        assert!(ipam_config(&create_args(&["--subnet", "foo", "z"])).is_ok());
    }

    #[test]
    fn create_flags_and_arguments() {
        let cli = |argv: &[&str]| {
            let mut full = vec!["mycli", "network"];
            full.extend_from_slice(argv);
            Cli::try_parse_from(full)
        };
        assert!(cli(&["create"]).is_err());
        assert!(cli(&["create", "a", "b"]).is_err());
        assert!(cli(&["create", "--bogus", "a"]).is_err());
        let e = cli(&["create", "--label", "=x", "a"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid label '=x': empty name"), "{e}");
        assert!(matches!(parse(&["list"]), NetworkCommand::Ls(_)));
        assert!(matches!(parse(&["remove", "x"]), NetworkCommand::Rm(_)));
    }

    /// `GET /networks` of dockerd 20.10 (abridged), in the daemon's order.
    const LIST: &str = r#"[
        {"Name":"web2","Id":"dd7b84257392b835be7130ba16a8a469e3c3ce0ac8c4971b6639312ce95f2d87","Created":"2026-11-28T15:08:05.066907153Z","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.1.0/24"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}},
        {"Name":"host","Id":"be778026310d9038bb55b64e16b615b77a42c653f8206775c457f4b229aac363","Created":"2026-11-28T15:07:09.282724995Z","Scope":"local","Driver":"host","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}},
        {"Name":"lab","Id":"8777a96dc357aa55e1f4c5f1b6c0e0a8f2dd5c8a8df4e3c4ba0a5f1c5e4f6a7b","Created":"2026-11-28T15:09:29.3635615Z","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{"b":"2","a":"1"}},
        {"Name":"web","Id":"5176b788f291ebb95d96bb3283f80b17bde609e83f000aeef3a656af225fc281","Created":"2026-11-28T15:07:57Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":true,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}
    ]"#;

    fn list() -> Vec<ListEntry> {
        serde_json::from_str(LIST).unwrap()
    }

    #[test]
    fn ls_table_sorted_by_name() {
        assert_eq!(
            render_list(list(), None, false, true).unwrap(),
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             be778026310d   host      host      local\n\
             8777a96dc357   lab       bridge    local\n\
             5176b788f291   web       bridge    local\n\
             dd7b84257392   web2      bridge    local\n"
        );
        assert_eq!(
            render_list(list(), Some("table"), true, true).unwrap(),
            "be778026310d\n8777a96dc357\n5176b788f291\ndd7b84257392\n"
        );
        let full = render_list(list(), None, true, false).unwrap();
        assert_eq!(
            full.lines().next(),
            Some("be778026310d9038bb55b64e16b615b77a42c653f8206775c457f4b229aac363")
        );
    }

    #[test]
    fn ls_custom_formats() {
        assert_eq!(
            render_list(
                list(),
                Some(r"{{.Name}}\t{{.Labels}}|{{.Internal}}|{{.IPv4}}|{{.CreatedAt}}"),
                false,
                true
            )
            .unwrap(),
            "host\t|false|false|2026-11-28 15:07:09.282724995 +0000 UTC\n\
             lab\ta=1,b=2|false|false|2026-11-28 15:09:29.3635615 +0000 UTC\n\
             web\t|true|true|2026-11-28 15:07:57 +0000 UTC\n\
             web2\t|false|false|2026-11-28 15:08:05.066907153 +0000 UTC\n"
        );
        assert_eq!(
            render_list(list(), Some(r"table {{.Name}}\t{{.Labels}}"), false, true).unwrap(),
            "NAME      LABELS\nhost      \nlab       a=1,b=2\nweb       \nweb2      \n"
        );
        let json = render_list(list(), Some("json"), false, true).unwrap();
        assert_eq!(
            json.lines().next().unwrap(),
            r#"{"CreatedAt":"2026-11-28 15:07:09.282724995 +0000 UTC","Driver":"host","ID":"be778026310d","IPv4":"false","IPv6":"false","Internal":"false","Labels":"","Name":"host","Scope":"local"}"#
        );
        let raw = render_list(list(), Some("raw"), false, true).unwrap();
        assert!(raw.starts_with(
            "network_id: be778026310d\nname: host\ndriver: host\nscope: local\n\nnetwork_id:"
        ));
        // A custom format wins over -q, as in docker.
        assert_eq!(
            render_list(list(), Some("{{.Name}}"), true, true).unwrap(),
            "host\nlab\nweb\nweb2\n"
        );
    }

    #[test]
    fn times_print_like_go() {
        assert_eq!(
            template::go_time("2026-11-28T15:07:09.282724995Z"),
            "2026-11-28 15:07:09.282724995 +0000 UTC"
        );
        assert_eq!(
            template::go_time("2026-11-28T16:07:09.5+01:00"),
            "2026-11-28 16:07:09.5 +0100 +0100"
        );
        assert_eq!(template::go_time("garbage"), "garbage");
    }

    #[test]
    fn inspect_prints_the_daemons_documents() {
        let doc = br#"{"Name":"web2","Id":"dd7b","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.1.0/24"}]},"Containers":{},"Labels":{}}"#;
        let render = |format: Option<&str>, docs: &[&[u8]]| {
            let f = template::InspectFormat::parse(format).unwrap();
            let mut i = template::Inspector::new(&f);
            for d in docs {
                i.add(template::Doc::Network, d);
            }
            i.finish()
        };
        assert_eq!(
            render(None, &[doc]).0,
            "[\n    {\n        \"Name\": \"web2\",\n        \"Id\": \"dd7b\",\n        \"IPAM\": {\n            \"Driver\": \"default\",\n            \"Options\": {},\n            \"Config\": [\n                {\n                    \"Subnet\": \"10.1.1.0/24\"\n                }\n            ]\n        },\n        \"Containers\": {},\n        \"Labels\": {}\n    }\n]\n"
        );
        assert_eq!(render(None, &[]).0, "[]\n");
        assert_eq!(
            render(Some("{{.Name}} {{json .IPAM.Config}}"), &[doc]).0,
            "web2 [{\"Subnet\":\"10.1.1.0/24\"}]\n"
        );
    }

    #[test]
    fn connect_body_like_dockers() {
        // docker 28: {"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":
        // "10.1.0.9"},"Links":null,"Aliases":["a1","a2"],"MacAddress":"","DriverOpts":{},...}}
        let NetworkCommand::Connect(a) = parse(&[
            "connect", "--ip", "10.1.0.9", "--alias", "a1", "--alias", "a2", "web", "c1",
        ]) else {
            panic!()
        };
        let v = serde_json::to_value(connect_request(&a).unwrap()).unwrap();
        assert_eq!(v["Container"], "c1");
        let ep = &v["EndpointConfig"];
        assert_eq!(
            ep["IPAMConfig"],
            serde_json::json!({"IPv4Address":"10.1.0.9"})
        );
        assert_eq!(ep["Aliases"], serde_json::json!(["a1", "a2"]));
        assert_eq!(ep["Links"], serde_json::Value::Null);
        assert_eq!(ep["DriverOpts"], serde_json::json!({}));
        assert_eq!(ep["MacAddress"], "");

        // Plain connect: {"IPAMConfig":{},"Links":null,"Aliases":[],"DriverOpts":{}}.
        let NetworkCommand::Connect(a) = parse(&["connect", "web", "c1"]) else {
            panic!()
        };
        let v = serde_json::to_value(connect_request(&a).unwrap()).unwrap();
        let ep = &v["EndpointConfig"];
        assert_eq!(ep["IPAMConfig"], serde_json::json!({}));
        assert_eq!(ep["Aliases"], serde_json::json!([]));

        let NetworkCommand::Connect(a) =
            parse(&["connect", "--driver-opt", "k = v,x=1", "web", "c1"])
        else {
            panic!()
        };
        let v = serde_json::to_value(connect_request(&a).unwrap()).unwrap();
        assert_eq!(
            v["EndpointConfig"]["DriverOpts"],
            serde_json::json!({"k":"v","x":"1"})
        );
        let NetworkCommand::Connect(a) =
            parse(&["connect", "--driver-opt", "novalue", "web", "c1"])
        else {
            panic!()
        };
        assert_eq!(
            connect_request(&a).unwrap_err().to_string(),
            "invalid key/value pair format in driver options"
        );
    }

    #[test]
    fn disconnect_body() {
        let NetworkCommand::Disconnect(a) = parse(&["disconnect", "-f", "web", "c1"]) else {
            panic!()
        };
        let v = serde_json::to_value(DisconnectRequest {
            container: a.container,
            force: a.force,
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"Container":"c1","Force":true}));
    }

    #[test]
    fn prune_asks_and_reports_like_docker() {
        assert!(crate::commands::confirm("sure?", &mut &b"y\n"[..]));
        assert!(crate::commands::confirm("sure?", &mut &b" Y \n"[..]));
        assert!(!crate::commands::confirm("sure?", &mut &b"n\n"[..]));
        assert!(!crate::commands::confirm("sure?", &mut &b"\n"[..]));
        assert!(!crate::commands::confirm("sure?", &mut &b""[..]));
        assert!(!crate::commands::confirm("sure?", &mut &b"yes\n"[..]));
        let resp: PruneResponse =
            serde_json::from_str(r#"{"NetworksDeleted":["zz3","web","y"]}"#).unwrap();
        // Byte for byte what docker 28 wrote after the prompt.
        assert_eq!(prune_output(&resp), "Deleted Networks:\nzz3\nweb\ny\n\n");
        let none: PruneResponse = serde_json::from_str(r#"{"NetworksDeleted":null}"#).unwrap();
        assert_eq!(prune_output(&none), "");
    }
}
