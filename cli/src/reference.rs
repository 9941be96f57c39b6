//! Image references the way docker normalizes them: `busybox` is
//! `docker.io/library/busybox:latest`, `127.0.0.1:5000/x` keeps its registry. The API
//! gets full names (`fromImage=docker.io/library/busybox`); users see familiar ones.

use crate::error::{Error, Result};

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `127.0.0.1:5000`, `localhost`.
    pub domain: String,
    /// `library/busybox`.
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:...`.
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference> {
        let invalid = || Error::InvalidArgument("invalid reference format".into());
        if text.is_empty() || text.len() > 255 + 128 + 72 {
            return Err(invalid());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => {
                let (algo, hex) = d.split_once(':').ok_or_else(invalid)?;
                if algo.is_empty() || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(invalid());
                }
                (r, Some(d.to_owned()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_owned()),
            ),
            None => (rest, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(invalid());
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
        };
        let domain = if domain == LEGACY_DOMAIN {
            DEFAULT_DOMAIN.to_owned()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_PREFIX}{path}")
        } else {
            path
        };
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::InvalidArgument(format!(
                "invalid reference format: repository name ({path}) must be lowercase"
            )));
        }
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        };
        if !path.split('/').all(component_ok) || domain.is_empty() {
            return Err(invalid());
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// `docker.io/library/busybox`
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox`, `127.0.0.1:5000/busybox`
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.name()
        }
    }

    /// The reference with `latest` filled in when it names neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// `busybox:latest`
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }

    /// `docker.io/library/busybox:latest`
    pub fn full(&self) -> String {
        format!("{}{}", self.name(), self.suffix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.name(), "docker.io/library/busybox");
        assert_eq!(r.tag, None);
        assert_eq!(r.clone().with_default_tag().familiar(), "busybox:latest");
        let r = Reference::parse("127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(r.domain, "127.0.0.1:5000");
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.familiar(), "127.0.0.1:5000/team/app:v1");
        let r = Reference::parse("localhost/x").unwrap();
        assert_eq!(r.full(), "localhost/x");
        let r = Reference::parse("user/app").unwrap();
        assert_eq!(r.full(), "docker.io/user/app");
        assert_eq!(r.familiar(), "user/app");
        let d = format!("busybox@sha256:{}", "a".repeat(64));
        let r = Reference::parse(&d).unwrap();
        assert_eq!(r.clone().with_default_tag().tag, None);
        assert_eq!(r.familiar(), d);
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", "Busybox", "a:", "a:-x", "-a", "a//b", "a@sha256:zz"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Reference::parse("Busybox").unwrap_err().to_string(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
    }
}
