//! `GET /events`: one JSON object per line, as Docker's `events.Message`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who an event is about: a container's ID, an image's reference, a network's ID, a
/// volume's name; `Attributes` carry names, labels and e.g. a container's `exitCode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One event. `status`, `id` and `from` are the pre-1.22 fields Docker still sends for
/// container and image events (the docker CLI's default format reads the new ones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `container`, `image`, `network`, `volume`, `daemon`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// Always `local` here.
    pub scope: String,
    /// Seconds since the epoch.
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spelling() {
        let m = Message {
            status: "start".into(),
            id: "abc".into(),
            from: "busybox".into(),
            kind: "container".into(),
            action: "start".into(),
            actor: Actor {
                id: "abc".into(),
                attributes: [("name".to_string(), "web".to_string())].into(),
            },
            scope: "local".into(),
            time: 1,
            time_nano: 1_000_000_001,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Actor"]["ID"], "abc");
        assert_eq!(v["Actor"]["Attributes"]["name"], "web");
        assert_eq!(v["timeNano"], 1_000_000_001i64);
        let back: Message = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        let network = Message {
            kind: "network".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&network).unwrap();
        assert!(v.get("status").is_none() && v.get("from").is_none());
    }
}
