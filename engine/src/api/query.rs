//! Query strings: `a=1&b=x%20y`, with Docker's notion of a true boolean.

use std::collections::HashMap;

use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(text: &str) -> Query {
        Query(
            text.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Docker's `BoolValue`: anything but absent, "", "0", "no", "false", "none" is true.
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            )
        })
    }

    /// An integer parameter; a malformed one is a 400.
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::BadParameter(format!("invalid value for {key}: {v:?}"))),
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let q = Query::parse("name=a%2Fb&all=1&force=false&t=5&x=%zz&f=%7B%22a%22%3A1%7D");
        assert_eq!(q.get("name"), Some("a/b"));
        assert!(q.bool("all"));
        assert!(!q.bool("force"));
        assert!(!q.bool("missing"));
        assert_eq!(q.int("t").unwrap(), Some(5));
        assert_eq!(q.get("x"), Some("%zz"));
        assert_eq!(q.get("f"), Some("{\"a\":1}"));
        assert!(Query::parse("t=abc").int("t").is_err());
    }
}
