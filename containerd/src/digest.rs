//! Content digests (`sha256:<64 lowercase hex>`, the only algorithm the store computes),
//! and a reader that hashes and counts what passes through it.

use std::io::Read;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// The hex part of a valid sha256 digest string.
pub fn hex(digest: &str) -> Result<&str> {
    let bad = |why: &str| Err(Error::InvalidArgument(format!("digest {digest:?}: {why}")));
    let Some((algo, hex)) = digest.split_once(':') else {
        return bad("expected <algorithm>:<hex>");
    };
    if algo != "sha256" {
        return bad("unsupported digest algorithm (only sha256)");
    }
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return bad("expected 64 lowercase hex characters");
    }
    Ok(hex)
}

pub fn validate(digest: &str) -> Result<()> {
    hex(digest).map(|_| ())
}

pub fn format(hash: &[u8]) -> String {
    let mut s = String::with_capacity(7 + hash.len() * 2);
    s.push_str("sha256:");
    for b in hash {
        s.push_str(&std::format!("{b:02x}"));
    }
    s
}

pub fn of(data: &[u8]) -> String {
    format(&Sha256::digest(data))
}

/// Hex of the sha256 of `s`: a fixed-length file name for any string.
pub fn hex_of(s: &str) -> String {
    of(s.as_bytes())[7..].to_string()
}

/// Passes bytes through while hashing and counting them.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The digest and size of everything read so far.
    pub fn finish(self) -> (String, u64) {
        (format(&self.hasher.finalize()), self.count)
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let d = of(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(validate(&d).is_ok());
        for bad in [
            "",
            "sha256",
            "sha256:abc",
            "md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        let mut h = Hashing::new(&b"hello"[..]);
        std::io::copy(&mut h, &mut std::io::sink()).unwrap();
        assert_eq!(h.finish(), (of(b"hello"), 5));
    }
}
