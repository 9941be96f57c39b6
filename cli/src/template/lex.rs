//! The template lexer: Go's `text/template/parse` scanner (delimiters `{{ }}`, trim
//! markers `{{- ` and ` -}}`, comments, and the tokens inside actions), producing the
//! same token kinds and error messages.

use super::fmt::quote;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl T {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            T::Block
                | T::Break
                | T::Continue
                | T::Dot
                | T::Define
                | T::Else
                | T::End
                | T::If
                | T::Nil
                | T::Range
                | T::Template
                | T::With
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub typ: T,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Item {
    /// How the parser names a token in its errors (`unexpected "}" in operand`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            T::Eof => f.write_str("EOF"),
            T::Error => f.write_str(&self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", quote(&head, false))
            }
            _ => f.write_str(&quote(&self.val, false)),
        }
    }
}

fn keyword(word: &str) -> Option<T> {
    Some(match word {
        "." => T::Dot,
        "block" => T::Block,
        "break" => T::Break,
        "continue" => T::Continue,
        "define" => T::Define,
        "else" => T::Else,
        "end" => T::End,
        "if" => T::If,
        "range" => T::Range,
        "nil" => T::Nil,
        "template" => T::Template,
        "with" => T::With,
        _ => return None,
    })
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// `{{- ` trims the text before it, ` -}}` the text after; the space is required so
/// that `{{-3}}` stays a number.
fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Go's `%#U`: `U+0023 '#'`.
fn sharp_u(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    paren_depth: usize,
}

/// Scans `input` into tokens, ending with `Eof` or with an `Error` token.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        items: Vec::new(),
        paren_depth: 0,
    };
    l.run();
    l.items
}

impl Lexer<'_> {
    fn line_at(&self, pos: usize) -> usize {
        1 + self.input[..pos].matches('\n').count()
    }

    fn emit(&mut self, typ: T) {
        let val = self.input[self.start..self.pos].to_owned();
        self.items.push(Item {
            typ,
            pos: self.start,
            val,
            line: self.line_at(self.start),
        });
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) {
        self.items.push(Item {
            typ: T::Error,
            pos: self.start,
            val: msg,
            line: self.line_at(self.pos.min(self.input.len())),
        });
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn run(&mut self) {
        loop {
            // Text up to the next action.
            let Some(x) = self.rest().find("{{") else {
                self.pos = self.input.len();
                if self.pos > self.start {
                    self.emit(T::Text);
                }
                self.emit(T::Eof);
                return;
            };
            self.pos += x;
            let trim = has_left_trim(&self.input[self.pos + 2..]);
            let text_end = if trim {
                self.input[self.start..self.pos]
                    .trim_end_matches(is_space)
                    .len()
                    + self.start
            } else {
                self.pos
            };
            if text_end > self.start {
                let delim = self.pos;
                self.pos = text_end;
                self.emit(T::Text);
                self.pos = delim;
            }
            self.start = self.pos;
            if !self.left_delim(trim) {
                return;
            }
        }
    }

    /// At `{{`. Returns false when scanning stopped with an error.
    fn left_delim(&mut self, trim: bool) -> bool {
        let after_marker = if trim { 2 } else { 0 };
        self.pos += 2;
        if self.input[self.pos + after_marker..].starts_with("/*") {
            self.pos += after_marker;
            self.start = self.pos;
            return self.comment();
        }
        self.emit(T::LeftDelim);
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        self.inside_action()
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if r.starts_with("}}") {
            return (true, false);
        }
        if has_right_trim(r) && r[2..].starts_with("}}") {
            return (true, true);
        }
        (false, false)
    }

    fn comment(&mut self) -> bool {
        self.pos += 2;
        let Some(i) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += i + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        if trim {
            self.pos += 2;
        }
        self.pos += 2;
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
        }
        self.start = self.pos;
        true
    }

    fn right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += 2;
        self.emit(T::RightDelim);
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.start = self.pos;
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(' | '}'),
        }
    }

    fn inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.right_delim(trim);
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".into());
                return false;
            };
            let ok = match c {
                c if is_space(c) => self.space(),
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".into());
                        false
                    } else {
                        self.emit(T::Declare);
                        true
                    }
                }
                '|' => {
                    self.emit(T::Pipe);
                    true
                }
                '"' => self.quote(),
                '`' => self.raw_quote(),
                '$' => self.variable(),
                '\'' => self.char_constant(),
                '.' if self.peek().is_some_and(|c| !c.is_ascii_digit()) => {
                    self.field_or_variable(T::Field)
                }
                '.' if self.peek().is_none() => self.field_or_variable(T::Field),
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.number()
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.identifier()
                }
                '(' => {
                    self.emit(T::LeftParen);
                    self.paren_depth += 1;
                    true
                }
                ')' => {
                    if self.paren_depth == 0 {
                        self.error("unexpected right paren".into());
                        false
                    } else {
                        self.emit(T::RightParen);
                        self.paren_depth -= 1;
                        true
                    }
                }
                '=' => {
                    self.emit(T::Assign);
                    true
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(T::Char);
                    true
                }
                c => {
                    self.error(format!("unrecognized character in action: {}", sharp_u(c)));
                    false
                }
            };
            if !ok {
                return false;
            }
        }
    }

    fn space(&mut self) -> bool {
        let mut n = 1;
        while self.peek().is_some_and(is_space) {
            self.next();
            n += 1;
        }
        // A space before ` -}}` belongs to the trim marker.
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with("}}") {
            self.pos -= 1;
            if n == 1 {
                return true; // On the delimiter: inside_action sees it next.
            }
        }
        self.emit(T::Space);
        true
    }

    fn identifier(&mut self) -> bool {
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", sharp_u(c)));
            return false;
        }
        let word = &self.input[self.start..self.pos];
        let typ = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => T::Bool,
            None => T::Identifier,
        };
        self.emit(typ);
        true
    }

    fn variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(T::Variable);
            return true;
        }
        self.field_or_variable(T::Variable)
    }

    fn field_or_variable(&mut self, typ: T) -> bool {
        if self.at_terminator() {
            self.emit(if typ == T::Variable {
                T::Variable
            } else {
                T::Dot
            });
            return true;
        }
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", sharp_u(c)));
            return false;
        }
        self.emit(typ);
        true
    }

    fn char_constant(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(T::CharConstant);
        true
    }

    fn quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(T::String);
        true
    }

    fn raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => {
                    self.error("unterminated raw quoted string".into());
                    return false;
                }
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(T::RawString);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_owned();
            self.error(format!("bad number syntax: {}", quote(&text, false)));
            return false;
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_owned();
                self.error(format!("bad number syntax: {}", quote(&text, false)));
                return false;
            }
            self.emit(T::Complex);
        } else {
            self.emit(T::Number);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(T, String)> {
        lex(s).into_iter().map(|i| (i.typ, i.val)).collect()
    }

    #[test]
    fn tokens_and_trim_markers() {
        assert_eq!(
            kinds("a {{- .X.Y | upper -}} b"),
            vec![
                (T::Text, "a".into()),
                (T::LeftDelim, "{{".into()),
                (T::Field, ".X".into()),
                (T::Field, ".Y".into()),
                (T::Space, " ".into()),
                (T::Pipe, "|".into()),
                (T::Space, " ".into()),
                (T::Identifier, "upper".into()),
                (T::RightDelim, "}}".into()),
                (T::Text, "b".into()),
                (T::Eof, "".into()),
            ]
        );
        let k = kinds("{{$x := -3}}{{/* c */}}{{.}}");
        assert!(k.contains(&(T::Number, "-3".into())));
        assert!(k.contains(&(T::Declare, ":=".into())));
        assert!(k.contains(&(T::Dot, ".".into())));
    }

    #[test]
    fn lexer_errors() {
        let last = |s: &str| lex(s).pop().unwrap().val;
        assert_eq!(last("{{.X"), "unclosed action");
        assert_eq!(last("{{\"abc}}"), "unterminated quoted string");
        assert_eq!(last("{{(.X}}"), "unclosed left paren");
        assert_eq!(last("{{.X#}}"), "bad character U+0023 '#'");
        assert_eq!(last("{{/* x }}"), "unclosed comment");
        assert_eq!(last("{{3x}}"), "bad number syntax: \"3x\"");
    }
}
