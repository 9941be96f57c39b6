//! Re-indents JSON exactly as Go's `json.Indent` with four spaces does, without parsing
//! it into a map: `inspect` prints the daemon's documents with their keys in the order
//! the daemon wrote them, as docker does.

/// Indents one JSON document (already valid: it came from the daemon), `prefix` before
/// every line but the first.
pub fn indent(json: &[u8], prefix: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Set after `{` or `[`: a newline is owed unless the container is empty.
    let mut need_indent = false;
    let text = String::from_utf8_lossy(json);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(prefix);
        for _ in 0..depth {
            out.push_str("    ");
        }
    };
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != '}' && c != ']' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                need_indent = true;
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    // An empty container stays on one line: `{}`, `[]`.
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_go() {
        let raw = br#"{"Id":"x","Args":[],"Env":["A=1","B=\"{,}\""],"Labels":{},"State":{"ExitCode":0,"Running":false},"N":null}"#;
        let want = r#"{
    "Id": "x",
    "Args": [],
    "Env": [
        "A=1",
        "B=\"{,}\""
    ],
    "Labels": {},
    "State": {
        "ExitCode": 0,
        "Running": false
    },
    "N": null
}"#;
        assert_eq!(indent(raw, ""), want);
        assert_eq!(
            indent(b"[{\"a\":1}]", ""),
            "[\n    {\n        \"a\": 1\n    }\n]"
        );
    }
}
