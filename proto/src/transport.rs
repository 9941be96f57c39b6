//! Connecting tonic clients to gRPC servers on UNIX sockets.
//!
//! tonic's `Endpoint` only dials TCP by itself; for a UNIX socket it takes a
//! custom connector: a `tower::Service<Uri>` returning something that is
//! hyper's `Read + Write`. A tokio `UnixStream` becomes that through
//! `hyper_util::rt::TokioIo` (tonic 0.14 no longer accepts tokio IO directly).
//! The URI given to the endpoint is only used for the HTTP/2 `:authority`
//! and is otherwise ignored.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use myproto::containerd::services::version::v1::version_client::VersionClient;
//! let channel = myproto::transport::connect_unix("/run/containerd/containerd.sock").await?;
//! let version = VersionClient::new(channel).version(()).await?.into_inner();
//! println!("{}", version.version);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Authority sent to the server; containerd's own Go client also says "localhost".
const AUTHORITY_URI: &str = "http://localhost";

/// An endpoint to configure (timeouts, keep-alive) before handing it to
/// [`connect_unix_with`].
pub fn unix_endpoint() -> Endpoint {
    Endpoint::from_static(AUTHORITY_URI)
}

/// Connects to the gRPC server listening on the UNIX socket at `path`; fails
/// if nothing accepts there now.
pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Channel, tonic::transport::Error> {
    connect_unix_with(unix_endpoint(), path).await
}

/// Like [`connect_unix`] with a caller-configured endpoint.
pub async fn connect_unix_with(
    endpoint: Endpoint,
    path: impl AsRef<Path>,
) -> Result<Channel, tonic::transport::Error> {
    endpoint
        .connect_with_connector(UnixConnector::new(path))
        .await
}

/// A channel that dials `path` on first use and redials after the server
/// goes away, for peers that come and go (a restarted daemon).
pub fn connect_unix_lazy(path: impl AsRef<Path>) -> Channel {
    unix_endpoint().connect_with_connector_lazy(UnixConnector::new(path))
}

/// The connector itself: every call opens a new stream to the same socket.
#[derive(Clone, Debug)]
pub struct UnixConnector {
    path: Arc<PathBuf>,
}

impl UnixConnector {
    /// A connector for the socket at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: Arc::new(path.as_ref().to_path_buf()),
        }
    }

    /// The socket path this connector dials.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl tower::Service<Uri> for UnixConnector {
    type Response = TokioIo<UnixStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let path = Arc::clone(&self.path);
        Box::pin(async move { UnixStream::connect(path.as_path()).await.map(TokioIo::new) })
    }
}
