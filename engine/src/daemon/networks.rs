//! Networks as the daemon uses them: the checks at create, the plumbing at start and
//! exit, the `/etc/hosts` of containers on user-defined networks (kept current as
//! members come and go, so they find each other by name), and the `/networks` API.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use engine_api::containers::{EndpointSettings, HostConfig, NetworkingConfig};
use engine_api::filters::Filters;
use engine_api::networks::{
    ConnectRequest, CreateNetworkRequest, CreateNetworkResponse, DisconnectRequest, Network,
    NetworkContainer, PruneResponse,
};

use super::{Container, Daemon, etc_files};
use crate::error::{Error, Result};
use crate::network::{ContainerNetwork, Mode, NetworkRecord, ports};
use crate::store::{ContainerRecord, Status};

impl Daemon {
    /// Checks the network part of a create request and names the network namespace the
    /// spec joins (`None`: the host's). Normalises the endpoint keys to network names.
    pub(crate) fn network_for_create(
        &self,
        id: &str,
        host_config: &HostConfig,
        networking: &mut NetworkingConfig,
    ) -> Result<Option<PathBuf>> {
        ports::requests(
            &host_config.port_bindings,
            host_config.publish_all_ports,
            &BTreeMap::new(),
        )
        .map_err(Error::BadParameter)?;
        let mut named = BTreeMap::new();
        for (key, settings) in std::mem::take(&mut networking.endpoints_config) {
            let n = self.network.find(&key)?;
            named.insert(n.name, settings);
        }
        networking.endpoints_config = named;
        match Mode::parse(&host_config.network_mode) {
            Mode::Host => {
                if networking.endpoints_config.keys().any(|k| k != "host") {
                    return Err(Error::BadParameter(
                        "container cannot be disconnected from host network or connected to host network".into(),
                    ));
                }
                Ok(None)
            }
            Mode::Container(reference) => {
                let other = self.find_container(&reference)?;
                if other.id == id {
                    return Err(Error::BadParameter(
                        "cannot join own network namespace".into(),
                    ));
                }
                if matches!(
                    Mode::parse(&other.record().host_config.network_mode),
                    Mode::Host | Mode::Container(_)
                ) {
                    return Err(Error::BadParameter(format!(
                        "cannot join the network namespace of container {reference}: it has none of its own"
                    )));
                }
                Ok(Some(self.network.netns_path(&other.id)))
            }
            Mode::None => {
                if networking.endpoints_config.keys().any(|k| k != "none") {
                    return Err(Error::BadParameter(
                        "container cannot be connected to network none and another network".into(),
                    ));
                }
                Ok(Some(self.network.netns_path(id)))
            }
            Mode::Network(_) => {
                self.network
                    .planned(&host_config.network_mode, networking)?;
                Ok(Some(self.network.netns_path(id)))
            }
        }
    }

    /// At start, before the task: the namespace, links, addresses and published ports,
    /// written to the record before anything runs (so a crash leaves nothing unowned),
    /// then the hosts files of everyone on the same networks.
    pub(crate) async fn start_network(&self, c: &Container) -> Result<()> {
        let record = c.record();
        if let Mode::Container(reference) = Mode::parse(&record.host_config.network_mode) {
            let other = self.find_container(&reference)?;
            if !other.is_running() {
                return Err(Error::Conflict(format!(
                    "cannot join network namespace of a non running container: {reference}"
                )));
            }
        }
        let requests = ports::requests(
            &record.host_config.port_bindings,
            record.host_config.publish_all_ports,
            &record.config.exposed_ports,
        )
        .map_err(Error::BadParameter)?;
        let net = self
            .network
            .attach(
                &c.id,
                &record.host_config.network_mode,
                &record.networking_config,
                &requests,
            )
            .await?;
        let record = c.update(|r| r.network = net.clone());
        if let Err(e) = self.store.put(&record) {
            self.stop_network(c).await;
            return Err(e);
        }
        self.refresh_hosts(&record, &network_ids(&net));
        self.network_endpoints_event(&c.id, network_ids(&net), "connect");
        Ok(())
    }

    /// Undoes [`start_network`](Self::start_network) (the caller stores the record).
    pub(crate) async fn stop_network(&self, c: &Container) {
        let net = c.record().network;
        if net.is_empty() {
            return;
        }
        self.network.detach(&net).await;
        self.network_endpoints_event(&c.id, network_ids(&net), "disconnect");
        let record = c.update(|r| r.network = ContainerNetwork::default());
        self.refresh_hosts(&record, &network_ids(&net));
    }

    /// Rewrites the hosts file of `changed` and of every running container sharing one
    /// of `networks` with it (user-defined networks only: the default bridge has no name
    /// resolution, as Docker's).
    pub(super) fn refresh_hosts(&self, changed: &ContainerRecord, networks: &BTreeSet<String>) {
        let user: BTreeSet<String> = networks
            .iter()
            .filter(|id| {
                self.network
                    .find(id)
                    .is_ok_and(|n| n.is_bridge() && !n.is_default_bridge())
            })
            .cloned()
            .collect();
        let running: Vec<ContainerRecord> = self
            .all_containers()
            .iter()
            .map(|c| c.record())
            .filter(|r| r.state.status == Status::Running || r.id == changed.id)
            .collect();
        for r in &running {
            let shares = r
                .network
                .endpoints
                .values()
                .any(|e| user.contains(&e.network_id));
            if r.id == changed.id || shares {
                self.write_hosts(r, &running);
            }
        }
    }

    fn write_hosts(&self, r: &ContainerRecord, running: &[ContainerRecord]) {
        let mine: BTreeSet<&str> = r
            .network
            .endpoints
            .values()
            .filter(|e| {
                self.network
                    .find(&e.network_id)
                    .is_ok_and(|n| !n.is_default_bridge())
            })
            .map(|e| e.network_id.as_str())
            .collect();
        let mut peers: Vec<(IpAddr, String)> = Vec::new();
        for other in running
            .iter()
            .filter(|o| o.id != r.id && !o.network.is_empty())
        {
            for ep in other.network.endpoints.values() {
                if !mine.contains(ep.network_id.as_str()) {
                    continue;
                }
                let Ok(ip) = ep.ip.parse::<IpAddr>() else {
                    continue;
                };
                let mut names = vec![other.name.clone()];
                names.extend(ep.aliases.iter().cloned());
                if !other.config.hostname.is_empty() && !names.contains(&other.config.hostname) {
                    names.push(other.config.hostname.clone());
                }
                peers.push((ip, names.join(" ")));
            }
        }
        let own_ip = r
            .network
            .endpoints
            .values()
            .find(|e| e.ifname == "eth0")
            .and_then(|e| e.ip.parse().ok());
        let extra = etc_files::Extra {
            container_ip: own_ip,
            extra_hosts: r.host_config.extra_hosts.as_deref().unwrap_or_default(),
            peers: &peers,
            ..Default::default()
        };
        let dir = self.container_dir(&r.id);
        if let Err(e) = etc_files::rewrite_hosts(
            &dir,
            &r.config.hostname,
            &r.host_config.network_mode,
            &extra,
        ) {
            tracing::warn!(container_id = %r.id, "writing /etc/hosts: {e}");
        }
    }

    /// Running containers with an endpoint on `network`.
    fn members(&self, network: &NetworkRecord) -> Vec<ContainerRecord> {
        self.all_containers()
            .iter()
            .map(|c| c.record())
            .filter(|r| {
                r.state.status == Status::Running
                    && r.network
                        .endpoints
                        .values()
                        .any(|e| e.network_id == network.id)
            })
            .collect()
    }

    fn network_api(&self, n: &NetworkRecord, with_containers: bool) -> Network {
        let mut containers = BTreeMap::new();
        if with_containers {
            for r in self.members(n) {
                if let Some(ep) = r.network.endpoints.get(&n.name) {
                    containers.insert(
                        r.id.clone(),
                        NetworkContainer {
                            name: r.name.clone(),
                            endpoint_id: ep.endpoint_id.clone(),
                            mac_address: ep.mac.clone(),
                            ipv4_address: format!("{}/{}", ep.ip, ep.prefix_len),
                            ipv6_address: String::new(),
                        },
                    );
                }
            }
        }
        n.to_api(containers)
    }

    /// `GET /networks`: filters `driver`, `id`, `label`, `name`, `scope`, `type`.
    pub fn list_networks(&self, filters: &Filters) -> Result<Vec<Network>> {
        filters
            .validate(&["dangling", "driver", "id", "label", "name", "scope", "type"])
            .map_err(Error::BadParameter)?;
        for t in filters.get("type") {
            if t != "custom" && t != "builtin" {
                return Err(Error::BadParameter(format!("invalid filter: 'type'='{t}'")));
            }
        }
        let mut out = Vec::new();
        for n in self.network.list() {
            let keep = filters.matches("driver", |d| d == n.driver)
                && filters.matches("id", |i| n.id.starts_with(i))
                && filters.matches("name", |v| n.name.contains(v))
                && filters.matches("scope", |s| s == "local")
                && filters.matches("type", |t| (t == "builtin") == n.is_predefined())
                && filters.matches_labels(&n.labels)
                && filters.matches("dangling", |d| {
                    let dangling = !n.is_predefined() && self.members(&n).is_empty();
                    (d == "true" || d == "1") == dangling
                });
            if keep {
                out.push(self.network_api(&n, false));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `GET /networks/{id}`.
    pub fn inspect_network(&self, reference: &str) -> Result<Network> {
        let n = self.network.find(reference)?;
        Ok(self.network_api(&n, true))
    }

    /// `POST /networks/create`.
    pub async fn create_network(
        &self,
        req: &CreateNetworkRequest,
    ) -> Result<CreateNetworkResponse> {
        let record = self.network.create(req).await?;
        if let Err(e) = self.store.put_network(&record) {
            let _ = self.network.remove(&record).await;
            return Err(e);
        }
        tracing::info!(network = %record.name, subnet = %record.subnet, "network created");
        self.network_event(&record, "create", None);
        Ok(CreateNetworkResponse {
            id: record.id,
            warning: String::new(),
        })
    }

    /// `DELETE /networks/{id}`: refused while a running container is on it.
    pub async fn remove_network(&self, reference: &str) -> Result<()> {
        let n = self.network.find(reference)?;
        if n.is_predefined() {
            return Err(Error::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                n.name
            )));
        }
        if !self.members(&n).is_empty() {
            return Err(Error::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        self.store.delete_network(&n.id)?;
        self.network.remove(&n).await?;
        tracing::info!(network = %n.name, "network removed");
        self.network_event(&n, "destroy", None);
        Ok(())
    }

    /// `POST /networks/prune`: every user-defined network without running containers.
    pub async fn prune_networks(&self, filters: &Filters) -> Result<PruneResponse> {
        filters
            .validate(&["label", "label!"])
            .map_err(Error::BadParameter)?;
        let mut deleted = Vec::new();
        for n in self.network.list() {
            if n.is_predefined() || !filters.matches_labels(&n.labels) {
                continue;
            }
            let excluded = filters.get("label!").any(|l| match l.split_once('=') {
                Some((k, v)) => n.labels.get(k).is_some_and(|x| x == v),
                None => n.labels.contains_key(l),
            });
            if excluded || !self.members(&n).is_empty() {
                continue;
            }
            match self.remove_network(&n.id).await {
                Ok(()) => deleted.push(n.name.clone()),
                Err(e) => tracing::warn!(network = %n.name, "prune: {e}"),
            }
        }
        Ok(PruneResponse {
            networks_deleted: deleted,
        })
    }

    /// `POST /networks/{id}/connect`: recorded for the next start, and joined now when
    /// the container runs.
    pub async fn connect_network(&self, reference: &str, req: &ConnectRequest) -> Result<()> {
        let n = self.network.find(reference)?;
        let c = self.find_container(&req.container)?;
        let settings = req.endpoint_config.clone().unwrap_or_default();
        crate::network::check_endpoint_request(&n, &settings)?;
        let _op = c.op.lock().await;
        let record = c.record();
        match Mode::parse(&record.host_config.network_mode) {
            Mode::Host | Mode::None | Mode::Container(_) => {
                return Err(Error::BadParameter(format!(
                    "container sharing network namespace with another container or host cannot be connected to any other network (network mode {})",
                    record.host_config.network_mode
                )));
            }
            Mode::Network(primary) => {
                let primary = self.network.find(&primary)?;
                if primary.id == n.id
                    || record
                        .networking_config
                        .endpoints_config
                        .contains_key(&n.name)
                {
                    return Err(Error::Forbidden(format!(
                        "endpoint with name {} already exists in network {}",
                        record.name, n.name
                    )));
                }
            }
        }
        if !n.is_bridge() {
            return Err(Error::BadParameter(format!(
                "container cannot be connected to network {}",
                n.name
            )));
        }
        if c.is_running() {
            let mut net = record.network.clone();
            self.network.connect(&mut net, &n, &settings).await?;
            let updated = c.update(|r| {
                r.network = net.clone();
                r.networking_config
                    .endpoints_config
                    .insert(n.name.clone(), settings.clone());
            });
            self.store.put(&updated)?;
            self.refresh_hosts(&updated, &BTreeSet::from([n.id.clone()]));
            self.network_event(&n, "connect", Some(&c.id));
        } else {
            let updated = c.update(|r| {
                r.networking_config
                    .endpoints_config
                    .insert(n.name.clone(), settings.clone());
            });
            self.store.put(&updated)?;
        }
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(&self, reference: &str, req: &DisconnectRequest) -> Result<()> {
        let n = self.network.find(reference)?;
        let c = self.find_container(&req.container)?;
        let _op = c.op.lock().await;
        let record = c.record();
        let primary = match Mode::parse(&record.host_config.network_mode) {
            Mode::Network(p) => self.network.find(&p).ok(),
            _ => None,
        };
        let on_it = record
            .networking_config
            .endpoints_config
            .contains_key(&n.name)
            || primary.as_ref().is_some_and(|p| p.id == n.id);
        if !on_it {
            return Err(Error::Forbidden(format!(
                "container {} is not connected to network {}",
                record.id, n.name
            )));
        }
        if primary.as_ref().is_some_and(|p| p.id == n.id) {
            return Err(Error::NotImplemented(
                "disconnecting a container from its primary network".into(),
            ));
        }
        let mut net = record.network.clone();
        self.network.disconnect(&mut net, &n).await;
        if c.is_running() {
            self.network_event(&n, "disconnect", Some(&c.id));
        }
        let updated = c.update(|r| {
            r.network = net.clone();
            r.networking_config.endpoints_config.remove(&n.name);
        });
        self.store.put(&updated)?;
        self.refresh_hosts(&updated, &BTreeSet::from([n.id.clone()]));
        Ok(())
    }

    /// `NetworkSettings` of a container's inspect.
    pub fn network_settings(&self, r: &ContainerRecord) -> engine_api::containers::NetworkSettings {
        self.network.settings(
            &r.host_config.network_mode,
            &r.networking_config,
            &r.config.exposed_ports,
            &r.network,
        )
    }

    /// Networks of `ps`: by name.
    pub fn summary_networks(&self, r: &ContainerRecord) -> BTreeMap<String, EndpointSettings> {
        self.network_settings(r).networks
    }
}

pub(super) fn network_ids(net: &ContainerNetwork) -> BTreeSet<String> {
    net.endpoints
        .values()
        .map(|e| e.network_id.clone())
        .collect()
}
