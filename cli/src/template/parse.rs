//! The template parser: Go's `text/template/parse` grammar (actions, pipelines,
//! `if`/`else if`/`range`/`with`/`break`/`continue`, variables, parenthesized
//! pipelines, field chains) with its error messages, and node printing for the
//! `executing "" at <...>` part of execution errors.

use std::fmt;

use super::fmt::quote;
use super::lex::{Item, T, lex};

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Control),
    Range(Control),
    With(Control),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct Control {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub args: Vec<Arg>,
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.A.B`: `idents[0]` is the variable's name.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Number),
    Str {
        pos: usize,
        quoted: String,
        text: String,
    },
    Ident(usize, String),
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B`
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str { pos, .. }
            | Arg::Ident(pos, _)
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::Str { quoted, .. } => f.write_str(quoted),
            Arg::Ident(_, name) => f.write_str(name),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                a => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// What a parse stopped at: a finished list, `{{else}}` or `{{end}}`.
enum Stop {
    Else,
    End,
}

struct Parser<'a> {
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    is_func: &'a dyn Fn(&str) -> bool,
    action_line: usize,
}

/// Parses `text`; `is_func` says which function names exist. Errors are Go's
/// (`template: :1: function "x" not defined`), with `name` as the template's name.
pub(crate) fn parse(text: &str, is_func: &dyn Fn(&str) -> bool) -> Result<Vec<Node>, String> {
    let mut p = Parser {
        items: lex(text),
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        is_func,
        action_line: 0,
    };
    p.parse()
}

type R<T> = Result<T, String>;

impl Parser<'_> {
    fn next(&mut self) -> Item {
        let it = self.items[self.i.min(self.items.len() - 1)].clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.typ != T::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    /// The line of the last token read, which Go's errors name.
    fn line(&self) -> usize {
        self.items[self.i.saturating_sub(1).min(self.items.len() - 1)].line
    }

    fn error<X>(&self, msg: impl fmt::Display) -> R<X> {
        Err(format!("template: :{}: {msg}", self.line()))
    }

    fn unexpected<X>(&self, item: &Item, context: &str) -> R<X> {
        if item.typ == T::Error {
            let extra = if self.action_line != 0 && self.action_line != item.line {
                format!(" in action started at :{}", self.action_line)
            } else {
                String::new()
            };
            return self.error(format!("{item}{extra}"));
        }
        self.error(format!("unexpected {item} in {context}"))
    }

    fn expect(&mut self, typ: T, context: &str) -> R<Item> {
        let it = self.next_non_space();
        if it.typ != typ {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn parse(&mut self) -> R<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != T::Eof {
            if self.peek().typ == T::LeftDelim {
                let save = self.i;
                self.next();
                let it = self.next_non_space();
                if it.typ == T::Define {
                    return Err("not implemented: {{define}} in templates".into());
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Ok(n) => root.push(n),
                Err(Stop::End) => return self.error("unexpected {{end}}"),
                Err(Stop::Else) => return self.error("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn text_or_action(&mut self) -> R<Result<Node, Stop>> {
        let it = self.next_non_space();
        match it.typ {
            T::Text => Ok(Ok(Node::Text(it.val))),
            T::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> R<Result<Node, Stop>> {
        let it = self.next_non_space();
        match it.typ {
            T::Block | T::Template => {
                return Err(format!("not implemented: {{{{{}}}}} in templates", it.val));
            }
            T::Break => return self.break_control(true).map(Ok),
            T::Continue => return self.break_control(false).map(Ok),
            T::Else => return self.else_control().map(Err),
            T::End => {
                self.expect(T::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            T::If => return self.control("if").map(|c| Ok(Node::If(c))),
            T::Range => return self.control("range").map(|c| Ok(Node::Range(c))),
            T::With => return self.control("with").map(|c| Ok(Node::With(c))),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", T::RightDelim)?;
        Ok(Ok(Node::Action(pipe)))
    }

    fn break_control(&mut self, is_break: bool) -> R<Node> {
        let word = if is_break { "break" } else { "continue" };
        let next = self.next_non_space();
        if next.typ != T::RightDelim {
            return self.unexpected(&next, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.error(format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if is_break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn else_control(&mut self) -> R<Stop> {
        let peek = self.peek_non_space();
        if peek.typ == T::If || peek.typ == T::With {
            // `{{else if ...}}`: the `if` is left for the caller.
            return Ok(Stop::Else);
        }
        self.expect(T::RightDelim, "else")?;
        Ok(Stop::Else)
    }

    fn item_list(&mut self) -> R<(Vec<Node>, Stop)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != T::Eof {
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err(stop) => return Ok((list, stop)),
            }
        }
        self.error("unexpected EOF")
    }

    fn control(&mut self, context: &str) -> R<Control> {
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn control_inner(&mut self, context: &str) -> R<Control> {
        let pipe = self.pipeline(context, T::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, stop) = listed?;
        let else_list = match stop {
            Stop::End => None,
            Stop::Else => {
                let peek = self.peek().typ;
                if context == "if" && peek == T::If {
                    self.next();
                    Some(vec![Node::If(self.control("if")?)])
                } else if context == "with" && peek == T::With {
                    self.next();
                    Some(vec![Node::With(self.control("with")?)])
                } else {
                    let (list, stop) = self.item_list()?;
                    if let Stop::Else = stop {
                        return self.error("expected end; found {{else}}");
                    }
                    Some(list)
                }
            }
        };
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: T) -> R<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != T::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let after = self.peek().clone();
            let next = self.peek_non_space();
            match next.typ {
                T::Assign | T::Declare => {
                    pipe.is_assign = next.typ == T::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break;
                }
                T::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            T::Variable | T::RightDelim | T::RightParen => continue 'decls,
                            _ => return self.error("range can only initialize variables"),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after;
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match it.typ {
                T::Bool
                | T::CharConstant
                | T::Complex
                | T::Dot
                | T::Field
                | T::Identifier
                | T::Number
                | T::Nil
                | T::RawString
                | T::String
                | T::Variable
                | T::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&it, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> R<()> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str { .. }
            ) {
                return self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> R<Command> {
        self.peek_non_space();
        let mut cmd = Command { args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.typ {
                T::Space => continue,
                T::RightDelim | T::RightParen => self.backup(),
                T::Pipe => {}
                _ => return self.unexpected(&it, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.error("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != T::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == T::Field {
            fields.push(self.next().val[1..].to_owned());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.error(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string(), false)
                ));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let it = self.next_non_space();
        Ok(Some(match it.typ {
            T::Identifier => {
                if !(self.is_func)(&it.val) {
                    return self.error(format!("function {} not defined", quote(&it.val, false)));
                }
                Arg::Ident(it.pos, it.val)
            }
            T::Dot => Arg::Dot(it.pos),
            T::Nil => Arg::Nil(it.pos),
            T::Variable => {
                let name = it.val.split('.').next().unwrap_or("").to_owned();
                if !self.vars.contains(&name) {
                    return self.error(format!("undefined variable {}", quote(&name, false)));
                }
                Arg::Variable {
                    pos: it.pos,
                    idents: vec![it.val],
                }
            }
            T::Field => Arg::Field {
                pos: it.pos,
                idents: vec![it.val[1..].to_owned()],
            },
            T::Bool => Arg::Bool(it.pos, it.val == "true"),
            T::CharConstant | T::Complex | T::Number => {
                let n = match number(&it.val, it.typ) {
                    Ok(n) => n,
                    Err(e) => return self.error(e),
                };
                Arg::Number(it.pos, n)
            }
            T::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", T::RightParen)?,
            )),
            T::String | T::RawString => {
                let text = match unquote(&it.val) {
                    Some(t) => t,
                    None => return self.error("invalid syntax"),
                };
                Arg::Str {
                    pos: it.pos,
                    quoted: it.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Go's `parse.NewNumber`: the integer, unsigned and float readings of a literal.
fn number(text: &str, typ: T) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_owned(),
        int: None,
        uint: None,
        float: None,
    };
    if typ == T::Complex {
        return Err("not implemented: complex numbers in templates".into());
    }
    if typ == T::CharConstant {
        let inner = &text[1..text.len() - 1];
        let c = unquote_char(inner).ok_or_else(|| "invalid syntax".to_string())?;
        n.int = Some(c as i64);
        n.uint = Some(c as u64);
        n.float = Some(c as u32 as f64);
        return Ok(n);
    }
    if text.ends_with('i') {
        return Err("not implemented: complex numbers in templates".into());
    }
    n.uint = parse_int(text).and_then(|v| u64::try_from(v).ok());
    n.int = parse_int(text).and_then(|v| i64::try_from(v).ok());
    if n.int == Some(0) {
        n.uint = Some(0);
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text, false)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", quote(text, false)));
    }
    Ok(n)
}

/// `strconv.ParseInt(text, 0, 64)` widened: base prefixes, underscores, a sign.
fn parse_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_owned(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && !prefixed && radix == 10 && digits.starts_with('_') {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let v = i128::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn parse_float(text: &str) -> Option<f64> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    if clean.to_ascii_lowercase().contains("0x") {
        return None;
    }
    clean.parse::<f64>().ok()
}

/// Go's `strconv.Unquote` for "..." and `...` literals.
fn unquote(lit: &str) -> Option<String> {
    if let Some(raw) = lit.strip_prefix('`') {
        return raw.strip_suffix('`').map(|s| s.replace('\r', ""));
    }
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                if hex.len() != n {
                    return None;
                }
                let v = u32::from_str_radix(&hex, 16).ok()?;
                if e == 'x' {
                    // A byte; only valid UTF-8 results make a Rust string.
                    out.push(char::from_u32(v)?);
                } else {
                    out.push(char::from_u32(v)?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                if v > 255 {
                    return None;
                }
                out.push(char::from_u32(v)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn unquote_char(inner: &str) -> Option<char> {
    if inner == "\"" {
        return Some('"');
    }
    if inner == "\\'" {
        return Some('\'');
    }
    let s = unquote(&format!("\"{inner}\""))?;
    let mut cs = s.chars();
    let c = cs.next()?;
    cs.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<Node>, String> {
        parse(s, &|name| {
            matches!(name, "printf" | "index" | "len" | "upper")
        })
    }

    #[test]
    fn parse_errors_are_gos() {
        let e = |s: &str| p(s).unwrap_err();
        assert_eq!(e("{{nope}}"), "template: :1: function \"nope\" not defined");
        assert_eq!(e("{{if}}x{{end}}"), "template: :1: missing value for if");
        assert_eq!(e("{{end}}"), "template: :1: unexpected {{end}}");
        assert_eq!(e("{{else}}"), "template: :1: unexpected {{else}}");
        assert_eq!(e("{{range .X}}"), "template: :1: unexpected EOF");
        assert_eq!(e("{{.X"), "template: :1: unclosed action");
        assert_eq!(e("{{$x}}"), "template: :1: undefined variable \"$x\"");
        assert_eq!(e("{{}}"), "template: :1: missing value for command");
        assert_eq!(
            e("{{.X | 3}}"),
            "template: :1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            e("{{\"a\".X}}"),
            "template: :1: unexpected . after term \"\\\"a\\\"\""
        );
        assert_eq!(e("{{break}}"), "template: :1: {{break}} outside {{range}}");
        assert_eq!(e("x\n{{.X}}\n{{end}}"), "template: :3: unexpected {{end}}");
        assert_eq!(e("{{.X )}}"), "template: :1: unexpected right paren");
        assert_eq!(
            e("{{99999999999999999999}}"),
            "template: :1: integer overflow: \"99999999999999999999\""
        );
    }

    #[test]
    fn nodes_print_like_go() {
        let nodes = p("{{$x := index .A \"k\" | printf \"%s\" | upper}}{{(len .B).C}}").unwrap();
        let Node::Action(pipe) = &nodes[0] else {
            panic!()
        };
        assert_eq!(
            pipe.to_string(),
            "$x := index .A \"k\" | printf \"%s\" | upper"
        );
        let Node::Action(pipe) = &nodes[1] else {
            panic!()
        };
        assert_eq!(pipe.to_string(), "(len .B).C");
    }

    #[test]
    fn numbers() {
        let n = number("0x1F", T::Number).unwrap();
        assert_eq!(n.int, Some(31));
        let n = number("1e6", T::Number).unwrap();
        assert_eq!((n.int, n.float), (Some(1_000_000), Some(1e6)));
        let n = number("'a'", T::CharConstant).unwrap();
        assert_eq!(n.int, Some(97));
        assert!(number("1.5", T::Number).unwrap().int.is_none());
        assert_eq!(unquote(r#""\u00e9\x41\101""#).unwrap(), "éAA");
    }
}
