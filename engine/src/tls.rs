//! TLS for `-H tcp://` listeners: the server configuration built from `--tlscert`,
//! `--tlskey` and (with `--tlsverify`) `--tlscacert`, and the stream type hyper serves.
//!
//! The files are read once at start, so a bad path or PEM stops the daemon with one
//! clear line instead of failing every handshake later.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::TlsConfig;

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading the TLS {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the TLS {what} {} is not valid PEM: {source}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the TLS {what} {} holds no {wanted}", path.display())]
    Empty {
        what: &'static str,
        path: PathBuf,
        wanted: &'static str,
    },
    #[error("the TLS CA certificate {} cannot be used: {source}", path.display())]
    BadCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("the client certificate verifier: {0}")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    #[error("the TLS certificate {} and key {} do not make a usable pair: {source}", cert.display(), key.display())]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

/// The provider is named rather than taken from the process default, so that another
/// crate enabling a second provider in the build cannot make rustls refuse to choose.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server configuration: with `verify`, a client certificate chaining to the
/// CA is required (dockerd's `--tlsverify`); without it, none is asked for.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs("certificate", &tls.cert)?;
    let key = read_key(&tls.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Pair {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            source,
        })?;
    let builder = if tls.verify {
        let mut roots = RootCertStore::empty();
        for ca in read_certs("CA certificate", &tls.ca)? {
            roots.add(ca).map_err(|source| TlsError::BadCa {
                path: tls.ca.clone(),
                source,
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(TlsError::Verifier)?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Pair {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            source,
        })?;
    // The Engine API is HTTP/1.1 only (hijacking needs it).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what,
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
            wanted: "CERTIFICATE block",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "key";
    let pem = read_file(what, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|source| match source {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Empty {
            what,
            path: path.to_owned(),
            wanted: "private key (PKCS#8, PKCS#1 or SEC1)",
        },
        source => TlsError::Pem {
            what,
            path: path.to_owned(),
            source,
        },
    })
}

/// A server-side TLS connection as hyper serves it.
///
/// The docker CLI ends its half of an attach by shutting down the TCP write side without
/// a TLS close_notify (it half-closes the raw connection). rustls reports that as
/// `UnexpectedEof`; for us it is the client's end of input, as it is for Go's TLS, so
/// reads turn it into EOF and the container's stdin gets closed rather than the session
/// torn down.
pub struct TlsConn(tokio_rustls::server::TlsStream<TcpStream>);

impl TlsConn {
    pub fn new(stream: tokio_rustls::server::TlsStream<TcpStream>) -> TlsConn {
        TlsConn(stream)
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(dir: &Path, verify: bool) -> TlsConfig {
        TlsConfig {
            verify,
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    #[test]
    fn bad_files_are_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = server_config(&tls(d, true)).unwrap_err();
        assert!(e.to_string().contains("reading the TLS certificate"), "{e}");
        assert!(e.to_string().contains("cert.pem"), "{e}");
        std::fs::write(d.join("cert.pem"), "not pem at all\n").unwrap();
        let e = server_config(&tls(d, true)).unwrap_err();
        assert!(e.to_string().contains("holds no CERTIFICATE"), "{e}");
        std::fs::write(
            d.join("cert.pem"),
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = server_config(&tls(d, true)).unwrap_err();
        assert!(e.to_string().contains("not valid PEM"), "{e}");
    }
}
