//! Container networking: bridge networks with their address pools, one network
//! namespace and veth pair per container, our own iptables chains, and published ports.
//!
//! [`netns`] and [`link`] talk netlink; [`nat`] owns our iptables chains; [`ipam`] hands
//! out addresses; [`ports`] binds host ports and runs `myproxy`. [`NetworkManager`]
//! puts them together for the daemon, which keeps the records (networks in the store,
//! each running container's endpoints and ports in its own record).

pub mod ipam;
pub mod link;
pub mod nat;
pub mod netns;
pub mod ports;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use engine_api::containers::{EndpointSettings, NetworkSettings, NetworkingConfig};
use serde::{Deserialize, Serialize};

use crate::config::NetworkConfig;
use crate::error::{Error, Result};
use ipam::{Pool, Subnet};
use ports::{PortRequest, Published};

/// User-defined bridges are `mybr-` and 10 hex digits of the network ID; the isolation
/// rules treat every `mybr*` link as one of ours.
const USER_BRIDGE_PREFIX: &str = "mybr-";
const BRIDGE_GLOB: &str = "mybr+";

/// The names Docker reserves for its predefined networks.
pub const PREDEFINED: &[&str] = &["bridge", "host", "none"];

/// One network, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// The bridge link (bridge driver only).
    pub bridge: String,
    pub subnet: String,
    pub gateway: String,
    pub ip_range: String,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

impl NetworkRecord {
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    pub fn is_predefined(&self) -> bool {
        PREDEFINED.contains(&self.name.as_str())
    }

    /// The default bridge: no name resolution, no `--ip`, no aliases (as Docker's).
    pub fn is_default_bridge(&self) -> bool {
        self.name == "bridge"
    }

    fn pool(&self) -> Result<Pool> {
        let subnet = Subnet::parse(&self.subnet).map_err(|e| Error::Store(e.to_string()))?;
        let gateway = ipam::parse_ip(&self.gateway).ok();
        let range = Subnet::parse(&self.ip_range).ok();
        Pool::new(subnet, gateway, range).map_err(|e| Error::Store(e.to_string()))
    }

    /// `GET /networks/{id}`'s shape, with `containers` filled by the caller.
    pub fn to_api(
        &self,
        containers: BTreeMap<String, engine_api::networks::NetworkContainer>,
    ) -> engine_api::networks::Network {
        use engine_api::networks::{Ipam, IpamConfig, Network};
        let config = if self.is_bridge() {
            vec![IpamConfig {
                subnet: self.subnet.clone(),
                ip_range: self.ip_range.clone(),
                gateway: self.gateway.clone(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        let mut options = self.options.clone();
        if self.is_bridge() {
            options
                .entry("com.docker.network.bridge.name".into())
                .or_insert_with(|| self.bridge.clone());
        }
        Network {
            name: self.name.clone(),
            id: self.id.clone(),
            created: self.created.clone(),
            scope: "local".into(),
            driver: self.driver.clone(),
            ipam: Ipam {
                driver: "default".into(),
                config,
                ..Default::default()
            },
            attachable: self.attachable,
            containers,
            options,
            labels: self.labels.clone(),
            ..Default::default()
        }
    }
}

/// A container's network for one run, kept in its record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerNetwork {
    /// The network namespace file; empty with the host's network or another container's.
    pub sandbox_key: String,
    /// By network name.
    pub endpoints: BTreeMap<String, Endpoint>,
    pub ports: Vec<Published>,
}

impl ContainerNetwork {
    pub fn is_empty(&self) -> bool {
        self.sandbox_key.is_empty() && self.endpoints.is_empty() && self.ports.is_empty()
    }
}

/// A container's place on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    pub network_id: String,
    pub endpoint_id: String,
    pub ip: String,
    pub prefix_len: u8,
    pub gateway: String,
    pub mac: String,
    /// The veth end on the host (deleting it deletes the pair).
    pub host_ifname: String,
    pub ifname: String,
    pub aliases: Vec<String>,
}

impl Endpoint {
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.ip.parse().ok()
    }

    fn settings(&self) -> EndpointSettings {
        EndpointSettings {
            aliases: (!self.aliases.is_empty()).then(|| self.aliases.clone()),
            mac_address: self.mac.clone(),
            network_id: self.network_id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            gateway: self.gateway.clone(),
            ip_address: self.ip.clone(),
            ip_prefix_len: self.prefix_len,
            ..Default::default()
        }
    }
}

/// What `NetworkMode` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Host,
    None,
    /// Another container's namespace (its name or ID, as given).
    Container(String),
    /// A network by name or ID (`default` and empty mean `bridge`).
    Network(String),
}

impl Mode {
    pub fn parse(mode: &str) -> Mode {
        match mode {
            "" | "default" | "bridge" => Mode::Network("bridge".into()),
            "host" => Mode::Host,
            "none" => Mode::None,
            m => match m.strip_prefix("container:") {
                Some(c) => Mode::Container(c.to_owned()),
                None => Mode::Network(m.to_owned()),
            },
        }
    }
}

struct State {
    networks: BTreeMap<String, NetworkRecord>,
    pools: HashMap<String, Pool>,
}

/// Networks and the per-container plumbing.
pub struct NetworkManager {
    config: NetworkConfig,
    netns_dir: PathBuf,
    links: link::Links,
    nat: Option<nat::Nat>,
    /// iptables edits of one chain set must not interleave.
    nat_lock: std::sync::Arc<Mutex<()>>,
    state: Mutex<State>,
    /// Proxies this process started (reaped when stopped); adopted ones are not here.
    proxies: Mutex<HashMap<u32, tokio::process::Child>>,
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(context, e)
}

fn link_err(e: link::LinkError) -> Error {
    Error::Io {
        context: "network".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn nat_err(e: nat::NatError) -> Error {
    Error::Io {
        context: "iptables".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl NetworkManager {
    /// Sets up our chains and the bridges of every stored network (creating the
    /// predefined ones when missing). Returns the manager and the records to store.
    pub async fn new(
        config: NetworkConfig,
        exec_root: &Path,
        stored: Vec<NetworkRecord>,
    ) -> Result<(NetworkManager, Vec<NetworkRecord>)> {
        let netns_dir = exec_root.join("netns");
        std::fs::create_dir_all(&netns_dir)
            .map_err(io_err(format!("creating {}", netns_dir.display())))?;
        let links = link::connect().await.map_err(link_err)?;
        let nat = if config.iptables {
            let nat = nat::Nat::new(&config.chain_prefix, BRIDGE_GLOB);
            let n = nat.clone();
            tokio::task::spawn_blocking(move || n.setup())
                .await
                .map_err(Error::Handler)?
                .map_err(nat_err)?;
            Some(nat)
        } else {
            None
        };
        let mut networks: BTreeMap<String, NetworkRecord> =
            stored.into_iter().map(|n| (n.id.clone(), n)).collect();
        let mut changed = Vec::new();
        let bip_subnet = Subnet::containing(config.bip, config.bip_prefix_len);
        for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] {
            let existing = networks.values().find(|n| n.name == name).cloned();
            let mut record = existing.unwrap_or_else(|| NetworkRecord {
                id: crate::daemon::random_id(),
                name: name.into(),
                created: crate::daemon::now_rfc3339(),
                driver: driver.into(),
                ..Default::default()
            });
            let before = record.clone();
            if name == "bridge" {
                // The flags win over what an earlier run stored.
                record.bridge = config.bridge.clone();
                record.subnet = bip_subnet.to_string();
                record.gateway = config.bip.to_string();
                record.ip_range.clear();
            }
            if record != before {
                changed.push(record.clone());
            }
            networks.insert(record.id.clone(), record);
        }
        let manager = NetworkManager {
            config,
            netns_dir,
            links,
            nat,
            nat_lock: Default::default(),
            state: Mutex::new(State {
                networks: BTreeMap::new(),
                pools: HashMap::new(),
            }),
            proxies: Mutex::new(HashMap::new()),
        };
        for record in networks.into_values() {
            if record.is_bridge() {
                let pool = record.pool()?;
                if let Err(e) = manager.bring_up_bridge(&record, &pool).await {
                    tracing::warn!(network = %record.name, "setting up the bridge: {e}");
                }
                manager.state().pools.insert(record.id.clone(), pool);
            }
            manager.state().networks.insert(record.id.clone(), record);
        }
        Ok((manager, changed))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on our chains off the async workers, one call at a time; `None` with
    /// `--iptables=false`.
    async fn nat<T: Send + 'static>(
        &self,
        f: impl FnOnce(&nat::Nat) -> nat::Result<T> + Send + 'static,
    ) -> Option<nat::Result<T>> {
        let nat = self.nat.clone()?;
        let lock = self.nat_lock.clone();
        let done = tokio::task::spawn_blocking(move || {
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            f(&nat)
        })
        .await;
        Some(done.unwrap_or_else(|e| {
            Err(nat::NatError::Spawn {
                command: "iptables".into(),
                source: std::io::Error::other(e.to_string()),
            })
        }))
    }

    async fn bring_up_bridge(&self, record: &NetworkRecord, pool: &Pool) -> Result<()> {
        self.links
            .ensure_bridge(
                &record.bridge,
                pool.gateway,
                pool.subnet.prefix_len,
                self.config.mtu,
            )
            .await
            .map_err(link_err)?;
        let rule = nat::BridgeRule {
            bridge: record.bridge.clone(),
            subnet: pool.subnet.to_string(),
        };
        if let Some(r) = self.nat(move |n| n.add_bridge(&rule)).await {
            r.map_err(nat_err)?;
        }
        Ok(())
    }

    /// Where a container's network namespace is bound.
    pub fn netns_path(&self, container_id: &str) -> PathBuf {
        self.netns_dir.join(container_id)
    }

    /// A network by full ID, exact name, or unique ID prefix (Docker's order).
    pub fn find(&self, reference: &str) -> Result<NetworkRecord> {
        // The docker CLI names the default network `default` in EndpointsConfig.
        let reference = if reference == "default" {
            "bridge"
        } else {
            reference
        };
        let state = self.state();
        if let Some(n) = state.networks.get(reference) {
            return Ok(n.clone());
        }
        if let Some(n) = state.networks.values().find(|n| n.name == reference) {
            return Ok(n.clone());
        }
        if !reference.is_empty() {
            let mut found = state
                .networks
                .values()
                .filter(|n| n.id.starts_with(reference));
            if let Some(first) = found.next() {
                if found.next().is_some() {
                    return Err(Error::NotFound(format!(
                        "network {reference} is ambiguous ({} matches found based on ID prefix)",
                        state
                            .networks
                            .values()
                            .filter(|n| n.id.starts_with(reference))
                            .count()
                    )));
                }
                return Ok(first.clone());
            }
        }
        Err(Error::NotFound(format!("network {reference} not found")))
    }

    pub fn list(&self) -> Vec<NetworkRecord> {
        self.state().networks.values().cloned().collect()
    }

    /// `POST /networks/create`: a bridge network with its own link, subnet and rules.
    pub async fn create(
        &self,
        req: &engine_api::networks::CreateNetworkRequest,
    ) -> Result<NetworkRecord> {
        let name = req.name.as_str();
        let valid = !name.is_empty()
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return Err(Error::BadParameter(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if PREDEFINED.contains(&name) {
            return Err(Error::Forbidden(format!(
                "{name} is a pre-defined network and cannot be created"
            )));
        }
        match req.driver.as_str() {
            "" | "bridge" => {}
            other => {
                return Err(Error::NotFound(format!(
                    "plugin \"{other}\" not found: only the bridge driver is supported"
                )));
            }
        }
        if req.internal {
            return Err(Error::NotImplemented("internal networks".into()));
        }
        if req.enable_ipv6 == Some(true) {
            return Err(Error::NotImplemented("IPv6 networks".into()));
        }
        let configs = req
            .ipam
            .as_ref()
            .map(|i| i.config.clone())
            .unwrap_or_default();
        if configs.len() > 1 {
            return Err(Error::NotImplemented("more than one IPAM pool".into()));
        }
        let bad = |e: ipam::IpamError| Error::BadParameter(format!("invalid network config: {e}"));
        let wanted = configs.first().cloned().unwrap_or_default();
        let taken = self.taken_subnets().await?;
        let subnet = if wanted.subnet.is_empty() {
            if !wanted.gateway.is_empty() || !wanted.ip_range.is_empty() {
                return Err(Error::BadParameter(
                    "invalid network config: a gateway or IP range needs a subnet".into(),
                ));
            }
            let base = Subnet::parse(&self.config.pool_base).map_err(bad)?;
            ipam::choose_subnet(base, self.config.pool_size, &taken).ok_or_else(|| {
                Error::Conflict(
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
                )
            })?
        } else {
            let s = Subnet::parse(&wanted.subnet).map_err(bad)?;
            if let Some(t) = taken.iter().find(|t| t.prefix_len > 0 && t.overlaps(&s)) {
                return Err(Error::Forbidden(format!(
                    "Pool overlaps with other one on this address space: {s} overlaps {t}"
                )));
            }
            s
        };
        let gateway = match wanted.gateway.as_str() {
            "" => None,
            g => Some(ipam::parse_ip(g).map_err(bad)?),
        };
        let range = match wanted.ip_range.as_str() {
            "" => None,
            r => Some(Subnet::parse(r).map_err(bad)?),
        };
        let pool = Pool::new(subnet, gateway, range).map_err(bad)?;
        let id = crate::daemon::random_id();
        let record = NetworkRecord {
            bridge: format!("{USER_BRIDGE_PREFIX}{}", &id[..10]),
            id,
            name: name.to_owned(),
            created: crate::daemon::now_rfc3339(),
            driver: "bridge".into(),
            subnet: subnet.to_string(),
            gateway: pool.gateway.to_string(),
            ip_range: range.map(|r| r.to_string()).unwrap_or_default(),
            attachable: req.attachable,
            labels: req.labels.clone(),
            options: req.options.clone(),
        };
        {
            let mut state = self.state();
            if state.networks.values().any(|n| n.name == name) {
                return Err(Error::Conflict(format!(
                    "network with name {name} already exists"
                )));
            }
            state.networks.insert(record.id.clone(), record.clone());
            state.pools.insert(record.id.clone(), pool.clone());
        }
        if let Err(e) = self.bring_up_bridge(&record, &pool).await {
            self.forget(&record).await;
            return Err(e);
        }
        Ok(record)
    }

    /// Every subnet a new network must not overlap: ours and the host's routes (which
    /// include other engines' bridges).
    async fn taken_subnets(&self) -> Result<Vec<Subnet>> {
        let mut taken: Vec<Subnet> = self.state().pools.values().map(|p| p.subnet).collect();
        for (addr, len) in self.links.ipv4_routes().await.map_err(link_err)? {
            taken.push(Subnet::containing(addr, len));
        }
        Ok(taken)
    }

    /// Removes a user-defined network's bridge, rules and record from memory (the caller
    /// checked that no container uses it and deletes the stored record).
    pub async fn remove(&self, record: &NetworkRecord) -> Result<()> {
        if record.is_predefined() {
            return Err(Error::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                record.name
            )));
        }
        self.forget(record).await;
        Ok(())
    }

    async fn forget(&self, record: &NetworkRecord) {
        let rule = nat::BridgeRule {
            bridge: record.bridge.clone(),
            subnet: record.subnet.clone(),
        };
        if let Some(Err(e)) = self.nat(move |n| n.remove_bridge(&rule)).await {
            tracing::warn!(network = %record.name, "removing its rules: {e}");
        }
        if let Err(e) = self.links.delete_link(&record.bridge).await {
            tracing::warn!(network = %record.name, "deleting its bridge: {e}");
        }
        let mut state = self.state();
        state.networks.remove(&record.id);
        state.pools.remove(&record.id);
    }

    /// The networks a container joins at start, primary first, with what was asked for
    /// each (checked again: a network may have gone since create).
    pub fn planned(
        &self,
        network_mode: &str,
        requested: &NetworkingConfig,
    ) -> Result<Vec<(NetworkRecord, EndpointSettings)>> {
        let Mode::Network(primary) = Mode::parse(network_mode) else {
            return Ok(Vec::new());
        };
        let primary = self.find(&primary)?;
        let mut out = vec![(
            primary.clone(),
            settings_for(requested, &primary).unwrap_or_default(),
        )];
        for (name, settings) in &requested.endpoints_config {
            let n = self.find(name)?;
            if n.id == primary.id || out.iter().any(|(o, _)| o.id == n.id) {
                continue;
            }
            if !n.is_bridge() {
                return Err(Error::BadParameter(format!(
                    "container cannot be connected to network {} and {}",
                    primary.name, n.name
                )));
            }
            out.push((n, settings.clone()));
        }
        for (n, s) in &out {
            check_endpoint_request(n, s)?;
        }
        Ok(out)
    }

    /// Makes the container's namespace, joins its networks and publishes its ports.
    /// On failure everything made so far is undone.
    pub async fn attach(
        &self,
        container_id: &str,
        network_mode: &str,
        requested: &NetworkingConfig,
        port_requests: &[PortRequest],
    ) -> Result<ContainerNetwork> {
        match Mode::parse(network_mode) {
            Mode::Host | Mode::Container(_) => return Ok(ContainerNetwork::default()),
            Mode::None | Mode::Network(_) => {}
        }
        let planned = self.planned(network_mode, requested)?;
        let started = std::time::Instant::now();
        let path = self.netns_path(container_id);
        let p = path.clone();
        let created = tokio::task::spawn_blocking(move || {
            if netns::is_mounted_ns(&p) {
                // Left by a crash between the namespace and the record.
                netns::remove(&p)?;
            }
            netns::create(&p)
        })
        .await
        .map_err(Error::Handler)?;
        created.map_err(io_err(format!(
            "creating the network namespace {}",
            path.display()
        )))?;
        let made = started.elapsed();
        let mut net = ContainerNetwork {
            sandbox_key: path.display().to_string(),
            ..Default::default()
        };
        let result = async {
            for (index, (network, settings)) in planned.iter().enumerate() {
                let ep = self.add_endpoint(&path, network, settings, index).await?;
                net.endpoints.insert(network.name.clone(), ep);
            }
            if let Some((network, _)) = planned.first()
                && !port_requests.is_empty()
            {
                let ep = net.endpoints[&network.name].clone();
                self.publish(&mut net, network, &ep, port_requests).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            self.detach(&net).await;
            return Err(e);
        }
        tracing::debug!(
            container_id,
            netns_ms = made.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "network attached"
        );
        Ok(net)
    }

    async fn add_endpoint(
        &self,
        netns: &Path,
        network: &NetworkRecord,
        settings: &EndpointSettings,
        index: usize,
    ) -> Result<Endpoint> {
        let want = settings
            .ipam_config
            .as_ref()
            .map(|c| c.ipv4_address.as_str())
            .filter(|s| !s.is_empty())
            .map(ipam::parse_ip)
            .transpose()
            .map_err(|e| Error::BadParameter(e.to_string()))?;
        let (ip, pool_gateway, prefix_len) = {
            let mut state = self.state();
            let pool = state
                .pools
                .get_mut(&network.id)
                .ok_or_else(|| Error::NotFound(format!("network {} not found", network.name)))?;
            let ip = pool.allocate(want).map_err(|e| match e {
                ipam::IpamError::InUse(_) => Error::Conflict(e.to_string()),
                _ => Error::BadParameter(e.to_string()),
            })?;
            (ip, pool.gateway, pool.subnet.prefix_len)
        };
        let endpoint_id = crate::daemon::random_id();
        let mac = link::mac_for(ip);
        let ep = Endpoint {
            network_id: network.id.clone(),
            host_ifname: format!("myv{}", &endpoint_id[..12]),
            ifname: format!("eth{index}"),
            endpoint_id,
            ip: ip.to_string(),
            prefix_len,
            gateway: pool_gateway.to_string(),
            mac: link::format_mac(&mac),
            aliases: settings.aliases.clone().unwrap_or_default(),
        };
        let attached = self
            .links
            .attach(&link::Attachment {
                bridge: &network.bridge,
                host_ifname: &ep.host_ifname,
                netns,
                ifname: &ep.ifname,
                address: ip,
                prefix_len,
                gateway: (index == 0).then_some(pool_gateway),
                mac,
                mtu: self.config.mtu,
            })
            .await;
        if let Err(e) = attached {
            self.release(&network.id, ip);
            return Err(link_err(e));
        }
        Ok(ep)
    }

    fn release(&self, network_id: &str, ip: Ipv4Addr) {
        if let Some(pool) = self.state().pools.get_mut(network_id) {
            pool.release(ip);
        }
    }

    async fn publish(
        &self,
        net: &mut ContainerNetwork,
        network: &NetworkRecord,
        ep: &Endpoint,
        requests: &[PortRequest],
    ) -> Result<()> {
        let container_ip = ep
            .ipv4()
            .ok_or_else(|| Error::Store(format!("bad endpoint address {}", ep.ip)))?;
        for req in requests {
            let bound = ports::bind(req).map_err(Error::Conflict)?;
            let mut published = Published {
                proto: req.proto.to_string(),
                host_ip: req.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                host_port: bound.host_port,
                container_port: req.container_port,
                ipv6: bound.ipv6,
                proxy_pid: 0,
            };
            net.ports.push(published.clone());
            let rule = port_rule(&published, container_ip, &network.bridge);
            if let Some(r) = self.nat(move |n| n.add_port(&rule)).await {
                r.map_err(nat_err)?;
            }
            let proxy = self.config.proxy_path.clone();
            let p = published.clone();
            let child = tokio::task::spawn_blocking(move || {
                ports::spawn_proxy(&proxy, &p, container_ip, bound.sockets)
            })
            .await
            .map_err(Error::Handler)?
            .map_err(|e| Error::Io {
                context: "publishing a port".into(),
                source: std::io::Error::other(e),
            })?;
            published.proxy_pid = child.id().unwrap_or_default();
            self.proxies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(published.proxy_pid, child);
            if let Some(last) = net.ports.last_mut() {
                *last = published;
            }
        }
        Ok(())
    }

    /// Undoes [`attach`](Self::attach): proxies, rules, links, addresses, the namespace.
    /// Every step tolerates what is already gone.
    pub async fn detach(&self, net: &ContainerNetwork) {
        let started = std::time::Instant::now();
        let primary = net.endpoints.values().find(|e| e.ifname == "eth0");
        for p in &net.ports {
            self.stop_proxy(p).await;
            if let Some(ep) = primary
                && let Some(ip) = ep.ipv4()
            {
                let rule = port_rule(p, ip, &self.bridge_of(&ep.network_id));
                if let Some(Err(e)) = self.nat(move |n| n.remove_port(&rule)).await {
                    tracing::warn!("removing the rules of port {}: {e}", p.host_port);
                }
            }
        }
        for ep in net.endpoints.values() {
            if let Some(ip) = ep.ipv4() {
                self.release(&ep.network_id, ip);
            }
        }
        if !net.sandbox_key.is_empty() {
            let path = PathBuf::from(&net.sandbox_key);
            let removed = tokio::task::spawn_blocking(move || netns::remove(&path)).await;
            if let Ok(Err(e)) = removed {
                tracing::warn!("removing {}: {e}", net.sandbox_key);
            }
        }
        // Deleting a veth waits for an RCU grace period (15-20 ms here), so it happens
        // off the exit path. With the namespace released the kernel would destroy the
        // pair anyway; the explicit delete also covers a namespace something still holds.
        let names: Vec<String> = net
            .endpoints
            .values()
            .map(|e| e.host_ifname.clone())
            .collect();
        if !names.is_empty() {
            let links = self.links.clone();
            tokio::spawn(async move {
                for name in names {
                    if let Err(e) = links.delete_link(&name).await {
                        tracing::warn!("deleting {name}: {e}");
                    }
                }
            });
        }
        tracing::debug!(
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "network detached"
        );
    }

    fn bridge_of(&self, network_id: &str) -> String {
        self.state()
            .networks
            .get(network_id)
            .map(|n| n.bridge.clone())
            .unwrap_or_default()
    }

    async fn stop_proxy(&self, p: &Published) {
        let child = self
            .proxies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&p.proxy_pid);
        match child {
            // Our child: SIGKILL and reap, so the port is free when this returns.
            Some(mut child) => {
                let _ = child.kill().await;
            }
            None => ports::kill_adopted(p.proxy_pid, p).await,
        }
    }

    /// Adds a running container to another network (`network connect`).
    pub async fn connect(
        &self,
        net: &mut ContainerNetwork,
        network: &NetworkRecord,
        settings: &EndpointSettings,
    ) -> Result<()> {
        check_endpoint_request(network, settings)?;
        if net.sandbox_key.is_empty() {
            return Err(Error::BadParameter(
                "container sharing a network namespace cannot be connected to networks".into(),
            ));
        }
        let index = (0..)
            .find(|i| {
                !net.endpoints
                    .values()
                    .any(|e| e.ifname == format!("eth{i}"))
            })
            .unwrap_or(0);
        let ep = self
            .add_endpoint(Path::new(&net.sandbox_key), network, settings, index)
            .await?;
        net.endpoints.insert(network.name.clone(), ep);
        Ok(())
    }

    /// Takes a running container off one network (`network disconnect`).
    pub async fn disconnect(&self, net: &mut ContainerNetwork, network: &NetworkRecord) {
        if let Some(ep) = net.endpoints.remove(&network.name) {
            let single = ContainerNetwork {
                endpoints: BTreeMap::from([(network.name.clone(), ep)]),
                ..Default::default()
            };
            self.detach(&single).await;
        }
    }

    /// After an engine restart: takes the addresses of running containers, finds their
    /// proxies again (restarting dead ones) and removes what belongs to no running
    /// container (namespaces, port rules, rules of networks that are gone).
    pub async fn restore(&self, running: &mut [(String, ContainerNetwork)]) {
        for (_, net) in running.iter() {
            for ep in net.endpoints.values() {
                if let (Some(pool), Some(ip)) =
                    (self.state().pools.get_mut(&ep.network_id), ep.ipv4())
                {
                    pool.reserve(ip);
                }
            }
        }
        for (id, net) in running.iter_mut() {
            let Some(ep) = net.endpoints.values().find(|e| e.ifname == "eth0").cloned() else {
                continue;
            };
            let Some(container_ip) = ep.ipv4() else {
                continue;
            };
            for p in net.ports.iter_mut() {
                if ports::is_proxy_of(p.proxy_pid, p) {
                    continue;
                }
                tracing::info!(container_id = %id, port = p.host_port, "restarting a dead proxy");
                let req = PortRequest {
                    proto: p.proto(),
                    container_port: p.container_port,
                    host_ip: p.host_ip.parse().ok(),
                    host_ports: Some((p.host_port, p.host_port)),
                };
                let bound = match ports::bind(&req) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(container_id = %id, "re-publishing {}: {e}", p.host_port);
                        continue;
                    }
                };
                let proxy = self.config.proxy_path.clone();
                let q = p.clone();
                let spawned = tokio::task::spawn_blocking(move || {
                    ports::spawn_proxy(&proxy, &q, container_ip, bound.sockets)
                })
                .await;
                match spawned {
                    Ok(Ok(child)) => {
                        p.proxy_pid = child.id().unwrap_or_default();
                        self.proxies
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(p.proxy_pid, child);
                    }
                    Ok(Err(e)) => tracing::warn!(container_id = %id, "{e}"),
                    Err(e) => tracing::warn!(container_id = %id, "{e}"),
                }
            }
        }
        self.remove_debris(running).await;
    }

    async fn remove_debris(&self, running: &[(String, ContainerNetwork)]) {
        let keep: std::collections::HashSet<&str> = running
            .iter()
            .map(|(_, n)| n.sandbox_key.as_str())
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.netns_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if keep.contains(path.display().to_string().as_str()) {
                    continue;
                }
                tracing::info!("removing a stale network namespace {}", path.display());
                let p = path.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || netns::remove(&p)).await {
                    tracing::warn!("removing {}: {e}", path.display());
                }
            }
        }
        let mut wanted = std::collections::HashSet::new();
        for (_, net) in running {
            if let Some(ep) = net.endpoints.values().find(|e| e.ifname == "eth0")
                && let Some(ip) = ep.ipv4()
            {
                let bridge = self.bridge_of(&ep.network_id);
                for p in &net.ports {
                    wanted.insert(port_rule(p, ip, &bridge));
                }
            }
        }
        let bridges: std::collections::HashSet<String> =
            self.list().into_iter().map(|n| n.bridge).collect();
        let cleaned = self
            .nat(move |nat| {
                for r in nat.port_rules()?.into_iter().filter(|r| !wanted.contains(r)) {
                    tracing::info!(port = r.host_port, "removing a stale port rule");
                    nat.remove_port(&r)?;
                }
                for r in nat.bridge_rules()?.into_iter().filter(|r| !bridges.contains(&r.bridge)) {
                    tracing::info!(bridge = %r.bridge, "removing the rules of a network that is gone");
                    nat.remove_bridge(&r)?;
                }
                Ok(())
            })
            .await;
        if let Some(Err(e)) = cleaned {
            tracing::warn!("removing stale rules: {e}");
        }
    }

    /// At a clean shutdown with no container running, nothing of ours is needed until the
    /// next start (which makes it all again): bridges, chains and namespaces go, so a
    /// stopped engine leaves the host's network configuration as it found it. With
    /// running containers everything stays for live restore.
    pub async fn shutdown(&self, containers_running: bool) {
        if containers_running {
            return;
        }
        for n in self.list().into_iter().filter(NetworkRecord::is_bridge) {
            if let Err(e) = self.links.delete_link(&n.bridge).await {
                tracing::warn!(network = %n.name, "deleting its bridge: {e}");
            }
        }
        if let Some(Err(e)) = self.nat(|n| n.teardown()).await {
            tracing::warn!("removing our iptables chains: {e}");
        }
        self.remove_debris(&[]).await;
        tracing::info!("no container running: bridges and chains removed");
    }

    /// `NetworkSettings` of inspect for a container with `net` (empty when not running).
    pub fn settings(
        &self,
        network_mode: &str,
        requested: &NetworkingConfig,
        exposed: &BTreeMap<String, engine_api::containers::EmptyObject>,
        net: &ContainerNetwork,
    ) -> NetworkSettings {
        let mut s = NetworkSettings {
            sandbox_key: net.sandbox_key.clone(),
            sandbox_id: if net.sandbox_key.is_empty() {
                String::new()
            } else {
                Path::new(&net.sandbox_key)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            },
            ..Default::default()
        };
        for p in &net.ports {
            s.ports
                .entry(p.key())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .extend(p.bindings());
        }
        // Exposed but not published: `null`, as Docker shows them while running.
        if !net.sandbox_key.is_empty() {
            for key in exposed.keys() {
                if let Ok((port, proto)) = ports::parse_port_key(key) {
                    s.ports.entry(format!("{port}/{proto}")).or_insert(None);
                }
            }
        }
        // Networks: the live endpoints, else (stopped) the ones it would join.
        let names: Vec<String> = match Mode::parse(network_mode) {
            Mode::Host => vec!["host".into()],
            Mode::None => vec!["none".into()],
            Mode::Container(_) => Vec::new(),
            Mode::Network(n) => std::iter::once(n)
                .chain(requested.endpoints_config.keys().cloned())
                .collect(),
        };
        for name in names {
            let Ok(network) = self.find(&name) else {
                continue;
            };
            let mut e = match net.endpoints.get(&network.name) {
                Some(ep) => ep.settings(),
                None => EndpointSettings {
                    network_id: network.id.clone(),
                    ..settings_for(requested, &network).unwrap_or_default()
                },
            };
            e.network_id = network.id.clone();
            if network.is_default_bridge() {
                s.bridge.clear();
                s.ip_address = e.ip_address.clone();
                s.ip_prefix_len = e.ip_prefix_len;
                s.gateway = e.gateway.clone();
                s.mac_address = e.mac_address.clone();
                s.endpoint_id = e.endpoint_id.clone();
            }
            s.networks.insert(network.name.clone(), e);
        }
        s
    }
}

fn port_rule(p: &Published, container_ip: Ipv4Addr, bridge: &str) -> nat::PortRule {
    nat::PortRule {
        proto: p.proto(),
        host_ip: p.host_ip.parse().ok(),
        host_port: p.host_port,
        container_ip,
        container_port: p.container_port,
        bridge: bridge.to_owned(),
    }
}

/// The request's endpoint settings for `network`, whichever way it was named.
fn settings_for(requested: &NetworkingConfig, network: &NetworkRecord) -> Option<EndpointSettings> {
    requested
        .endpoints_config
        .iter()
        .find(|(k, _)| {
            *k == &network.name
                || *k == &network.id
                || (network.is_default_bridge()
                    && (k.as_str() == "default" || k.as_str() == "bridge"))
        })
        .map(|(_, v)| v.clone())
}

/// Docker's rules: a fixed address and aliases only on user-defined networks.
pub fn check_endpoint_request(network: &NetworkRecord, s: &EndpointSettings) -> Result<()> {
    let fixed_ip = s
        .ipam_config
        .as_ref()
        .is_some_and(|c| !c.ipv4_address.is_empty() || !c.ipv6_address.is_empty());
    if network.is_default_bridge() || !network.is_bridge() {
        if fixed_ip {
            return Err(Error::BadParameter(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if s.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(Error::BadParameter(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
    }
    if let Some(c) = &s.ipam_config
        && !c.ipv6_address.is_empty()
    {
        return Err(Error::NotImplemented("IPv6 addresses".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse(""), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("default"), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("host"), Mode::Host);
        assert_eq!(Mode::parse("none"), Mode::None);
        assert_eq!(Mode::parse("container:abc"), Mode::Container("abc".into()));
        assert_eq!(Mode::parse("web"), Mode::Network("web".into()));
    }

    #[test]
    fn fixed_addresses_only_on_user_networks() {
        let bridge = NetworkRecord {
            name: "bridge".into(),
            driver: "bridge".into(),
            ..Default::default()
        };
        let user = NetworkRecord {
            name: "web".into(),
            driver: "bridge".into(),
            ..Default::default()
        };
        let s = EndpointSettings {
            ipam_config: Some(engine_api::containers::EndpointIpamConfig {
                ipv4_address: "10.0.0.5".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check_endpoint_request(&bridge, &s).is_err());
        assert!(check_endpoint_request(&user, &s).is_ok());
        let a = EndpointSettings {
            aliases: Some(vec!["w".into()]),
            ..Default::default()
        };
        assert!(check_endpoint_request(&bridge, &a).is_err());
    }
}
