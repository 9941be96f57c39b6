//! Images: list, inspect, delete answers and the JSON progress messages of pulls and loads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::Config;
use crate::de;

/// One entry of `GET /images/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    #[serde(deserialize_with = "de::null_default")]
    pub repo_tags: Vec<String>,
    #[serde(deserialize_with = "de::null_default")]
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    pub size: i64,
    pub shared_size: i64,
    #[serde(deserialize_with = "de::null_default")]
    pub labels: BTreeMap<String, String>,
    pub containers: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(deserialize_with = "de::null_default")]
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// `GET /images/{name}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageInspect {
    pub id: String,
    #[serde(deserialize_with = "de::null_default")]
    pub repo_tags: Vec<String>,
    #[serde(deserialize_with = "de::null_default")]
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    /// RFC 3339.
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub config: Option<Config>,
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
    pub os: String,
    pub size: i64,
    pub graph_driver: crate::containers::GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: ImageMetadata,
}

/// One entry of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HistoryItem {
    /// The image ID on the top entry, `<missing>` on the others.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// The image's tags on the top entry; null elsewhere.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub tags: Vec<String>,
    pub size: i64,
    pub comment: String,
}

/// The answer of `POST /images/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImagePruneResponse {
    #[serde(deserialize_with = "crate::de::null_default")]
    pub images_deleted: Vec<DeleteItem>,
    pub space_reclaimed: u64,
}

/// One entry of `DELETE /images/{name}`'s answer: either field is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub message: String,
}

/// One line of a JSON progress stream (`POST /images/create`, `POST /images/load`):
/// Docker's `jsonmessage.JSONMessage`, whose fields are lower case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JsonMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

impl JsonMessage {
    pub fn status(id: Option<&str>, status: impl Into<String>) -> JsonMessage {
        JsonMessage {
            status: Some(status.into()),
            id: id.map(str::to_owned),
            ..Default::default()
        }
    }

    /// An error line; a client stops and reports `message`.
    pub fn error(message: impl Into<String>) -> JsonMessage {
        let message = message.into();
        JsonMessage {
            error_detail: Some(ErrorDetail {
                code: None,
                message: message.clone(),
            }),
            error: Some(message),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_lower_case() {
        let line =
            serde_json::to_string(&JsonMessage::status(Some("abc"), "Pull complete")).unwrap();
        assert_eq!(line, r#"{"status":"Pull complete","id":"abc"}"#);
        let e = serde_json::to_value(JsonMessage::error("boom")).unwrap();
        assert_eq!(e["error"], "boom");
        assert_eq!(e["errorDetail"]["message"], "boom");
    }

    #[test]
    fn inspect_spelling() {
        let v = serde_json::to_value(ImageInspect::default()).unwrap();
        assert!(v["RootFS"]["Layers"].is_array());
        assert!(v["Config"].is_null());
    }
}
