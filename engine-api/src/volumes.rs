//! Volumes: `GET /volumes`, `GET /volumes/{name}`, `POST /volumes/create` and
//! `POST /volumes/prune` (moby's `api/types/volume`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use crate::de;

/// One volume, as list, inspect and create show it. Fields are in the order Go prints
/// them, so an inspect that prints the daemon's JSON reads like docker's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    /// RFC 3339, seconds precision.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// `local` for every volume of ours.
    pub driver: String,
    /// `null` when the volume was made without labels (Go's nil map).
    pub labels: Option<BTreeMap<String, String>>,
    /// Where the data lives on the host: `<data-root>/volumes/<name>/_data`.
    pub mountpoint: String,
    pub name: String,
    /// The driver options it was created with (`type`, `device`, `o`); `null` when none.
    pub options: Option<BTreeMap<String, String>>,
    /// `local`.
    pub scope: String,
    /// Driver-specific status; the local driver has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    /// Filled by `GET /system/df` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<UsageData>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UsageData {
    /// Containers referring to the volume; -1 when unknown.
    pub ref_count: i64,
    /// Bytes used; -1 when unknown.
    pub size: i64,
}

/// The body of `POST /volumes/create`. Every field may be left out: no name makes an
/// anonymous volume with a random 64-hex name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeCreateRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// Kept as given (`None` for absent or `null`), so inspect shows `null` or `{}` as
    /// docker does for the same request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The answer of `GET /volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeListResponse {
    #[serde(deserialize_with = "de::null_default")]
    pub volumes: Vec<Volume>,
    /// `null` when there are none, as docker sends it.
    #[serde(
        deserialize_with = "de::null_default",
        serialize_with = "null_when_empty"
    )]
    pub warnings: Vec<String>,
}

/// The answer of `POST /volumes/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumePruneResponse {
    #[serde(deserialize_with = "de::null_default")]
    pub volumes_deleted: Vec<String>,
    pub space_reclaimed: u64,
}

fn null_when_empty<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    if v.is_empty() {
        s.serialize_none()
    } else {
        v.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_spelling_and_order_follow_docker() {
        let v = Volume {
            created_at: "2026-01-02T03:04:05Z".into(),
            driver: "local".into(),
            mountpoint: "/var/lib/myengine/volumes/data/_data".into(),
            name: "data".into(),
            scope: "local".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"CreatedAt":"2026-01-02T03:04:05Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/myengine/volumes/data/_data","Name":"data","Options":null,"Scope":"local"}"#
        );
        let back: Volume = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn create_request_as_clients_send_it() {
        // docker 28 leaves empty maps out; older clients send them as `{}`.
        let r: VolumeCreateRequest = serde_json::from_str(r#"{"Driver":"local"}"#).unwrap();
        assert_eq!(r.labels, None);
        assert_eq!(r.name, "");
        let r: VolumeCreateRequest = serde_json::from_str(
            r#"{"Name":"x","Driver":"local","DriverOpts":{},"Labels":{"a":"b"}}"#,
        )
        .unwrap();
        assert_eq!(r.driver_opts, Some(BTreeMap::new()));
        assert_eq!(r.labels.unwrap()["a"], "b");
        assert_eq!(
            serde_json::to_string(&VolumeCreateRequest {
                name: "x".into(),
                ..Default::default()
            })
            .unwrap(),
            r#"{"Name":"x"}"#
        );
    }

    #[test]
    fn list_and_prune_answers() {
        let l = VolumeListResponse::default();
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"Volumes":[],"Warnings":null}"#
        );
        let l: VolumeListResponse =
            serde_json::from_str(r#"{"Volumes":null,"Warnings":null}"#).unwrap();
        assert!(l.volumes.is_empty());
        let p: VolumePruneResponse =
            serde_json::from_str(r#"{"VolumesDeleted":null,"SpaceReclaimed":0}"#).unwrap();
        assert!(p.volumes_deleted.is_empty());
        assert_eq!(
            serde_json::to_string(&VolumePruneResponse {
                volumes_deleted: vec!["a".into()],
                space_reclaimed: 4096
            })
            .unwrap(),
            r#"{"VolumesDeleted":["a"],"SpaceReclaimed":4096}"#
        );
    }
}
