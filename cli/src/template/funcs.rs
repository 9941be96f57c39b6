//! The functions a template can call: Go's builtins (`and`, `or`, `not`, `len`,
//! `index`, `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery`, `eq`,
//! `ne`, `lt`, `le`, `gt`, `ge`, `call`) and docker's (`json`, `split`, `join`,
//! `title`, `lower`, `upper`, `pad`, `truncate`), with their Go signatures so that
//! arguments are checked as Go checks them. Table headers run with docker's
//! `HeaderFunctions`, which leave the column titles untouched.

use std::fmt::Write as _;
use std::rc::Rc;

use super::fmt::sprintf;
use super::value::{Kind, List, Value, write_value};

/// A parameter's Go type, as far as argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `any` / `reflect.Value`: anything.
    Any,
    Str,
    Int,
    /// `[]string`
    Strings,
}

pub(crate) type Call = fn(&[Value]) -> Result<Value, String>;

pub(crate) struct Func {
    pub params: &'static [Param],
    pub variadic: Option<Param>,
    pub call: Call,
}

/// Which set of functions a template runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuncSet {
    /// docker's `templates.Parse`: Go's builtins plus docker's functions.
    Basic,
    /// docker's `HeaderFunctions`, for the header row of a `table` format.
    Header,
}

const ANY: &[Param] = &[Param::Any];
const ANY2: &[Param] = &[Param::Any, Param::Any];
const STR: &[Param] = &[Param::Str];
const STR2: &[Param] = &[Param::Str, Param::Str];

fn f(params: &'static [Param], variadic: Option<Param>, call: Call) -> Func {
    Func {
        params,
        variadic,
        call,
    }
}

/// Every name a template may call (parsing rejects others, as Go's does).
pub(crate) fn is_defined(name: &str) -> bool {
    lookup(FuncSet::Basic, name).is_some()
}

pub(crate) fn lookup(set: FuncSet, name: &str) -> Option<Func> {
    if set == FuncSet::Header {
        let header = match name {
            "json" | "title" | "lower" | "upper" => Some(f(STR, None, first)),
            "split" | "join" => Some(f(STR2, None, first)),
            "truncate" => Some(f(&[Param::Str, Param::Int], None, first)),
            _ => None,
        };
        if header.is_some() {
            return header;
        }
    }
    Some(match name {
        "and" | "or" => f(ANY, Some(Param::Any), first),
        "not" => f(ANY, None, |a| Ok(Value::Bool(!a[0].truth()))),
        "len" => f(ANY, None, length),
        "index" => f(ANY, Some(Param::Any), index),
        "slice" => f(ANY, Some(Param::Any), slice),
        "print" => f(&[], Some(Param::Any), |a| Ok(Value::string(sprint(a)))),
        "println" => f(&[], Some(Param::Any), |a| Ok(Value::string(sprintln(a)))),
        "printf" => f(STR, Some(Param::Any), |a| {
            Ok(Value::string(sprintf(
                a[0].as_plain_str().unwrap_or_default(),
                &a[1..],
            )))
        }),
        "html" => f(&[], Some(Param::Any), |a| {
            Ok(Value::string(html(&eval_args(a))))
        }),
        "js" => f(&[], Some(Param::Any), |a| {
            Ok(Value::string(js(&eval_args(a))))
        }),
        "urlquery" => f(&[], Some(Param::Any), |a| {
            Ok(Value::string(urlquery(&eval_args(a))))
        }),
        "call" => f(ANY, Some(Param::Any), |a| {
            Err(format!("non-function of type {}", a[0].type_name()))
        }),
        "eq" => f(ANY, Some(Param::Any), |a| {
            eq(&a[0], &a[1..]).map(Value::Bool)
        }),
        "ne" => f(ANY2, None, |a| eq(&a[0], &a[1..]).map(|b| Value::Bool(!b))),
        "lt" => f(ANY2, None, |a| lt(&a[0], &a[1]).map(Value::Bool)),
        "le" => f(ANY2, None, |a| le(&a[0], &a[1]).map(Value::Bool)),
        "gt" => f(ANY2, None, |a| le(&a[0], &a[1]).map(|b| Value::Bool(!b))),
        "ge" => f(ANY2, None, |a| lt(&a[0], &a[1]).map(|b| Value::Bool(!b))),
        // docker's templates package.
        "json" => f(ANY, None, |a| Ok(Value::string(a[0].to_json()))),
        "split" => f(STR2, None, |a| {
            let (s, sep) = (text(&a[0]), text(&a[1]));
            let parts: Vec<String> = if sep.is_empty() {
                s.chars().map(String::from).collect()
            } else {
                s.split(sep).map(str::to_owned).collect()
            };
            Ok(Value::strings(parts))
        }),
        "join" => f(&[Param::Strings, Param::Str], None, |a| {
            let Value::List(l) = &a[0] else {
                return Ok(Value::string(""));
            };
            let items: Vec<&str> = l.items.iter().map(text).collect();
            Ok(Value::string(items.join(text(&a[1]))))
        }),
        "title" => f(STR, None, |a| Ok(Value::string(title(text(&a[0]))))),
        "lower" => f(STR, None, |a| Ok(Value::string(text(&a[0]).to_lowercase()))),
        "upper" => f(STR, None, |a| Ok(Value::string(text(&a[0]).to_uppercase()))),
        "pad" => f(&[Param::Str, Param::Int, Param::Int], None, |a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::string(""));
            }
            let n = |v: &Value| match v {
                Value::Int(i, _) => (*i).max(0) as usize,
                _ => 0,
            };
            Ok(Value::string(format!(
                "{}{s}{}",
                " ".repeat(n(&a[1])),
                " ".repeat(n(&a[2]))
            )))
        }),
        "truncate" => f(&[Param::Str, Param::Int], None, |a| {
            let s = text(&a[0]);
            let Value::Int(n, _) = a[1] else {
                return Ok(a[0].clone());
            };
            if (s.len() as i64) < n {
                return Ok(a[0].clone());
            }
            if n < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{n}]"));
            }
            Ok(Value::string(
                String::from_utf8_lossy(&s.as_bytes()[..n as usize]).into_owned(),
            ))
        }),
        _ => return None,
    })
}

fn first(a: &[Value]) -> Result<Value, String> {
    Ok(a[0].clone())
}

fn text(v: &Value) -> &str {
    match v {
        Value::Str(s, _) => s,
        _ => "",
    }
}

fn length(a: &[Value]) -> Result<Value, String> {
    let n = match &a[0] {
        Value::Invalid => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::NilPtr(..) => return Err("len of nil pointer".into()),
        Value::Str(s, _) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) => m.entries.len(),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::int(n as i64))
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i {
        Value::Int(x, _) => *x,
        Value::Invalid => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(a: &[Value]) -> Result<Value, String> {
    let mut item = a[0].clone();
    if !item.is_valid() {
        return Err("index of untyped nil".into());
    }
    for i in &a[1..] {
        item = match &item {
            Value::Invalid | Value::NilPtr(..) => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(i, l.items.len())?;
                l.items
                    .get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::Str(s, _) => {
                let x = index_arg(i, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .ok_or("reflect: string index out of range")?;
                Value::Int(i64::from(*b), "uint8")
            }
            Value::Map(m) => {
                let key = match i {
                    Value::Invalid => {
                        return Err(format!("value is nil; should be of type {}", m.key_ty));
                    }
                    Value::Str(k, t) if *t == m.key_ty => k.clone(),
                    other => {
                        return Err(format!(
                            "value has type {}; should be {}",
                            other.type_name(),
                            m.key_ty
                        ));
                    }
                };
                match m.entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
                    Ok(p) => m.entries[p].1.clone(),
                    Err(_) => m.elem_zero.clone(),
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(a: &[Value]) -> Result<Value, String> {
    let item = &a[0];
    let idx = &a[1..];
    if !item.is_valid() {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Value::Str(s, _) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, len, len];
    for (n, i) in idx.iter().enumerate() {
        bounds[n] = index_arg(i, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Value::Str(s, t) => Value::Str(
            String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into(),
            t,
        ),
        Value::List(l) => Value::List(Rc::new(List {
            ty: l.ty,
            items: l.items[bounds[0]..bounds[1]].to_vec(),
            nil: false,
            strings: l.strings,
        })),
        _ => unreachable!("checked above"),
    })
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(..));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a, false, 0);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: always spaces, and a newline.
fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, false, 0);
    }
    out.push('\n');
    out
}

/// Go's `evalArgs` for `html`, `js`, `urlquery`: one string as is, else `Sprint` of
/// the values as an action would show them.
fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s, "string")] = args {
        return s.to_string();
    }
    let shown: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Invalid => Value::string("<no value>"),
            Value::Struct(_) => Value::string(a.action_text()),
            a => a.clone(),
        })
        .collect();
    sprint(&shown)
}

fn html(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
fn urlquery(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `strings.Title`: upper-case the first letter of each word.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::new();
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn eq(a: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = a.kind();
    for b in others {
        let k2 = b.kind();
        let truth = if k1 != k2 {
            if a.is_valid() && b.is_valid() {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x, _), Value::Int(y, _)) => x == y,
                (Value::Float(x, _), Value::Float(y, _)) => x == y,
                (Value::Str(x, _), Value::Str(y, _)) => x == y,
                (Value::Invalid, Value::Invalid) => true,
                (Value::List(_) | Value::Map(_), _) => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        a.to_go_string(),
                        a.type_name()
                    ));
                }
                (_, Value::List(_) | Value::Map(_)) => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        b.to_go_string(),
                        b.type_name()
                    ));
                }
                (Value::NilPtr(..), Value::NilPtr(..)) => true,
                _ => a.type_name() == b.type_name() && a.to_json() == b.to_json(),
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let basic = |v: &Value| match v.kind() {
        Kind::Invalid | Kind::Other => Err("invalid type for comparison".to_string()),
        k => Ok(k),
    };
    let (k1, k2) = (basic(a)?, basic(b)?);
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    match (a, b) {
        (Value::Int(x, _), Value::Int(y, _)) => Ok(x < y),
        (Value::Float(x, _), Value::Float(y, _)) => Ok(x < y),
        (Value::Str(x, _), Value::Str(y, _)) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}
