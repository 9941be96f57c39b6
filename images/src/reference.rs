//! Image references, parsed and normalised as Docker and containerd do
//! (distribution/reference: `ParseNormalizedNamed` then `TagNameOnly`):
//! `busybox` is `docker.io/library/busybox:latest`, `host:port/repo:tag` keeps its
//! registry, `repo@sha256:...` names content by digest.
//!
//! Grammar (distribution/reference `reference.go`):
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [domain "/"] path-component ["/" path-component]*
//! domain     := host [":" port]          host: DNS labels, IPv4, or "[" IPv6 "]"
//! path-comp  := [a-z0-9]+ (([_.]|__|[-]+) [a-z0-9]+)*
//! tag        := [\w][\w.-]{0,127}
//! ```

use std::fmt;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// The old name of Docker Hub's registry, normalised to [`DOCKER_HUB`].
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
/// Where single-component Docker Hub names live.
const OFFICIAL_REPO_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;

/// A fully qualified reference: registry, repository path, and a tag, a digest or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses `text` as `docker pull` does: the registry defaults to Docker Hub, one-part
    /// Docker Hub names get `library/`, and a reference with neither tag nor digest gets
    /// `:latest`.
    pub fn parse(text: &str) -> Result<Reference> {
        let invalid = |reason: &str| Error::InvalidReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(invalid("empty reference"));
        }
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "cannot specify 64-byte hexadecimal strings as a repository name",
            ));
        }
        // The digest, then the tag: a tag is after the last ':' that follows the last '/'.
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let digest = Digest::parse(digest).map_err(|e| match e {
                    Error::InvalidDigest { reason, .. } => invalid(&format!("digest: {reason}")),
                    other => other,
                })?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            validate_tag(tag).map_err(|r| invalid(&r))?;
        }
        if name.is_empty() {
            return Err(invalid("missing repository name"));
        }
        if name.len() > NAME_MAX {
            return Err(invalid(
                "repository name must not be more than 255 characters",
            ));
        }
        let (domain, path) = split_domain(name);
        if path.to_ascii_lowercase() != path {
            return Err(invalid("repository name must be lowercase"));
        }
        validate_domain(&domain).map_err(|r| invalid(&r))?;
        validate_path(&path).map_err(|r| invalid(&r))?;
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_owned()),
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The registry, with its port if it has one (`docker.io`, `127.0.0.1:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The registry's host name without its port, as containerd's distribution-source
    /// label uses it (`127.0.0.1`, `::1`).
    pub fn hostname(&self) -> &str {
        let domain = self.domain.as_str();
        if let Some(rest) = domain.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        domain.split(':').next().unwrap_or(domain)
    }

    /// The repository path (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The reference as Docker prints it to people: Docker Hub's registry and
    /// `library/` left out (`busybox:latest`).
    pub fn familiar(&self) -> String {
        let full = self.to_string();
        let Some(rest) = full.strip_prefix("docker.io/") else {
            return full;
        };
        match rest.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(short) if !self.path[OFFICIAL_REPO_PREFIX.len()..].contains('/') => {
                short.to_owned()
            }
            _ => rest.to_owned(),
        }
    }

    /// What OCI's `org.opencontainers.image.ref.name` holds for this image: the tag,
    /// else the digest (containerd's `ociReferenceName`).
    pub fn object(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => tag.clone(),
            (None, Some(digest)) => digest.to_string(),
            (None, None) => String::new(),
        }
    }

    /// The same repository at `digest` (a platform's manifest of an index).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Whether the registry is on this machine, where plain HTTP is the default
    /// (`localhost` and 127.0.0.0/8, like Docker's insecure-registry defaults, and `::1`).
    pub fn is_loopback(&self) -> bool {
        let host = self.hostname();
        host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

/// Docker's `splitDockerDomain`: the first component is a registry only if it looks like
/// one (has a '.' or a ':', is `localhost`, or has upper case letters).
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_ascii_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DOCKER_HUB.to_owned(), name.to_owned()),
    };
    let domain = if domain == LEGACY_DOCKER_HUB {
        DOCKER_HUB.to_owned()
    } else {
        domain
    };
    let path = if domain == DOCKER_HUB && !path.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{path}")
    } else {
        path
    };
    (domain, path)
}

fn validate_tag(tag: &str) -> std::result::Result<(), String> {
    let bad = || format!("invalid tag {tag:?}");
    let mut chars = tag.chars();
    let first = chars.next().ok_or_else(bad)?;
    if !(first.is_ascii_alphanumeric() || first == '_') || tag.len() > 128 {
        return Err(bad());
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(bad());
    }
    Ok(())
}

fn validate_domain(domain: &str) -> std::result::Result<(), String> {
    let bad = || format!("invalid registry {domain:?}");
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (ip6, after) = rest.split_once(']').ok_or_else(bad)?;
        ip6.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (None, after.strip_prefix(':'))
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(domain), None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    Ok(())
}

fn validate_path(path: &str) -> std::result::Result<(), String> {
    for component in path.split('/') {
        if !path_component_ok(component) {
            return Err(format!("invalid repository path component {component:?}"));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ (([_.]|__|[-]+) [a-z0-9]+)*`
fn path_component_ok(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = component.chars().peekable();
    loop {
        // One or more alphanumerics.
        let mut n = 0;
        while chars.peek().is_some_and(|c| alnum(*c)) {
            chars.next();
            n += 1;
        }
        if n == 0 {
            return false;
        }
        // Then the end, or a separator followed by more alphanumerics.
        let mut separator = String::new();
        while let Some(c) = chars.peek().copied().filter(|c| !alnum(*c)) {
            separator.push(c);
            chars.next();
        }
        if separator.is_empty() {
            return chars.peek().is_none();
        }
        let ok =
            matches!(separator.as_str(), "_" | "." | "__") || separator.chars().all(|c| c == '-');
        if !ok {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    const D: &str = "sha256:b1def7f819b20e6708c3ab7b0bc5ecf94488f698a72e479b16244d9e61f20b63";

    #[test]
    fn docker_hub_names_are_normalised() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            full("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("a/b/c"), "docker.io/a/b/c:latest");
    }

    #[test]
    fn registries_with_ports_and_hosts() {
        let r = Reference::parse("127.0.0.1:5000/busybox:1").unwrap();
        assert_eq!(r.domain(), "127.0.0.1:5000");
        assert_eq!(r.hostname(), "127.0.0.1");
        assert_eq!(r.path(), "busybox");
        assert_eq!(r.tag(), Some("1"));
        assert!(r.is_loopback());
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert!(Reference::parse("localhost:5000/x").unwrap().is_loopback());
        assert!(Reference::parse("127.1.2.3:80/x").unwrap().is_loopback());
        assert!(!Reference::parse("quay.io/x/y").unwrap().is_loopback());
        assert!(!Reference::parse("busybox").unwrap().is_loopback());
        let r = Reference::parse("[::1]:5000/x/y:t").unwrap();
        assert_eq!(r.hostname(), "::1");
        assert!(r.is_loopback());
        assert_eq!(full("Registry/x"), "Registry/x:latest");
        assert_eq!(
            full("example.com/a-b_c.d/e__f:T_1.x-y"),
            "example.com/a-b_c.d/e__f:T_1.x-y"
        );
    }

    #[test]
    fn digests_and_tags() {
        let r = Reference::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().as_str(), D);
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.object(), D);
        let r = Reference::parse(&format!("h:1/r:t@{D}")).unwrap();
        assert_eq!(r.tag(), Some("t"));
        assert_eq!(r.to_string(), format!("h:1/r:t@{D}"));
        assert_eq!(r.object(), "t");
    }

    #[test]
    fn familiar_names() {
        let f = |t: &str| Reference::parse(t).unwrap().familiar();
        assert_eq!(f("busybox"), "busybox:latest");
        assert_eq!(f("user/app:1"), "user/app:1");
        assert_eq!(f("127.0.0.1:5000/busybox:1"), "127.0.0.1:5000/busybox:1");
    }

    #[test]
    fn invalid_references_are_refused() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            ":tag",
            "a//b",
            "a/-b",
            "a/b-",
            "a/b..c",
            "a/b___c",
            "busybox@sha256:abc",
            "busybox@md5:0123",
            "host:port/x",
            "-host.com/x",
            "UPPER/x:y z",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            &format!("{}:x", "a".repeat(256)),
            &format!("busybox:{}", "t".repeat(129)),
        ] {
            let e = Reference::parse(bad);
            assert!(e.is_err(), "{bad:?} parsed as {:?}", e.unwrap());
            let msg = e.unwrap_err().to_string();
            assert!(msg.starts_with("invalid reference"), "{msg}");
            assert!(!msg.contains('\n'));
        }
    }
}
