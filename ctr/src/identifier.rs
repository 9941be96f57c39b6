//! containerd's rule for IDs and namespace names (`identifiers.Validate`): checked
//! here before a name becomes part of a path (FIFOs, cgroups), never trusted blindly.

use crate::error::{Error, Result};

/// containerd's limit on the length of an identifier.
const MAX_LENGTH: usize = 76;

/// Checks `value` against `^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$`, at most 76 bytes.
pub(crate) fn validate(what: &'static str, value: &str) -> Result<()> {
    let invalid = |reason: &str| Error::Invalid {
        what,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if value.len() > MAX_LENGTH {
        return Err(invalid("longer than 76 characters"));
    }
    let mut previous_was_separator = true;
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            previous_was_separator = false;
        } else if matches!(c, '.' | '_' | '-') && !previous_was_separator {
            previous_was_separator = true;
        } else {
            return Err(invalid(
                "must be letters and digits, separated by single '.', '_' or '-'",
            ));
        }
    }
    if previous_was_separator {
        return Err(invalid("must end with a letter or digit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_containerd_identifiers() {
        for ok in ["a", "abc-1", "a.b_c-d", "X9", &"a".repeat(76)] {
            validate("id", ok).unwrap();
        }
    }

    #[test]
    fn refuses_paths_and_odd_names() {
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "../x",
            "a/b",
            "a b",
            ".",
            "é",
            &"a".repeat(77),
        ] {
            assert!(validate("id", bad).is_err(), "{bad:?}");
        }
    }
}
