//! Go's `text/template` as docker's `--format` flags use it: the one template engine
//! behind `inspect -f`, `network inspect/ls --format` and every other `--format`.
//!
//! Supported (same syntax, output and error messages as docker 28):
//! - text and actions `{{...}}`, comments `{{/* */}}`, trimming `{{- ` / ` -}}`;
//! - field paths `.State.Status`, `$`, `.`, variables `$x := ...`, `$x = ...`, `$x.Field`,
//!   parenthesized pipelines `(index .X 0).Y`, pipelines `{{.Name | upper}}`;
//! - `if`/`else if`/`else`, `with`/`else with`, `range` (lists, maps in key order,
//!   integers) with `$i, $v :=`, `{{else}}`, `{{break}}`, `{{continue}}`;
//! - string (`"..."`, raw), number (int, float, hex, char) and `true`/`false` literals;
//! - Go's functions `and or not len index slice eq ne lt le gt ge print printf println
//!   html js urlquery` (`printf` with Go's verbs, flags and `%!d(string=x)` complaints)
//!   and docker's `json split join title lower upper pad truncate`;
//! - Go's printing of values: maps as `map[a:1 b:2]` (sorted keys), slices as `[a b]`,
//!   structs as `{v1 v2}`, floats as `%v` does (`1e+06`), `<no value>` for a missing key;
//! - docker's inspect semantics: the template runs first on the document typed as
//!   docker's CLI types it (`schema.rs`: Go field names, struct order, typed nils), and
//!   on failure on the raw JSON with `missingkey=error`; `table` formats with headers.
//!
//! Not supported (refused with "not implemented"): `define`, `template`, `block`,
//! complex numbers. Known differences: a non-nil pointer nested inside a printed value
//! prints as `&{...}` (Go prints its address), and types not described in `schema.rs`
//! print in the daemon's key order.

mod exec;
mod fmt;
mod funcs;
mod lex;
mod parse;
mod schema;
mod value;

pub use funcs::FuncSet;
pub use schema::go_time;
pub use value::Value;

use crate::error::{Error, Result};
use crate::{jsonfmt, table};
use value::Json;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    text: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses `text` as Go's `template.New("").Funcs(docker's).Parse(text)` would;
    /// the error is Go's message (`template: :1: unclosed action`).
    pub fn parse(text: &str) -> std::result::Result<Template, String> {
        let nodes = parse::parse(text, &funcs::is_defined)?;
        Ok(Template {
            text: text.to_owned(),
            nodes,
        })
    }

    /// Runs the template on `data`. `missing_key_error` is Go's `missingkey=error`.
    pub fn execute(
        &self,
        data: &Value,
        funcs: FuncSet,
        missing_key_error: bool,
    ) -> std::result::Result<String, String> {
        let (out, r) = exec::Exec::new(&self.text, funcs, missing_key_error).run(&self.nodes, data);
        r.map(|_| out)
    }

    /// Like [`execute`](Self::execute), keeping the output written before an error
    /// (docker prints a table header even when it fails half-way).
    fn execute_partial(&self, data: &Value, funcs: FuncSet) -> String {
        exec::Exec::new(&self.text, funcs, false)
            .run(&self.nodes, data)
            .0
    }
}

/// Go's `%.<prec>g` of `v` (`strconv.FormatFloat(v, 'g', prec, 64)`).
pub fn format_g(v: f64, prec: usize) -> String {
    fmt::format_float(v, 'g', Some(prec), false)
}

/// A parse error as docker reports it, or "not implemented" for what we refuse.
fn parse_error(e: String, code: i32) -> Error {
    match e.strip_prefix("not implemented: ") {
        Some(what) => Error::NotImplemented(what.to_owned()),
        None => Error::Reported {
            message: format!("template parsing error: {e}"),
            code,
        },
    }
}

// ---------------------------------------------------------------------------- inspect

/// Which Go type docker's CLI decodes an inspect document into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Container,
    Image,
    Network,
    Volume,
    /// A line of `GET /events` (`events.Message`).
    Event,
    /// Anything else: typed from its own keys.
    Untyped,
}

/// What an inspect command's `--format` asks for.
#[derive(Debug, Clone)]
pub enum InspectFormat {
    /// No format: the documents as one indented JSON array.
    Indented,
    /// `--format json`: one compact JSON array.
    Json,
    Template(Template),
}

impl InspectFormat {
    /// docker's `NewTemplateInspectorFromString`: a template that does not parse ends
    /// the command with exit code 64 before anything is fetched.
    pub fn parse(format: Option<&str>) -> Result<InspectFormat> {
        match format.unwrap_or("") {
            "" => Ok(InspectFormat::Indented),
            "json" => Ok(InspectFormat::Json),
            text => Template::parse(text)
                .map(InspectFormat::Template)
                .map_err(|e| parse_error(e, 64)),
        }
    }
}

/// docker's inspector: collects each document's output (or error) in the order the
/// names were given, then prints the output and reports the errors with exit code 1.
pub struct Inspector<'a> {
    format: &'a InspectFormat,
    docs: Vec<String>,
    out: String,
    errors: Vec<String>,
}

impl<'a> Inspector<'a> {
    pub fn new(format: &'a InspectFormat) -> Inspector<'a> {
        Inspector {
            format,
            docs: Vec::new(),
            out: String::new(),
            errors: Vec::new(),
        }
    }

    /// One document the daemon answered with.
    pub fn add(&mut self, doc: Doc, raw: &[u8]) {
        match self.format {
            InspectFormat::Indented | InspectFormat::Json => self
                .docs
                .push(String::from_utf8_lossy(raw).trim().to_owned()),
            InspectFormat::Template(t) => match render_doc(t, doc, raw) {
                Ok(text) => {
                    self.out.push_str(&text);
                    self.out.push('\n');
                }
                Err(e) => self.errors.push(e),
            },
        }
    }

    /// A name that could not be inspected.
    pub fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    /// What goes to standard output, and the errors to report.
    pub fn finish(self) -> (String, Vec<String>) {
        let out = match self.format {
            InspectFormat::Indented | InspectFormat::Json => {
                let joined = format!("[{}]", self.docs.join(","));
                let text = if matches!(self.format, InspectFormat::Json) {
                    compact(&joined)
                } else {
                    jsonfmt::indent(joined.as_bytes(), "")
                };
                format!("{text}\n")
            }
            InspectFormat::Template(_) if self.out.is_empty() => "\n".to_owned(),
            InspectFormat::Template(_) => self.out,
        };
        (out, self.errors)
    }

    /// Prints the output and ends the command as docker does.
    pub fn print(self) -> Result<i32> {
        let (out, errors) = self.finish();
        crate::out!("{out}");
        if errors.is_empty() {
            return Ok(0);
        }
        Err(Error::Reported {
            message: errors.join("\n"),
            code: 1,
        })
    }
}

/// docker's `TemplateInspector.Inspect`: the typed document first, then the raw JSON
/// with `missingkey=error`, whose error is the one reported.
pub fn render_doc(t: &Template, doc: Doc, raw: &[u8]) -> std::result::Result<String, String> {
    let json = Json::parse(raw).map_err(|e| format!("unable to read inspect data: {e}"))?;
    let ty = match doc {
        Doc::Container => &schema::CONTAINER_TY,
        Doc::Image => &schema::IMAGE_TY,
        Doc::Network => &schema::NETWORK_TY,
        Doc::Volume => &schema::VOLUME_TY,
        Doc::Event => &schema::EVENT_TY,
        Doc::Untyped => &schema::OPAQUE_TY,
    };
    let typed = schema::typed(Some(&json), ty);
    if let Ok(out) = t.execute(&typed, FuncSet::Basic, false) {
        return Ok(out);
    }
    t.execute(&json.to_raw_value(), FuncSet::Basic, true)
        .map_err(|e| format!("template parsing error: {e}"))
}

/// Go's `json.Compact`: whitespace outside strings removed, nothing else changed.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------- lists

/// A list command's `--format` (`ps`, `images`, `network ls`): docker's
/// `formatter.Context` — `table` prefix, `json`, `\t` and `\n` escapes.
#[derive(Debug, Clone)]
pub struct ListFormat {
    table: bool,
    template: Template,
}

/// docker's words before a template error: most list commands say "template parsing
/// error" for both kinds; `ps` validates its format first and says these.
pub const PS_PARSE_ERROR: &str = "failed to parse template";
pub const PS_EXEC_ERROR: &str = "failed to execute template";

impl ListFormat {
    /// `format` after the command replaced its own shorthands (`""`, `table`, `raw`).
    /// A template that does not parse is an error with exit code 1.
    pub fn parse(format: &str) -> Result<ListFormat> {
        let table = format.starts_with("table");
        let body = if table {
            &format["table".len()..]
        } else if format == "json" {
            "{{json .}}"
        } else {
            format
        };
        let body = body
            .trim_matches(' ')
            .replace(r"\t", "\t")
            .replace(r"\n", "\n");
        let template = Template::parse(&body).map_err(|e| parse_error(e, 1))?;
        Ok(ListFormat { table, template })
    }

    pub fn is_table(&self) -> bool {
        self.table
    }

    /// One line (or more) per row; with `table`, the header (rendered with docker's
    /// header functions, errors ignored) first and the columns aligned.
    pub fn render(&self, header: &Value, rows: &[Value]) -> Result<String> {
        let mut out = String::new();
        for row in rows {
            let text = self
                .template
                .execute(row, FuncSet::Basic, false)
                .map_err(|e| Error::Reported {
                    message: format!("template parsing error: {e}"),
                    code: 1,
                })?;
            out.push_str(&text);
            out.push('\n');
        }
        if !self.table {
            return Ok(out);
        }
        let mut all = self.template.execute_partial(header, FuncSet::Header);
        all.push('\n');
        all.push_str(&out);
        let rows: Vec<Vec<String>> = all
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect();
        Ok(table::render(&rows))
    }
}

/// A list command's row (docker's `*formatter.xxxContext`, `ty` names it in errors):
/// its fields, JSON-encoded as sorted keys as docker's contexts are, and `.Label "k"`
/// answering from `labels`.
pub fn row(ty: &str, fields: Vec<(&str, Value)>, labels: Vec<(String, String)>) -> Value {
    let mut fields: Vec<(String, Value)> =
        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    fields.push((
        "Label".into(),
        Value::method("Label", move |name: &str| {
            labels
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }),
    ));
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Value::context(ty, fields)
}

/// docker's `SubHeaderContext`: the column title of each field, and `.Label "k"`
/// titled as docker titles label columns (the last dotted part, `-` and `_` as spaces).
pub fn header(titles: &[(&str, &str)]) -> Value {
    let mut fields: Vec<(String, Value)> = titles
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::string(*v)))
        .collect();
    fields.push((
        "Label".into(),
        Value::method("Label", |name: &str| {
            name.rsplit('.')
                .next()
                .unwrap_or_default()
                .replace(['-', '_'], " ")
        }),
    ));
    Value::context("formatter.SubHeaderContext", fields)
}

#[cfg(test)]
mod tests;
