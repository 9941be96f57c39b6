//! The `filters` query parameter: a JSON object from filter name to values, either
//! `{"status":["running"]}` or, as older clients and the current CLI send it,
//! `{"status":{"running":true}}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// Filter name → accepted values (a value matches if any of them does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, BTreeSet<String>>);

impl Filters {
    /// Parses the query value; an empty string means no filters.
    pub fn parse(text: &str) -> Result<Filters, String> {
        if text.trim().is_empty() {
            return Ok(Filters::default());
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Values {
            List(Vec<String>),
            Set(BTreeMap<String, bool>),
        }
        let raw: BTreeMap<String, Values> =
            serde_json::from_str(text).map_err(|e| format!("invalid filter: {e}"))?;
        let map = raw
            .into_iter()
            .map(|(k, v)| {
                let values = match v {
                    Values::List(l) => l.into_iter().collect(),
                    Values::Set(s) => s
                        .into_iter()
                        .filter(|(_, on)| *on)
                        .map(|(k, _)| k)
                        .collect(),
                };
                (k, values)
            })
            .collect();
        Ok(Filters(map))
    }

    /// Fails with Docker's message for the first filter name not in `allowed`.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), String> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("invalid filter '{k}'")),
            None => Ok(()),
        }
    }

    pub fn add(&mut self, name: &str, value: &str) {
        self.0
            .entry(name.to_owned())
            .or_default()
            .insert(value.to_owned());
    }

    /// The values given for `name`, sorted (none when the filter is absent).
    pub fn get(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.get(name).into_iter().flatten().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `name` is absent or `test` holds for one of its values.
    pub fn matches(&self, name: &str, test: impl Fn(&str) -> bool) -> bool {
        match self.0.get(name) {
            None => true,
            Some(values) => values.iter().any(|v| test(v)),
        }
    }

    /// True when every `label` filter (`key` or `key=value`) holds for `labels`.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.get("label").all(|f| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(f),
        })
    }

    /// The query value, in the `{"name":{"value":true}}` form every API version reads.
    pub fn to_query(&self) -> String {
        let map: BTreeMap<&String, BTreeMap<&String, bool>> = self
            .0
            .iter()
            .map(|(k, vs)| (k, vs.iter().map(|v| (v, true)).collect()))
            .collect();
        serde_json::to_string(&map).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse() {
        let a = Filters::parse(r#"{"status":["running","exited"]}"#).unwrap();
        let b = Filters::parse(r#"{"status":{"running":true,"exited":true}}"#).unwrap();
        assert_eq!(a, b);
        assert!(a.matches("status", |s| s == "exited"));
        assert!(a.matches("name", |_| false), "absent filters match");
        assert!(Filters::parse("").unwrap().is_empty());
        assert!(Filters::parse("{bad").is_err());
    }

    #[test]
    fn unknown_names_are_rejected() {
        let f = Filters::parse(r#"{"colour":["red"]}"#).unwrap();
        assert_eq!(
            f.validate(&["status"]).unwrap_err(),
            "invalid filter 'colour'"
        );
    }

    #[test]
    fn labels_and_query_round_trip() {
        let mut f = Filters::default();
        f.add("label", "owner");
        f.add("label", "tier=web");
        let labels: BTreeMap<String, String> =
            [("tier".into(), "web".into()), ("owner".into(), "me".into())].into();
        assert!(f.matches_labels(&labels));
        let other: BTreeMap<String, String> = [("tier".into(), "db".into())].into();
        assert!(!f.matches_labels(&other));
        assert_eq!(Filters::parse(&f.to_query()).unwrap(), f);
    }
}
