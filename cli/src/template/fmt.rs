//! Go's `fmt` for template values: `printf`'s verbs, flags, width and precision, its
//! `%!d(string=x)` complaints, and `strconv`'s float formatting (`%v` of 1e6 is
//! `1e+06`, of 123456 is `123456`).

use std::fmt::Write as _;

use super::value::{Value, write_value};

/// `strconv.FormatFloat(f, verb, prec, 64)` for verbs `e`, `f`, `g` (`None` = the
/// shortest representation that reads back the same). `upper` gives `E`/`G`.
pub(crate) fn format_float(f: f64, verb: char, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let body = match verb {
        'f' => match prec {
            Some(p) => format!("{a:.p$}"),
            None => format!("{a}"),
        },
        'e' => {
            let (digits, dp) = match prec {
                Some(p) => decimal_digits(a, Some(p + 1), false),
                None => decimal_digits(a, None, true),
            };
            let p = prec.unwrap_or(digits.len().saturating_sub(1));
            fmt_e(&digits, dp, p, upper)
        }
        _ => {
            // 'g'
            let shortest = prec.is_none();
            let p = prec.map(|p| p.max(1));
            let (digits, dp) = decimal_digits(a, p, true);
            let nd = digits.len() as i64;
            let mut eprec = p.map_or(nd, |p| p as i64);
            if !shortest && eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            let mut prec = p.map_or(nd, |p| p as i64);
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&digits, dp, (prec - 1).max(0) as usize, upper)
            } else {
                if prec > dp {
                    prec = nd;
                }
                fmt_f(&digits, dp, (prec - dp).max(0) as usize)
            }
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// The decimal digits of `a` (no trailing zeros when `trim`) and the position of the
/// decimal point: 1234.5 → ("12345", 4). `sig` rounds to that many significant digits.
fn decimal_digits(a: f64, sig: Option<usize>, trim: bool) -> (Vec<u8>, i64) {
    if a == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1), a),
        None => format!("{a:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    if trim {
        while digits.len() > 1 && digits.last() == Some(&b'0') {
            digits.pop();
        }
    }
    (digits, exp + 1)
}

fn fmt_e(digits: &[u8], dp: i64, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    out.push(digits.first().map_or('0', |d| *d as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digits.get(i).map_or('0', |d| *d as char));
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
    out
}

fn fmt_f(digits: &[u8], dp: i64, prec: usize) -> String {
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(digits.get(i).map_or('0', |d| *d as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i64 {
            let j = dp + i;
            let c = if j >= 0 {
                digits.get(j as usize).map_or('0', |d| *d as char)
            } else {
                '0'
            };
            out.push(c);
        }
    }
    out
}

/// Go's `strconv.Quote` (`ascii`: `QuoteToASCII`).
pub(crate) fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) && (!ascii || c.is_ascii()) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the ASCII space.
fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || ('\u{e000}'..='\u{f8ff}').contains(&c))
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        // Width: digits or `*` (an int argument).
        if chars.peek().map(|c| c.1) == Some('*') {
            chars.next();
            match args.get(next) {
                Some(Value::Int(w, _)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            next += 1;
        } else {
            spec.width = digits(&mut chars);
        }
        if chars.peek().map(|c| c.1) == Some('.') {
            chars.next();
            if chars.peek().map(|c| c.1) == Some('*') {
                chars.next();
                match args.get(next) {
                    Some(Value::Int(p, _)) if *p >= 0 => spec.prec = Some(*p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                next += 1;
            } else {
                spec.prec = Some(digits(&mut chars).unwrap_or(0));
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        format_arg(&mut out, arg, verb, spec);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Invalid => out.push_str("<nil>"),
                a => {
                    let _ = write!(out, "{}={}", a.type_name(), a.to_go_string());
                }
            }
        }
        out.push(')');
    }
    out
}

fn digits(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(v as usize));
        chars.next();
    }
    n
}

fn pad(out: &mut String, s: &str, spec: Spec, numeric: bool) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        // Zeros go after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(if spec.zero { '0' } else { ' ' }, fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, arg: &Value, verb: char) {
    match arg {
        Value::Invalid => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        a => {
            let _ = write!(out, "%!{verb}({}={})", a.type_name(), a.to_go_string());
        }
    }
}

fn sign(s: String, neg: bool, spec: Spec) -> String {
    if neg {
        format!("-{s}")
    } else if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn format_arg(out: &mut String, arg: &Value, verb: char, spec: Spec) {
    if verb == 'T' {
        pad(out, &arg.type_name(), spec, false);
        return;
    }
    match arg {
        Value::Invalid => match verb {
            'v' => pad(out, "<nil>", spec, false),
            _ => bad_verb(out, arg, verb),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, spec, false),
            _ => bad_verb(out, arg, verb),
        },
        Value::Int(i, _) => {
            let neg = *i < 0;
            let u = i.unsigned_abs();
            let body = match verb {
                'v' | 'd' => u.to_string(),
                'b' => format!("{u:b}"),
                'o' => {
                    if spec.sharp {
                        format!("0{u:o}")
                    } else {
                        format!("{u:o}")
                    }
                }
                'O' => format!("0o{u:o}"),
                'x' => {
                    if spec.sharp {
                        format!("0x{u:x}")
                    } else {
                        format!("{u:x}")
                    }
                }
                'X' => {
                    if spec.sharp {
                        format!("0X{u:X}")
                    } else {
                        format!("{u:X}")
                    }
                }
                'c' => {
                    let c = char::from_u32(*i as u32).unwrap_or('\u{FFFD}');
                    pad(out, &c.to_string(), spec, false);
                    return;
                }
                'q' => {
                    let c = char::from_u32(*i as u32).unwrap_or('\u{FFFD}');
                    let q = quote(&c.to_string(), spec.plus);
                    pad(out, &format!("'{}'", &q[1..q.len() - 1]), spec, false);
                    return;
                }
                'U' => {
                    pad(out, &format!("U+{:04X}", *i), spec, false);
                    return;
                }
                _ => return bad_verb(out, arg, verb),
            };
            let body = match spec.prec {
                Some(p) if body.len() < p => format!("{}{body}", "0".repeat(p - body.len())),
                _ => body,
            };
            pad(out, &sign(body, neg, spec), spec, spec.prec.is_none());
        }
        Value::Float(f, _) => {
            let (v, p, upper) = match verb {
                'v' | 'g' => ('g', spec.prec, false),
                'G' => ('g', spec.prec, true),
                'e' => ('e', spec.prec.or(Some(6)), false),
                'E' => ('e', spec.prec.or(Some(6)), true),
                'f' | 'F' => ('f', spec.prec.or(Some(6)), false),
                _ => return bad_verb(out, arg, verb),
            };
            let s = format_float(f.abs(), v, p, upper);
            let s = sign(s, f.is_sign_negative() && !f.is_nan(), spec);
            pad(out, &s, spec, f.is_finite());
        }
        Value::Str(s, _) => {
            let text: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            match verb {
                'v' | 's' => pad(out, &text, spec, false),
                'q' => {
                    let q = if spec.sharp && !text.contains('`') && !text.contains('\n') {
                        format!("`{text}`")
                    } else {
                        quote(&text, spec.plus)
                    };
                    pad(out, &q, spec, false);
                }
                'x' | 'X' => {
                    let mut h = String::new();
                    for (i, b) in text.bytes().enumerate() {
                        if spec.space && i > 0 {
                            h.push(' ');
                        }
                        if spec.sharp && (spec.space || i == 0) {
                            h.push_str(if verb == 'x' { "0x" } else { "0X" });
                        }
                        if verb == 'x' {
                            let _ = write!(h, "{b:02x}");
                        } else {
                            let _ = write!(h, "{b:02X}");
                        }
                    }
                    pad(out, &h, spec, false);
                }
                _ => bad_verb(out, arg, verb),
            }
        }
        Value::NilPtr(..) => match verb {
            'v' => pad(out, "<nil>", spec, false),
            _ => bad_verb(out, arg, verb),
        },
        Value::Time(_, go) => match verb {
            'v' | 's' => pad(out, go, spec, false),
            _ => bad_verb(out, arg, verb),
        },
        Value::Method(_) => bad_verb(out, arg, verb),
        Value::List(_) | Value::Map(_) | Value::Struct(_) if verb == 'v' => {
            let mut s = String::new();
            write_value(&mut s, arg, spec.plus, 0);
            pad(out, &s, spec, false);
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                nested(out, item, verb, spec);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, &Value::Str(k.as_str().into(), m.key_ty), verb, spec);
                out.push(':');
                nested(out, item, verb, spec);
            }
            out.push(']');
        }
        Value::Struct(s) => {
            if s.ptr {
                out.push('&');
            }
            out.push('{');
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if spec.plus {
                    out.push_str(&f.name);
                    out.push(':');
                }
                nested(out, &f.value, verb, spec);
            }
            out.push('}');
        }
    }
}

/// An element inside a container: a nil interface prints `<nil>` whatever the verb.
fn nested(out: &mut String, v: &Value, verb: char, spec: Spec) {
    match v {
        Value::Invalid => out.push_str("<nil>"),
        v => format_arg(out, v, verb, spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(f: f64) -> String {
        format_float(f, 'g', None, false)
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(g(1234567.0), "1.234567e+06");
        assert_eq!(g(123456.0), "123456");
        assert_eq!(g(100000.0), "100000");
        assert_eq!(g(1e6), "1e+06");
        assert_eq!(g(1073741824.0), "1.073741824e+09");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(1e21), "1e+21");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(0.0), "0");
        assert_eq!(g(-2.5), "-2.5");
        assert_eq!(format_float(1.23456, 'f', Some(2), false), "1.23");
        assert_eq!(format_float(1234.5678, 'e', Some(6), false), "1.234568e+03");
        assert_eq!(format_float(0.000012, 'g', None, false), "1.2e-05");
        assert_eq!(format_float(1.5, 'g', Some(3), false), "1.5");
        assert_eq!(format_float(1e10, 'g', Some(3), false), "1e+10");
        assert_eq!(format_float(123456.0, 'g', Some(3), false), "1.23e+05");
    }

    #[test]
    fn printf_verbs_and_complaints() {
        let s = |v: &str| Value::string(v);
        let args = [
            Value::int(42),
            s("s"),
            s("a\"b\n"),
            Value::Float(1.23456, "float64"),
            s("ab"),
            Value::int(42),
            Value::int(255),
            s("hi"),
            Value::Bool(true),
            Value::Float(1.5, "float64"),
        ];
        assert_eq!(
            sprintf("%d|%s|%q|%5.2f|%-5s|%05d|%x|%X|%t|%T", &args),
            r#"42|s|"a\"b\n"| 1.23|ab   |00042|ff|6869|true|float64"#
        );
        assert_eq!(sprintf("%d %s", &[s("x")]), "%!d(string=x) %!s(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::int(1), Value::int(2)]),
            "1%!(EXTRA int=2)"
        );
        assert_eq!(
            sprintf("%v|%d", &[Value::Invalid, Value::Invalid]),
            "<nil>|%!d(<nil>)"
        );
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(
            sprintf("%s", &[Value::strings(vec!["a".into(), "b".into()])]),
            "[a b]"
        );
        assert_eq!(
            sprintf(
                "%+d|% d|%.3d",
                &[Value::int(5), Value::int(5), Value::int(7)]
            ),
            "+5| 5|007"
        );
        assert_eq!(
            sprintf(
                "%c%c|%U|%q",
                &[
                    Value::int(104),
                    Value::int(105),
                    Value::int(65),
                    Value::int(97)
                ]
            ),
            "hi|U+0041|'a'"
        );
        assert_eq!(
            sprintf(
                "%.2s|%8.3f|%-8v|",
                &[s("abc"), Value::Float(-1.0, "float64"), Value::Bool(false)]
            ),
            "ab|  -1.000|false   |"
        );
    }

    #[test]
    fn quoting_like_strconv() {
        assert_eq!(quote("é\t\u{1}", false), "\"é\\t\\x01\"");
        assert_eq!(quote("é", true), "\"\\u00e9\"");
    }
}
