//! A small subset of Go's text/template for `inspect --format`: literal text,
//! `{{.Field.Sub}}`, `{{.}}` and `{{json .Field}}`. Anything else (pipelines, `range`,
//! `index`, other functions) is refused as not implemented rather than misprinted.

use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Vec<String>),
    Json(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "template parsing error: unclosed action in {text:?}"
                ))
            })?;
            let action = after[..close]
                .trim()
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            pieces.push(parse_action(action)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template { pieces })
    }

    pub fn render(&self, value: &Value) -> Result<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(path) => match lookup(value, path) {
                    Some(v) => out.push_str(&go_print(v)),
                    None => out.push_str("<no value>"),
                },
                Piece::Json(path) => {
                    let v = lookup(value, path).unwrap_or(&Value::Null);
                    out.push_str(&serde_json::to_string(v).unwrap_or_default());
                }
            }
        }
        Ok(out)
    }
}

fn parse_path(p: &str) -> Option<Vec<String>> {
    if p == "." {
        return Some(Vec::new());
    }
    let rest = p.strip_prefix('.')?;
    let parts: Vec<String> = rest.split('.').map(str::to_owned).collect();
    parts
        .iter()
        .all(|s| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(parts)
}

fn parse_action(action: &str) -> Result<Piece> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let piece = match words.as_slice() {
        [p] => parse_path(p).map(Piece::Field),
        ["json", p] => parse_path(p).map(Piece::Json),
        _ => None,
    };
    piece.ok_or_else(|| {
        Error::NotImplemented(format!(
            "template action {{{{{action}}}}} (supported: {{{{.Field}}}}, {{{{json .Field}}}})"
        ))
    })
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = value;
    for key in path {
        v = v.as_object()?.get(key)?;
    }
    Some(v)
}

/// How Go's template prints a decoded JSON value.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_print(&m[k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_json() {
        let v: Value = serde_json::from_str(
            r#"{"State":{"ExitCode":7,"Running":false},"Name":"/web","Args":["-c","x"],"Config":{"Labels":{"b":"2","a":"1"}}}"#,
        )
        .unwrap();
        let t = Template::parse("{{.State.ExitCode}} {{ .Name }} {{.Args}}").unwrap();
        assert_eq!(t.render(&v).unwrap(), "7 /web [-c x]");
        let t = Template::parse("{{json .Config.Labels}}|{{.Config.Labels}}|{{.Nope}}").unwrap();
        assert_eq!(
            t.render(&v).unwrap(),
            r#"{"a":"1","b":"2"}|map[a:1 b:2]|<no value>"#
        );
    }

    #[test]
    fn unsupported_actions_say_so() {
        let e = Template::parse("{{range .Mounts}}{{.Source}}{{end}}").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("not implemented: template action"),
            "{e}"
        );
        assert!(Template::parse("{{.State").is_err());
    }
}
