//! JSON as ctr prints it: fields in declaration order (Go structs), Go's escaping,
//! and encoding/json's two layouts (compact, and `MarshalIndent`).
//!
//! `serde_json::Value` sorts object keys, so this is a small value type of our own
//! that keeps them in order, also when parsing a stored spec.

use std::fmt::Write as _;

use prost_types::{Any, Timestamp};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their field order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number, written as given.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses `text`, keeping object fields in document order.
    pub fn parse(text: &[u8]) -> Result<Json, serde_json::Error> {
        serde_json::from_slice(text)
    }

    pub fn str(value: impl Into<String>) -> Json {
        Json::String(value.into())
    }

    pub fn uint(value: u64) -> Json {
        Json::Number(value.to_string())
    }

    pub fn int(value: i64) -> Json {
        Json::Number(value.to_string())
    }

    /// A string map; Go sorts map keys when encoding.
    pub fn map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> Json {
        let mut fields: Vec<(String, Json)> = entries
            .into_iter()
            .map(|(k, v)| (k.clone(), Json::str(v)))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Json::Object(fields)
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets the field `key` of an object (replacing it where it is, else appending).
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(fields) = self {
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => fields.push((key.to_owned(), value)),
            }
        }
    }

    /// Removes the field `key` of an object.
    pub fn remove(&mut self, key: &str) {
        if let Json::Object(fields) = self {
            fields.retain(|(k, _)| k != key);
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Go's `json.Marshal` layout.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// Go's `json.MarshalIndent(v, "", indent)` layout.
    pub fn indented(&self, indent: &str) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(indent), 0);
        out
    }

    fn write(&self, out: &mut String, indent: Option<&str>, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            if let Some(indent) = indent {
                out.push('\n');
                for _ in 0..depth {
                    out.push_str(indent);
                }
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    write_string(out, key);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

/// A JSON string as Go's encoding/json writes it (HTML-safe, as `json.Marshal` is).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::uint(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::int(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::str(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last one wins, as in Go.
            fields.retain(|(k, _)| k != &key);
            fields.push((key, value));
        }
        Ok(Json::Object(fields))
    }
}

/// Builds a Go struct's JSON: fields in order, `omitempty` ones left out when empty.
#[derive(Default)]
pub(crate) struct Obj(Vec<(String, Json)>);

impl Obj {
    pub fn new() -> Obj {
        Obj::default()
    }

    /// A field written whatever its value.
    pub fn field(mut self, key: &str, value: Json) -> Obj {
        self.0.push((key.to_owned(), value));
        self
    }

    /// An `omitempty` string.
    pub fn str(self, key: &str, value: &str) -> Obj {
        if value.is_empty() {
            self
        } else {
            self.field(key, Json::str(value))
        }
    }

    /// An `omitempty` unsigned number.
    pub fn uint(self, key: &str, value: impl Into<u64>) -> Obj {
        let value = value.into();
        if value == 0 {
            self
        } else {
            self.field(key, Json::uint(value))
        }
    }

    /// An `omitempty` boolean.
    pub fn boolean(self, key: &str, value: bool) -> Obj {
        if value {
            self.field(key, Json::Bool(true))
        } else {
            self
        }
    }

    /// An `omitempty` pointer or slice: present when `Some`.
    pub fn opt(self, key: &str, value: Option<Json>) -> Obj {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    /// An `omitempty` list of strings.
    pub fn strings(self, key: &str, values: &[String]) -> Obj {
        if values.is_empty() {
            self
        } else {
            self.field(key, Json::Array(values.iter().map(Json::str).collect()))
        }
    }

    /// An `omitempty` string map.
    pub fn map(self, key: &str, values: &std::collections::HashMap<String, String>) -> Obj {
        if values.is_empty() {
            self
        } else {
            self.field(key, Json::map(values))
        }
    }

    pub fn build(self) -> Json {
        Json::Object(self.0)
    }
}

/// A `google.protobuf.Any` as Go's gogo `types.Any` encodes: `type_url`, and the
/// payload in base64.
pub(crate) fn any(value: &Any) -> Json {
    Obj::new()
        .str("type_url", &value.type_url)
        .str("value", &base64(&value.value))
        .build()
}

/// A timestamp as Go's `time.Time` encodes in JSON (RFC 3339, nanoseconds without
/// trailing zeros, UTC).
pub(crate) fn timestamp(ts: Option<&Timestamp>) -> Json {
    Json::String(rfc3339_nano(ts))
}

/// `2006-01-02T15:04:05.999999999Z`; the zero time for `None`.
pub(crate) fn rfc3339_nano(ts: Option<&Timestamp>) -> String {
    let Some(ts) = ts else {
        return "0001-01-01T00:00:00Z".into();
    };
    let (date, time) = civil(ts.seconds);
    format!("{date}T{time}{}Z", fraction(ts.nanos))
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(crate) fn go_time_string(ts: Option<&Timestamp>) -> String {
    let Some(ts) = ts else {
        return "0001-01-01 00:00:00 +0000 UTC".into();
    };
    let (date, time) = civil(ts.seconds);
    format!("{date} {time}{} +0000 UTC", fraction(ts.nanos))
}

fn fraction(nanos: i32) -> String {
    if nanos <= 0 {
        return String::new();
    }
    let digits = format!("{nanos:09}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// (`YYYY-MM-DD`, `hh:mm:ss`) of seconds since the Unix epoch, UTC.
fn civil(seconds: i64) -> (String, String) {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        ),
    )
}

/// Standard base64 with padding, as Go encodes `[]byte`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_order_and_renders_like_go() {
        let j = Json::parse(br#"{"z":1,"a":[true,null,"x<y"],"m":{},"e":[]}"#).unwrap();
        assert_eq!(
            j.compact(),
            r#"{"z":1,"a":[true,null,"x\u003cy"],"m":{},"e":[]}"#
        );
        assert_eq!(
            j.indented("  "),
            "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null,\n    \"x\\u003cy\"\n  ],\n  \"m\": {},\n  \"e\": []\n}"
        );
    }

    #[test]
    fn set_replaces_in_place_or_appends() {
        let mut j = Json::parse(br#"{"a":1,"b":2}"#).unwrap();
        j.set("a", Json::Bool(true));
        j.set("c", Json::Null);
        j.remove("b");
        assert_eq!(j.compact(), r#"{"a":true,"c":null}"#);
    }

    #[test]
    fn timestamps_format_like_go() {
        let ts = Timestamp {
            seconds: 1_795_859_309,
            nanos: 866_660_700,
        };
        assert_eq!(rfc3339_nano(Some(&ts)), "2026-11-28T09:48:29.8666607Z");
        assert_eq!(
            go_time_string(Some(&ts)),
            "2026-11-28 09:48:29.8666607 +0000 UTC"
        );
        let whole = Timestamp {
            seconds: 0,
            nanos: 0,
        };
        assert_eq!(rfc3339_nano(Some(&whole)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(None), "0001-01-01T00:00:00Z");
        let leap = Timestamp {
            seconds: 951_782_400,
            nanos: 0,
        };
        assert_eq!(rfc3339_nano(Some(&leap)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn base64_matches_the_standard_encoding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }
}
