//! The Docker Engine API as both ends of it see it: the JSON bodies of requests and
//! responses, the `filters` query parameter, the multiplexed stream framing of attach,
//! logs and exec, and detach-key sequences. myengined serves these and mycli sends them,
//! so a field added here is spelled the same on both sides.
//!
//! Field names follow the API's (PascalCase, as in `docs/api/v1.47.yaml` of moby). Every
//! struct tolerates unknown fields and missing ones, because clients of every API version
//! talk to us; values that the API allows to be `null` are `Option`s.

pub mod containers;
pub mod events;
pub mod exec;
pub mod filters;
pub mod images;
pub mod networks;
pub mod stats;
pub mod stream;
pub mod system;
pub mod volumes;

mod de;

use serde::{Deserialize, Serialize};

/// The newest API version we speak; what `/_ping`'s `Api-Version` header and `/version` say.
pub const API_VERSION: &str = "1.47";
/// The oldest API version we accept in a `/vNN.NN/` path prefix.
pub const MIN_API_VERSION: &str = "1.24";

/// The body of every error response: `{"message": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}

/// `POST /containers/create` and `POST /exec` answer with an ID and warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IdResponse {
    pub id: String,
    #[serde(deserialize_with = "de::null_default")]
    pub warnings: Vec<String>,
}

/// Compares two dotted API versions (`"1.41"` < `"1.47"`); unparsable parts count as 0.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parts(a), parts(b));
    let len = a.len().max(b.len());
    for i in 0..len {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            std::cmp::Ordering::Equal => continue,
            other => return other,
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("1.41", "1.47"), Ordering::Less);
        assert_eq!(compare_versions("1.9", "1.10"), Ordering::Less);
        assert_eq!(compare_versions("1.47", "1.47.0"), Ordering::Equal);
        assert_eq!(compare_versions("2.0", "1.99"), Ordering::Greater);
    }

    #[test]
    fn id_response_spelling() {
        let r = IdResponse {
            id: "abc".into(),
            warnings: vec![],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"Id":"abc","Warnings":[]}"#
        );
        let r: IdResponse = serde_json::from_str(r#"{"Id":"x","Warnings":null}"#).unwrap();
        assert_eq!(r.id, "x");
        assert!(r.warnings.is_empty());
    }
}
