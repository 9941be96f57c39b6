//! The values a template works on, modelled on what Go's reflection sees: docker runs
//! `--format` templates on typed Go structs (field order, Go field names, typed nils)
//! and, for `inspect`, falls back to the raw JSON decoded into `map[string]any` with
//! `json.Number`s. Both shapes are [`Value`]s; their printing (`fmt`'s `%v`) and JSON
//! encoding (`encoding/json`) follow Go's rules so output matches docker's byte for byte.

use std::fmt::Write as _;
use std::rc::Rc;

use super::fmt::format_float;
use super::schema::StructDef;

/// A template value. Type names are Go's (`int`, `json.Number`, `[]string`,
/// `container.State`): they appear in error messages and `printf "%T"`, and decide
/// which function parameters a value may be passed to.
#[derive(Clone)]
pub enum Value {
    /// Go's invalid `reflect.Value`: a missing map entry, an untyped nil. Printed as
    /// `<no value>` by an action, `<nil>` inside a container.
    Invalid,
    Bool(bool),
    Int(i64, &'static str),
    Float(f64, &'static str),
    /// A string or a named string type (`json.Number`, `nat.Port`).
    Str(Rc<str>, &'static str),
    List(Rc<List>),
    Map(Rc<Map>),
    Struct(Rc<Struct>),
    /// A typed nil pointer (`*container.Health`), with its struct's type when known.
    NilPtr(&'static str, Option<&'static StructDef>),
    /// A `time.Time`: its RFC 3339 text (for JSON) and Go's `String()` (for printing).
    Time(Rc<str>, Rc<str>),
    /// A method of a formatter context taking string arguments (`.Label "key"`).
    Method(Rc<Method>),
}

pub struct List {
    pub ty: &'static str,
    pub items: Vec<Value>,
    /// A nil slice: prints `[]`, encodes as `null`.
    pub nil: bool,
    /// Its underlying type is `[]string`, so it may be passed where `[]string` is expected.
    pub strings: bool,
}

pub struct Map {
    pub ty: &'static str,
    /// The key type: only `string` keys can be reached with `.key` or `index m "key"`.
    pub key_ty: &'static str,
    /// Sorted by key, the order Go prints and ranges over maps in.
    pub entries: Vec<(String, Value)>,
    pub nil: bool,
    /// What `index` returns for a missing key: the zero value of the element type.
    pub elem_zero: Value,
}

pub struct Struct {
    pub ty: String,
    /// A formatter context, whose JSON docker produces with `json.Marshal` and so
    /// with `<`, `>` and `&` escaped.
    pub escape_html: bool,
    /// A pointer to the struct: printed `&{...}` by `print`/`printf`, dereferenced by an action.
    pub ptr: bool,
    pub fields: Vec<Field>,
}

pub struct Field {
    /// The Go field name, the one templates use.
    pub name: String,
    /// The JSON key; `None` for a field `encoding/json` skips.
    pub json: Option<String>,
    pub omitempty: bool,
    /// An embedded struct: its fields are reachable directly and its JSON is inlined.
    pub embedded: bool,
    pub value: Value,
}

/// The body of a [`Method`]: its string arguments in, its result out.
pub type MethodFn = Box<dyn Fn(&[String]) -> Value>;

pub struct Method {
    pub name: &'static str,
    /// How many string arguments it takes.
    pub arity: usize,
    pub call: MethodFn,
}

/// The kinds `eq`/`lt` compare by (Go's `basicKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

impl Value {
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into(), "string")
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i, "int")
    }

    /// A `[]string`.
    pub fn strings(items: Vec<String>) -> Value {
        Value::List(Rc::new(List {
            ty: "[]string",
            items: items.into_iter().map(Value::string).collect(),
            nil: false,
            strings: true,
        }))
    }

    /// A formatter context (`*formatter.networkContext`): fields reached by name,
    /// JSON-encoded in the given order (docker's contexts marshal as sorted maps, so
    /// give them sorted).
    pub fn context(ty: &str, fields: Vec<(String, Value)>) -> Value {
        Value::Struct(Rc::new(Struct {
            ty: ty.trim_start_matches('*').to_owned(),
            escape_html: true,
            ptr: ty.starts_with('*'),
            fields: fields
                .into_iter()
                .map(|(name, value)| Field {
                    // Methods taking arguments are not part of a context's JSON.
                    json: (!matches!(value, Value::Method(_))).then(|| name.clone()),
                    name,
                    omitempty: false,
                    embedded: false,
                    value,
                })
                .collect(),
        }))
    }

    /// A method taking one string (`Label`).
    pub fn method(name: &'static str, f: impl Fn(&str) -> String + 'static) -> Value {
        Value::Method(Rc::new(Method {
            name,
            arity: 1,
            call: Box::new(move |args: &[String]| {
                Value::string(f(args.first().map(String::as_str).unwrap_or_default()))
            }),
        }))
    }

    /// A `map[string]string`.
    pub fn string_map(pairs: Vec<(String, String)>) -> Value {
        let mut entries: Vec<(String, Value)> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::string(v)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Map(Rc::new(Map {
            ty: "map[string]string",
            key_ty: "string",
            entries,
            nil: false,
            elem_zero: Value::string(""),
        }))
    }

    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_, t) | Value::Float(_, t) | Value::Str(_, t) => (*t).into(),
            Value::List(l) => l.ty.into(),
            Value::Map(m) => m.ty.into(),
            Value::Struct(s) if s.ptr => format!("*{}", s.ty),
            Value::Struct(s) => s.ty.clone(),
            Value::NilPtr(t, _) => (*t).into(),
            Value::Time(..) => "time.Time".into(),
            Value::Method(m) => format!("func({}) string", vec!["string"; m.arity].join(", ")),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Value::Invalid => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(..) => Kind::Int,
            Value::Float(..) => Kind::Float,
            Value::Str(..) => Kind::Str,
            _ => Kind::Other,
        }
    }

    pub fn is_valid(&self) -> bool {
        !matches!(self, Value::Invalid)
    }

    /// Go's `isTrue`: the zero value of its type is false; structs are always true.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::NilPtr(..) => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Float(f, _) => *f != 0.0,
            Value::Str(s, _) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.is_empty(),
            Value::Struct(_) | Value::Method(_) | Value::Time(..) => true,
        }
    }

    /// A string argument's text when the value is assignable to Go's `string`.
    pub fn as_plain_str(&self) -> Option<&str> {
        match self {
            Value::Str(s, "string") => Some(s),
            _ => None,
        }
    }

    /// The field `name` of a struct (searching embedded structs after direct fields,
    /// as Go does).
    pub fn struct_field<'a>(s: &'a Struct, name: &str) -> Option<&'a Value> {
        if let Some(f) = s.fields.iter().find(|f| f.name == name) {
            return Some(&f.value);
        }
        s.fields
            .iter()
            .filter(|f| f.embedded)
            .find_map(|f| match &f.value {
                Value::Struct(inner) => Value::struct_field(inner, name),
                _ => None,
            })
    }

    /// What an action prints: Go's `printValue` (a pointer is dereferenced first, an
    /// invalid value is `<no value>`), then `fmt.Fprint`.
    pub fn action_text(&self) -> String {
        match self {
            Value::Invalid => "<no value>".into(),
            Value::Struct(s) if s.ptr => {
                let mut out = String::new();
                write_struct(&mut out, s, false, 1);
                out
            }
            v => v.to_go_string(),
        }
    }

    /// `fmt.Sprint(v)` of one value.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, false, 0);
        out
    }

    /// `fmt.Sprintf("%+v", v)`.
    pub fn to_go_string_plus(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, true, 0);
        out
    }

    /// `encoding/json` with HTML escaping off, as docker's `json` function encodes.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(&mut out, self, false);
        out
    }
}

/// `fmt`'s `%v` (or `%+v` with `plus`) at nesting `depth`.
pub(crate) fn write_value(out: &mut String, v: &Value, plus: bool, depth: usize) {
    match v {
        Value::Invalid => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f, _) => out.push_str(&format_float(*f, 'g', None, false)),
        Value::Str(s, _) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, plus, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, item, plus, depth + 1);
            }
            out.push(']');
        }
        Value::Struct(s) => {
            // Go prints a nested pointer as its address; we print what it points to,
            // which is at least stable and readable.
            if s.ptr {
                out.push('&');
            }
            write_struct(out, s, plus, depth + 1);
        }
        Value::NilPtr(..) => out.push_str("<nil>"),
        Value::Time(_, go) => out.push_str(go),
        Value::Method(_) => out.push_str("0xc000000000"),
    }
}

fn write_struct(out: &mut String, s: &Struct, plus: bool, depth: usize) {
    out.push('{');
    for (i, f) in s.fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if plus {
            out.push_str(&f.name);
            out.push(':');
        }
        match &f.value {
            // An embedded struct value prints as a nested struct (no `&`, it is a value).
            Value::Struct(inner) if f.embedded && !inner.ptr => {
                write_struct(out, inner, plus, depth + 1)
            }
            other => write_value(out, other, plus, depth),
        }
    }
    out.push('}');
}

fn write_json(out: &mut String, v: &Value, html: bool) {
    match v {
        Value::Invalid | Value::NilPtr(..) | Value::Method(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f, _) => out.push_str(&json_float(*f)),
        Value::Str(s, "json.Number") => out.push_str(s),
        Value::Time(rfc, _) => json_string_html(out, rfc, html),
        Value::Str(s, _) => json_string_html(out, s, html),
        Value::List(l) if l.nil => out.push_str("null"),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, html);
            }
            out.push(']');
        }
        Value::Map(m) if m.nil => out.push_str("null"),
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string_html(out, k, html);
                out.push(':');
                write_json(out, item, html);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            let mut first = true;
            write_json_fields(out, s, &mut first, html || s.escape_html);
            out.push('}');
        }
    }
}

fn write_json_fields(out: &mut String, s: &Struct, first: &mut bool, html: bool) {
    for f in &s.fields {
        if f.embedded {
            if let Value::Struct(inner) = &f.value {
                write_json_fields(out, inner, first, html);
            }
            continue;
        }
        let Some(key) = &f.json else { continue };
        if f.omitempty && json_empty(&f.value) {
            continue;
        }
        if !*first {
            out.push(',');
        }
        *first = false;
        json_string_html(out, key, html);
        out.push(':');
        write_json(out, &f.value, html);
    }
}

/// `encoding/json`'s `isEmptyValue` for `omitempty`.
fn json_empty(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::NilPtr(..) => true,
        Value::Bool(b) => !b,
        Value::Int(i, _) => *i == 0,
        Value::Float(f, _) => *f == 0.0,
        Value::Str(s, _) => s.is_empty(),
        Value::List(l) => l.items.is_empty(),
        Value::Map(m) => m.entries.is_empty(),
        Value::Struct(_) | Value::Method(_) | Value::Time(..) => false,
    }
}

/// A float as `encoding/json` writes it: shortest digits, exponent form outside
/// [1e-6, 1e21) with a short exponent (`1e-7`, `1e+21`).
pub(crate) fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_float(f, 'e', None, false);
        // Go trims a leading zero from a two-digit negative exponent: e-07 → e-7.
        match s.find("e-0") {
            Some(i) if s.len() == i + 4 => format!("{}e-{}", &s[..i], &s[i + 3..]),
            _ => s,
        }
    } else {
        format_float(f, 'f', None, false)
    }
}

/// A JSON string as Go's encoder writes it (docker's `json` function turns HTML
/// escaping off; `json.Marshal`, behind formatter contexts, leaves it on).
/// `html` also escapes `<`, `>` and `&`, as `json.Marshal` does.
fn json_string_html(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------- JSON in

/// A JSON document with its object keys in order and its numbers as written, so that
/// the raw fallback sees `json.Number`s and typed structs keep the daemon's order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &[u8]) -> Result<Json, String> {
        let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
        let mut p = JsonParser { s: text, i: 0 };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != text.len() {
            return Err(format!(
                "invalid character {:?} after top-level value",
                p.peek().unwrap_or(' ')
            ));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What `json.Unmarshal` into `any` with `UseNumber` gives, as a template sees it.
    pub fn to_raw_value(&self) -> Value {
        match self {
            Json::Null => Value::Invalid,
            Json::Bool(b) => Value::Bool(*b),
            Json::Num(n) => Value::Str(n.as_str().into(), "json.Number"),
            Json::Str(s) => Value::string(s.as_str()),
            Json::Arr(items) => Value::List(Rc::new(List {
                ty: "[]interface {}",
                items: items.iter().map(Json::to_raw_value).collect(),
                nil: false,
                strings: false,
            })),
            Json::Obj(fields) => {
                let mut entries: Vec<(String, Value)> = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    // A repeated key: the last one wins, as in encoding/json.
                    entries.retain(|(e, _)| e != k);
                    entries.push((k.clone(), v.to_raw_value()));
                }
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Map(Rc::new(Map {
                    ty: "map[string]interface {}",
                    key_ty: "string",
                    entries,
                    nil: false,
                    elem_zero: Value::Invalid,
                }))
            }
        }
    }
}

struct JsonParser<'a> {
    s: &'a str,
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, word: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(format!("invalid literal at offset {}", self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 10_000 {
            return Err("exceeded max depth".into());
        }
        match self.peek() {
            None => Err("unexpected EOF".into()),
            Some('n') => self.expect("null").map(|_| Json::Null),
            Some('t') => self.expect("true").map(|_| Json::Bool(true)),
            Some('f') => self.expect("false").map(|_| Json::Bool(false)),
            Some('"') => self.string().map(Json::Str),
            Some('[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some(']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected , or ] at offset {}", self.i)),
                    }
                }
            }
            Some('{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.peek() == Some('}') {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    if self.peek() != Some('"') {
                        return Err(format!("expected a key at offset {}", self.i));
                    }
                    let k = self.string()?;
                    self.ws();
                    self.expect(":")?;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    fields.push((k, v));
                    self.ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {
                            self.i += 1;
                            return Ok(Json::Obj(fields));
                        }
                        _ => return Err(format!("expected , or }} at offset {}", self.i)),
                    }
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let text = &self.s[start..self.i];
                if text.parse::<f64>().is_err() {
                    return Err(format!("invalid number {text:?}"));
                }
                Ok(Json::Num(text.to_owned()))
            }
            Some(c) => Err(format!(
                "invalid character {c:?} looking for beginning of value"
            )),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or("unexpected end of string escape")?;
        let v = u32::from_str_radix(h, 16).map_err(|_| format!("invalid escape \\u{h}"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or("unterminated string")?;
                    self.i += 1;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i..].starts_with("\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        other => return Err(format!("invalid escape \\{other}")),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_order_and_numbers() {
        let j = Json::parse(br#"{"b":1,"a":[1.5,"x\u00e9\n",null,true],"n":1073741824}"#).unwrap();
        let Json::Obj(f) = &j else { panic!() };
        assert_eq!(f[0].0, "b");
        assert_eq!(j.get("n"), Some(&Json::Num("1073741824".into())));
        let raw = j.to_raw_value();
        assert_eq!(
            raw.to_json(),
            r#"{"a":[1.5,"xé\n",null,true],"b":1,"n":1073741824}"#
        );
        assert_eq!(
            raw.action_text(),
            "map[a:[1.5 xé\n <nil> true] b:1 n:1073741824]"
        );
    }

    #[test]
    fn go_json_escapes() {
        let mut s = String::new();
        json_string_html(&mut s, "<&>\u{2028}\n\t\u{1}\"\\", false);
        assert_eq!(s, r#""<&>\u2028\n\t\u0001\"\\""#);
        let mut s = String::new();
        json_string_html(&mut s, "<none>&", true);
        assert_eq!(s, r#""\u003cnone\u003e\u0026""#);
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(1.5), "1.5");
        assert_eq!(json_float(1e20), "100000000000000000000");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(Json::parse(b"{").is_err());
        assert!(Json::parse(b"[1,]").is_err());
        assert!(Json::parse(b"{} x").is_err());
    }
}
