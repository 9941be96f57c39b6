//! containerd's filter syntax, used by List calls and event subscriptions.
//!
//! A filter is selectors joined by `,` (all must match); a request's list of filters
//! matches when any one does. A selector is a field path (`topic`, `labels."a.b"`,
//! `runtime.name`), optionally an operator (`==`, `!=`, `~=` for a regular expression) and a
//! value, bare or double-quoted: `topic=="/tasks/exit",namespace==default`.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Present,
    Eq,
    Ne,
    Match,
}

#[derive(Debug, Clone)]
struct Selector {
    path: Vec<String>,
    op: Op,
    value: String,
    regex: Option<regex::Regex>,
}

/// Something filters can look into: the value at a field path, if there is one.
pub trait Fields {
    fn field(&self, path: &[String]) -> Option<String>;
}

/// A parsed list of filters (OR of ANDs). Empty matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    any_of: Vec<Vec<Selector>>,
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    src: &'a str,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &str) -> Error {
        Error::InvalidArgument(format!(
            "filter {:?}: {what} at position {}",
            self.src, self.pos
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn quoted(&mut self) -> Result<String> {
        let quote = self.s[self.pos];
        self.pos += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => {
                    let n = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    out.push(match n {
                        b'n' => '\n',
                        b't' => '\t',
                        other => other as char,
                    });
                }
                c if c == quote => return Ok(out),
                _ => {
                    // Keep multi-byte UTF-8 intact.
                    let start = self.pos - 1;
                    let len = utf8_len(c);
                    out.push_str(&self.src[start..start + len]);
                    self.pos = start + len;
                }
            }
        }
        Err(self.err("unterminated quote"))
    }

    fn field(&mut self) -> Result<String> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if self.pos == start {
                    return Err(self.err("expected a field name"));
                }
                Ok(self.src[start..self.pos].to_string())
            }
        }
    }

    fn value(&mut self) -> Result<String> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => self.quoted(),
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c == b',' {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(self.src[start..self.pos].trim().to_string())
            }
        }
    }

    fn selector(&mut self) -> Result<Selector> {
        let mut path = vec![self.field()?];
        while self.peek() == Some(b'.') {
            self.pos += 1;
            path.push(self.field()?);
        }
        let rest = &self.s[self.pos..];
        let op = if rest.starts_with(b"==") {
            Op::Eq
        } else if rest.starts_with(b"!=") {
            Op::Ne
        } else if rest.starts_with(b"~=") {
            Op::Match
        } else {
            return Ok(Selector {
                path,
                op: Op::Present,
                value: String::new(),
                regex: None,
            });
        };
        self.pos += 2;
        let value = self.value()?;
        let regex = if op == Op::Match {
            Some(
                regex::Regex::new(&value)
                    .map_err(|e| self.err(&format!("bad regular expression: {e}")))?,
            )
        } else {
            None
        };
        Ok(Selector {
            path,
            op,
            value,
            regex,
        })
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

impl Filter {
    pub fn parse<S: AsRef<str>>(filters: &[S]) -> Result<Filter> {
        let mut any_of = Vec::new();
        for f in filters {
            let src = f.as_ref().trim();
            if src.is_empty() {
                continue;
            }
            let mut p = Parser {
                s: src.as_bytes(),
                pos: 0,
                src,
            };
            let mut all = vec![p.selector()?];
            while p.peek() == Some(b',') {
                p.pos += 1;
                all.push(p.selector()?);
            }
            if p.pos != src.len() {
                return Err(p.err("unexpected input"));
            }
            any_of.push(all);
        }
        Ok(Filter { any_of })
    }

    pub fn matches(&self, item: &impl Fields) -> bool {
        self.any_of.is_empty()
            || self.any_of.iter().any(|all| {
                all.iter().all(|sel| {
                    let v = item.field(&sel.path);
                    match sel.op {
                        Op::Present => v.is_some(),
                        Op::Eq => v.as_deref() == Some(sel.value.as_str()),
                        Op::Ne => v.as_deref() != Some(sel.value.as_str()),
                        Op::Match => {
                            v.is_some_and(|v| sel.regex.as_ref().is_some_and(|r| r.is_match(&v)))
                        }
                    }
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Item(HashMap<&'static str, &'static str>);

    impl Fields for Item {
        fn field(&self, path: &[String]) -> Option<String> {
            self.0.get(path.join(".").as_str()).map(|s| s.to_string())
        }
    }

    fn item() -> Item {
        Item(HashMap::from([
            ("topic", "/tasks/exit"),
            ("namespace", "default"),
            ("labels.a.b", "x y"),
        ]))
    }

    fn m(f: &[&str]) -> bool {
        Filter::parse(f).unwrap().matches(&item())
    }

    #[test]
    fn operators() {
        assert!(m(&[]));
        assert!(m(&[r#"topic=="/tasks/exit""#]));
        assert!(m(&["topic==/tasks/exit,namespace==default"]));
        assert!(!m(&["topic==/tasks/exit,namespace==other"]));
        assert!(m(&["namespace==other", "topic~=^/tasks/"]));
        assert!(m(&["topic!=/tasks/start"]));
        assert!(m(&["namespace"]));
        assert!(!m(&["image"]));
        assert!(m(&[r#"labels."a.b"=="x y""#]));
    }

    #[test]
    fn errors() {
        for bad in ["topic==\"open", "==x", "topic~=(", "topic==a,"] {
            assert!(Filter::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
