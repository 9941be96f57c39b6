//! Networks: `GET /networks`, `GET /networks/{id}`, create, connect, disconnect and prune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::EndpointSettings;
use crate::de;

/// One network, as list and inspect show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    pub name: String,
    pub id: String,
    /// RFC 3339.
    pub created: String,
    /// `local` for every network of ours.
    pub scope: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub config_from: ConfigReference,
    pub config_only: bool,
    /// Container ID → its endpoint; filled by inspect (list leaves it empty, as Docker).
    #[serde(deserialize_with = "de::null_default")]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(deserialize_with = "de::null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "de::null_default")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigReference {
    pub network: String,
}

/// `IPAM`: the address pools of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipam {
    pub driver: String,
    #[serde(deserialize_with = "de::null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "de::null_default")]
    pub config: Vec<IpamConfig>,
}

/// One pool: `Subnet` in CIDR form, its `Gateway`, and an optional `IPRange` to allocate from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(
        deserialize_with = "de::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// A container's entry in `Containers` of network inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    /// CIDR form, e.g. `10.210.0.2/16`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// The body of `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateNetworkRequest {
    pub name: String,
    /// Ignored since API 1.44 (names are always checked); kept so old clients decode.
    pub check_duplicate: bool,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: Option<bool>,
    #[serde(deserialize_with = "de::null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "de::null_default")]
    pub labels: BTreeMap<String, String>,
}

/// The answer of `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateNetworkResponse {
    pub id: String,
    pub warning: String,
}

/// The body of `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectRequest {
    pub container: String,
    pub endpoint_config: Option<EndpointSettings>,
}

/// The body of `POST /networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectRequest {
    pub container: String,
    pub force: bool,
}

/// The answer of `POST /networks/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PruneResponse {
    #[serde(deserialize_with = "de::null_default")]
    pub networks_deleted: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_as_the_docker_cli_sends_it() {
        let body = r#"{"Name":"web","CheckDuplicate":true,"Driver":"bridge","Scope":"",
            "EnableIPv6":null,"IPAM":{"Driver":"default","Options":{},"Config":[
            {"Subnet":"10.99.0.0/24","Gateway":"10.99.0.1"}]},"Internal":false,
            "Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,
            "Options":{},"Labels":{"a":"b"}}"#;
        let r: CreateNetworkRequest = serde_json::from_str(body).unwrap();
        assert_eq!(r.name, "web");
        let ipam = r.ipam.unwrap();
        assert_eq!(ipam.config[0].subnet, "10.99.0.0/24");
        assert_eq!(ipam.config[0].gateway, "10.99.0.1");
        assert_eq!(r.labels["a"], "b");
    }

    #[test]
    fn network_spelling() {
        let n = Network {
            name: "bridge".into(),
            ipam: Ipam {
                driver: "default".into(),
                config: vec![IpamConfig {
                    subnet: "10.210.0.0/16".into(),
                    gateway: "10.210.0.1".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v["IPAM"]["Config"][0]["Subnet"], "10.210.0.0/16");
        assert!(v["IPAM"]["Config"][0].get("IPRange").is_none());
        assert_eq!(v["EnableIPv6"], false);
        assert!(v["Containers"].is_object());
    }
}
