//! Names clients choose (namespaces, container IDs, exec IDs): containerd's identifier
//! rules, which also keep them safe as path components.

use crate::error::{Error, Result};

const MAX_LEN: usize = 76;

/// Letters and digits, with single `.`, `_` or `-` between them; at most 76 characters.
pub fn validate(kind: &str, s: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidArgument(format!("{kind} {s:?}: {why}")));
    if s.is_empty() {
        return bad("must not be empty");
    }
    if s.len() > MAX_LEN {
        return bad("longer than 76 characters");
    }
    let bytes = s.as_bytes();
    let sep = |b: u8| matches!(b, b'.' | b'_' | b'-');
    if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return bad("must start and end with a letter or digit");
    }
    for w in bytes.windows(2) {
        if sep(w[0]) && sep(w[1]) {
            return bad("has two separators in a row");
        }
    }
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || sep(*b)) {
        return bad("may only hold letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["default", "k8s.io", "a-b_c.d", "x1"] {
            assert!(validate("namespace", ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", "-a", "a-", "a..b", "é", &"a".repeat(77)] {
            assert!(validate("namespace", bad).is_err(), "{bad:?}");
        }
    }
}
