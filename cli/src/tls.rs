//! TLS to a daemon on `tcp://`: docker's `--tls`, `--tlsverify`, `--tlscacert`,
//! `--tlscert`, `--tlskey` and `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, and a blocking
//! TLS stream that a reader thread and a writer thread can share, as hijacked attach and
//! exec sessions need.
//!
//! As with the docker CLI: `--tlsverify` checks the daemon's certificate against the CA
//! and the host name; `--tls` alone encrypts without checking who answers; a client
//! certificate is sent when one is configured (or found in the cert dir).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore};

use crate::error::{Error, Result};

/// The TLS flags as given on the command line (before the environment and defaults).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsFlags {
    /// Use TLS; implied by --tlsverify
    #[arg(long)]
    pub tls: bool,
    /// Use TLS and verify the remote
    #[arg(long)]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem, else ~/.docker/ca.pem)
    #[arg(long, value_name = "PATH")]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file (default $DOCKER_CERT_PATH/cert.pem, else ~/.docker/cert.pem)
    #[arg(long, value_name = "PATH")]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file (default $DOCKER_CERT_PATH/key.pem, else ~/.docker/key.pem)
    #[arg(long, value_name = "PATH")]
    pub tlskey: Option<PathBuf>,
}

/// What TLS to use, with the environment and the cert dir's defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Speak TLS at all.
    pub enabled: bool,
    /// Check the daemon's certificate (CA and host name).
    pub verify: bool,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsOptions {
    /// Applies `DOCKER_TLS_VERIFY`, `DOCKER_TLS` and `DOCKER_CERT_PATH` from the
    /// environment, as the docker CLI does.
    pub fn from_flags(flags: &TlsFlags) -> TlsOptions {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let dir = env("DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(&env("HOME").unwrap_or_else(|| "/root".into())).join(".docker")
            });
        Self::resolve(
            flags,
            env("DOCKER_TLS_VERIFY").is_some(),
            env("DOCKER_TLS").is_some(),
            &dir,
        )
    }

    /// The docker CLI's rules: verify implies TLS; a file flag not given falls back to
    /// the cert dir's file only when that exists.
    fn resolve(flags: &TlsFlags, env_verify: bool, env_tls: bool, dir: &Path) -> TlsOptions {
        let verify = flags.tlsverify || env_verify;
        let pick = |given: &Option<PathBuf>, name: &str| {
            given
                .clone()
                .or_else(|| Some(dir.join(name)).filter(|p| p.exists()))
        };
        TlsOptions {
            enabled: verify || flags.tls || env_tls,
            verify,
            ca: pick(&flags.tlscacert, "ca.pem"),
            cert: pick(&flags.tlscert, "cert.pem"),
            key: pick(&flags.tlskey, "key.pem"),
        }
    }

    /// The rustls configuration for these options.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("choosing TLS versions", e))?;
        let builder = if self.verify {
            let ca = self.ca.as_ref().ok_or_else(|| {
                Error::InvalidArgument(
                    "--tlsverify needs a CA certificate: give --tlscacert or put ca.pem in \
                     $DOCKER_CERT_PATH (default ~/.docker)"
                        .into(),
                )
            })?;
            let mut roots = RootCertStore::empty();
            for c in read_certs("CA certificate", ca)? {
                roots
                    .add(c)
                    .map_err(|e| tls_error(&format!("using CA certificate {}", ca.display()), e))?;
            }
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        };
        let mut config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let certs = read_certs("certificate", cert)?;
                let key_der = read_key(key)?;
                builder.with_client_auth_cert(certs, key_der).map_err(|e| {
                    tls_error(
                        &format!(
                            "using certificate {} with key {}",
                            cert.display(),
                            key.display()
                        ),
                        e,
                    )
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::InvalidArgument(
                    "a TLS client certificate needs both --tlscert and --tlskey".into(),
                ));
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn tls_error(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{context}: {e}"))
}

fn read_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).map_err(|source| Error::File {
        context: format!("could not read {what} {}", path.display()),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(&format!("{what} {} is not valid PEM", path.display()), e))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{what} {} holds no CERTIFICATE block",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let pem = std::fs::read(path).map_err(|source| Error::File {
        context: format!("could not read key {}", path.display()),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        tls_error(
            &format!("key {} holds no usable private key", path.display()),
            e,
        )
    })
}

/// `--tls` without `--tlsverify`: the connection is encrypted but whoever answers is
/// trusted (Go's InsecureSkipVerify). Handshake signatures are still checked, so the
/// peer must hold the key of the certificate it shows.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS connection over TCP that clones cheaply: the session state sits behind a lock,
/// and a reader waits for the socket to become readable *without* holding it, so a
/// hijacked session's stdin thread can write while its output loop waits for data.
#[derive(Debug, Clone)]
pub struct TlsStream {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    sock: TcpStream,
    conn: Mutex<ClientConnection>,
}

impl TlsStream {
    /// Connects the TCP stream `sock` to the daemon `host` and completes the handshake.
    pub fn handshake(sock: TcpStream, host: &str, config: Arc<ClientConfig>) -> Result<TlsStream> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|e| tls_error(&format!("invalid server name {bare:?}"), e))?;
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| tls_error("starting the TLS session", e))?;
        let mut s = &sock;
        while conn.is_handshaking() {
            conn.complete_io(&mut s)
                .map_err(|e| Error::io("TLS handshake with the daemon", e))?;
        }
        Ok(TlsStream {
            inner: Arc::new(Shared {
                sock,
                conn: Mutex::new(conn),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ClientConnection> {
        // A panic elsewhere cannot leave the session half-updated in a way that matters
        // more than failing the next call does.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends whatever TLS records are pending.
    fn flush_tls(&self, conn: &mut ClientConnection) -> io::Result<()> {
        let mut s = &self.inner.sock;
        while conn.wants_write() {
            conn.write_tls(&mut s)?;
        }
        Ok(())
    }

    /// Shuts down the TCP connection. A write half-close carries no close_notify, as the
    /// docker CLI's does: the daemon takes it as the end of stdin and keeps sending.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Write {
            self.lock().send_close_notify();
            let _ = self.flush_tls(&mut self.lock());
        }
        self.inner.sock.shutdown(how)
    }

    /// Blocks until the socket has something to read (or is closed).
    fn wait_readable(&self) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.inner.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd for the length given.
            let r = unsafe { libc::poll(&mut pfd, 1, -1) };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Read for &TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut conn = self.lock();
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    // The daemon closed TCP without close_notify: the end, as for Go.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                self.flush_tls(&mut conn)?;
            }
            self.wait_readable()?;
            let mut conn = self.lock();
            let mut s = &self.inner.sock;
            conn.read_tls(&mut s)?;
            let state = conn.process_new_packets();
            // An alert for us (say the daemon refusing our certificate) goes out first.
            let _ = self.flush_tls(&mut conn);
            state.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, TlsReadError(e)))?;
        }
    }
}

impl Write for &TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut conn = self.lock();
        let n = conn.writer().write(buf)?;
        self.flush_tls(&mut conn)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut conn = self.lock();
        self.flush_tls(&mut conn)
    }
}

/// A TLS error met while reading, worded for a user.
#[derive(Debug)]
struct TlsReadError(rustls::Error);

impl std::fmt::Display for TlsReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            rustls::Error::AlertReceived(a) => write!(f, "remote error: tls: {a:?}"),
            e => write!(f, "tls: {e}"),
        }
    }
}

impl std::error::Error for TlsReadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_cert_dir_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = TlsOptions::resolve(&TlsFlags::default(), false, false, d);
        assert_eq!(none, TlsOptions::default());
        std::fs::write(d.join("ca.pem"), "x").unwrap();
        std::fs::write(d.join("cert.pem"), "x").unwrap();
        // DOCKER_TLS_VERIFY alone turns verification (and TLS) on.
        let o = TlsOptions::resolve(&TlsFlags::default(), true, false, d);
        assert!(o.enabled && o.verify);
        assert_eq!(o.ca, Some(d.join("ca.pem")));
        assert_eq!(o.cert, Some(d.join("cert.pem")));
        assert_eq!(o.key, None, "key.pem does not exist");
        // Flags win; --tls alone does not verify.
        let flags = TlsFlags {
            tls: true,
            tlscacert: Some("/my/ca".into()),
            ..TlsFlags::default()
        };
        let o = TlsOptions::resolve(&flags, false, false, d);
        assert!(o.enabled && !o.verify);
        assert_eq!(o.ca, Some(PathBuf::from("/my/ca")));
    }

    #[test]
    fn bad_tls_settings_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let verify = TlsOptions {
            enabled: true,
            verify: true,
            ..TlsOptions::default()
        };
        let e = verify.client_config().unwrap_err();
        assert!(e.to_string().contains("--tlscacert"), "{e}");
        let missing = TlsOptions {
            ca: Some(d.join("nope.pem")),
            ..verify.clone()
        };
        let e = missing.client_config().unwrap_err();
        assert!(e.to_string().contains("nope.pem"), "{e}");
        std::fs::write(d.join("ca.pem"), "garbage").unwrap();
        let e = TlsOptions {
            ca: Some(d.join("ca.pem")),
            ..verify.clone()
        }
        .client_config()
        .unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
        let half = TlsOptions {
            enabled: true,
            cert: Some(d.join("ca.pem")),
            ..TlsOptions::default()
        };
        let e = half.client_config().unwrap_err();
        assert!(e.to_string().contains("--tlskey"), "{e}");
        // --tls without verification and without a client cert is a valid setup.
        let plain = TlsOptions {
            enabled: true,
            ..TlsOptions::default()
        };
        plain.client_config().unwrap();
    }
}
