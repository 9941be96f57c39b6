//! Container names: Docker's validation rule, and generated `adjective_name` names for
//! containers created without one.

use crate::error::{Error, Result};

/// Longer names are refused: they would not fit a hostname-like use and nothing
/// legitimate needs them.
pub const MAX_NAME_LEN: usize = 253;

/// Checks a requested name (`/web` or `web`) and returns it without the slash. Docker's
/// rule: `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = bare.bytes();
    let ok = bare.len() >= 2
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(Error::BadParameter(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    if bare.len() > MAX_NAME_LEN {
        return Err(Error::BadParameter(format!(
            "Invalid container name: longer than {MAX_NAME_LEN} characters"
        )));
    }
    Ok(bare.to_owned())
}

const ADJECTIVES: &[&str] = &[
    "admiring",
    "brave",
    "busy",
    "calm",
    "clever",
    "cool",
    "eager",
    "elegant",
    "focused",
    "friendly",
    "gallant",
    "happy",
    "hopeful",
    "jolly",
    "keen",
    "kind",
    "lucid",
    "modest",
    "nifty",
    "optimistic",
    "peaceful",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "stoic",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
];

const NAMES: &[&str] = &[
    "babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermat", "gauss",
    "hopper", "hypatia", "kepler", "knuth", "lamport", "lovelace", "maxwell", "mendel", "newton",
    "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak", "yalow", "zuse",
    "goldberg", "liskov", "torvalds", "wing", "perlman",
];

/// A random `adjective_name`; after a few clashes a digit is appended, as Docker does.
pub fn generate(retry: u32) -> String {
    let mut bytes = [0u8; 2];
    // SAFETY: writing into our own buffer.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 2, 0) };
    let adjective = ADJECTIVES[bytes[0] as usize % ADJECTIVES.len()];
    let name = NAMES[bytes[1] as usize % NAMES.len()];
    if retry > 0 {
        format!("{adjective}_{name}{}", retry)
    } else {
        format!("{adjective}_{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_name_rule() {
        assert_eq!(validate("/web").unwrap(), "web");
        assert_eq!(validate("a.b-c_d1").unwrap(), "a.b-c_d1");
        for bad in ["", "/", "a", "../x", "-a", "a/b", "a b", "é1", "_x"] {
            let e = validate(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad:?}");
        }
        assert!(validate(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
        let g = generate(0);
        assert!(validate(&g).is_ok(), "{g}");
        assert!(generate(3).ends_with('3'));
    }
}
