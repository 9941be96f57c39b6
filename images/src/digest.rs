//! Content digests (`sha256:<64 hex>`), computing them and checking content against them.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// A validated sha256 digest, in its canonical form `sha256:<64 lowercase hex>`.
/// Other algorithms are refused: every image this project handles uses sha256, and a
/// digest we cannot verify is worth nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Digest> {
        let invalid = |reason: &str| Error::InvalidDigest {
            digest: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (algorithm, hex) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected ALGORITHM:HEX"))?;
        if algorithm != "sha256" {
            return Err(invalid("unsupported algorithm (only sha256)"));
        }
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("a sha256 digest has 64 lowercase hex digits"));
        }
        Ok(Digest(text.to_owned()))
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(data))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, as used for file names (`blobs/sha256/<hex>`).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Checks that `data` has this digest; `what` names it in the error.
    pub fn verify(&self, what: &str, data: &[u8]) -> Result<()> {
        let actual = Digest::of(data);
        if &actual != self {
            return Err(Error::DigestMismatch {
                what: what.to_owned(),
                expected: self.0.clone(),
                actual: actual.0,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hashes content as it streams past, and checks its size and digest at the end.
pub struct Verifier {
    hasher: Sha256,
    size: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.size += data.len() as u64;
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest of everything seen.
    pub fn digest(self) -> Digest {
        Digest(format!("sha256:{}", hex::encode(self.hasher.finalize())))
    }

    /// Checks size and digest: `what` (e.g. `layer sha256:...`) names the content in the
    /// error. The size goes first: a truncated download says so rather than showing a
    /// digest mismatch.
    pub fn finish(self, what: &str, expected: &Digest, size: u64) -> Result<()> {
        if self.size != size {
            return Err(Error::SizeMismatch {
                what: what.to_owned(),
                expected: size,
                actual: self.size,
            });
        }
        let actual = self.digest();
        if &actual != expected {
            return Err(Error::DigestMismatch {
                what: what.to_owned(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parse_accepts_only_canonical_sha256() {
        assert_eq!(Digest::parse(EMPTY).unwrap().hex().len(), 64);
        for bad in [
            "",
            "sha256",
            "sha256:",
            "sha256:abc",
            &EMPTY.to_uppercase(),
            &format!("{EMPTY}0"),
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_of_content_and_verification() {
        assert_eq!(Digest::of(b"").as_str(), EMPTY);
        let d = Digest::of(b"hello");
        d.verify("blob", b"hello").unwrap();
        let e = d.verify("blob", b"hellO").unwrap_err().to_string();
        assert!(
            e.starts_with("blob: digest mismatch: expected sha256:"),
            "{e}"
        );
    }

    #[test]
    fn verifier_reports_truncation_before_digest() {
        let d = Digest::of(b"hello world");
        let mut v = Verifier::new();
        v.update(b"hello ");
        v.update(b"world");
        v.finish("layer", &d, 11).unwrap();

        let mut v = Verifier::new();
        v.update(b"hello");
        let e = v.finish("layer x", &d, 11).unwrap_err().to_string();
        assert_eq!(e, "layer x: size mismatch: expected 11 bytes, got 5");

        let mut v = Verifier::new();
        v.update(b"hello worlD");
        let e = v.finish("layer x", &d, 11).unwrap_err().to_string();
        assert!(e.contains("digest mismatch"), "{e}");
    }
}
