//! A registry speaking the OCI distribution API (and Docker's registry v2), through
//! `oci-client`: manifests by tag or digest, blobs as streams; bearer tokens and basic
//! auth; HTTPS, or plain HTTP when asked and by default for a registry on loopback.

use std::io;
use std::sync::Once;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;

use crate::digest::Digest;
use crate::error::{Error, Result, one_line};
use crate::media;
use crate::reference::Reference;

/// User name and password for basic auth (and for the token service of a bearer-auth
/// registry).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ****)", self.username)
    }
}

impl Credentials {
    /// ctr's `--user USER[:PASSWORD]`.
    pub fn parse(text: &str) -> Credentials {
        let (username, password) = text.split_once(':').unwrap_or((text, ""));
        Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }
}

/// How to talk to the registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Plain HTTP even for a registry that is not on loopback (ctr's `--plain-http`).
    pub plain_http: bool,
    pub credentials: Option<Credentials>,
    /// Accept any TLS certificate (ctr's `--skip-verify`).
    pub skip_verify: bool,
}

pub(crate) struct Registry {
    client: oci_client::Client,
    auth: RegistryAuth,
    reference: Reference,
    oci_reference: oci_client::Reference,
}

/// reqwest's rustls is built without a crypto provider: ring is ours, installed once.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Registry {
    pub fn new(reference: &Reference, options: &RegistryOptions) -> Registry {
        install_crypto_provider();
        let protocol = if options.plain_http {
            ClientProtocol::Http
        } else if reference.is_loopback() {
            ClientProtocol::HttpsExcept(vec![reference.domain().to_owned()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: options.skip_verify,
            // We pick the platform ourselves, from the raw index.
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            ..ClientConfig::default()
        };
        let auth = match &options.credentials {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let oci_reference = match (reference.tag(), reference.digest()) {
            (_, Some(digest)) => oci_client::Reference::with_digest(
                reference.domain().to_owned(),
                reference.path().to_owned(),
                digest.to_string(),
            ),
            (Some(tag), None) => oci_client::Reference::with_tag(
                reference.domain().to_owned(),
                reference.path().to_owned(),
                tag.to_owned(),
            ),
            (None, None) => unreachable!("a parsed reference has a tag or a digest"),
        };
        Registry {
            client: oci_client::Client::new(config),
            auth,
            reference: reference.clone(),
            oci_reference,
        }
    }

    /// The manifest or index the reference names (`digest`: the one with that digest in
    /// the same repository), and its digest, checked against what the registry says.
    pub async fn manifest(&self, digest: Option<&Digest>) -> Result<(Bytes, Digest)> {
        let reference = match digest {
            Some(d) => self.oci_reference.clone_with_digest(d.to_string()),
            None => self.oci_reference.clone(),
        };
        let (body, got) = self
            .client
            .pull_manifest_raw(&reference, &self.auth, &media::MANIFEST_TYPES)
            .await
            .map_err(|e| self.error(e))?;
        let got = Digest::parse(&got)?;
        let actual = Digest::of(&body);
        if actual != got || digest.is_some_and(|d| *d != actual) {
            return Err(Error::DigestMismatch {
                what: format!("manifest of {}", self.reference),
                expected: digest.unwrap_or(&got).to_string(),
                actual: actual.to_string(),
            });
        }
        Ok((body, actual))
    }

    /// The blob `digest` as a stream of chunks.
    pub async fn blob(
        &self,
        media_type: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<impl Stream<Item = io::Result<Bytes>> + Unpin + use<>> {
        let descriptor = OciDescriptor {
            media_type: media_type.to_owned(),
            digest: digest.to_string(),
            size: size as i64,
            ..OciDescriptor::default()
        };
        let stream = self
            .client
            .pull_blob_stream(&self.oci_reference, &descriptor)
            .await
            .map_err(|e| self.error(e))?;
        // oci-client checks the digest at the end; the caller checks size and digest
        // itself (saying which is wrong), so its verdict just ends the stream.
        Ok(stream.stream.scan((), |_, item| {
            let item = match item {
                Err(e) if is_digest_error(&e) => None,
                other => Some(other),
            };
            std::future::ready(item)
        }))
    }

    /// One line for what the registry or the connection said.
    fn error(&self, e: OciDistributionError) -> Error {
        let reference = self.reference.to_string();
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => Error::Unauthorized { reference },
            OciDistributionError::RegistryError { envelope, .. } => {
                let messages: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| {
                        let code = format!("{:?}", e.code).to_lowercase();
                        if e.message.is_empty() {
                            code
                        } else {
                            e.message.clone()
                        }
                    })
                    .collect();
                Error::Registry {
                    reference,
                    reason: one_line(&messages.join("; ")),
                }
            }
            OciDistributionError::ServerError { code, message, .. } => Error::Registry {
                reference,
                reason: one_line(&format!("HTTP {code}: {message}")),
            },
            other => Error::Registry {
                reference,
                reason: error_chain(&other),
            },
        }
    }
}

fn is_digest_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| {
        inner
            .downcast_ref::<oci_client::errors::DigestError>()
            .is_some()
    })
}

/// `e` and its sources on one line, without repeating a part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    one_line(&parts.join(": "))
}
