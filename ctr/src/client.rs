//! The connection to the daemon: one gRPC channel, and requests tagged with the namespace.

use std::path::{Path, PathBuf};
use std::time::Duration;

use myproto::containerd::services::containers::v1::containers_client::ContainersClient;
use myproto::containerd::services::containers::v1::{Container, GetContainerRequest};
use myproto::containerd::services::events::v1::events_client::EventsClient;
use myproto::containerd::services::introspection::v1::introspection_client::IntrospectionClient;
use myproto::containerd::services::namespaces::v1::namespaces_client::NamespacesClient;
use myproto::containerd::services::tasks::v1::tasks_client::TasksClient;
use myproto::containerd::services::version::v1::version_client::VersionClient;
use tonic::transport::Channel;

use crate::error::{Error, Result};

/// How long to wait for the socket to accept when `--connect-timeout` is not given.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected client for one namespace.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    namespace: String,
    address: PathBuf,
}

impl Client {
    /// Dials the daemon's socket. Fails at once if nothing listens there (containerd's
    /// client retries until its timeout; a missing socket will not appear by waiting).
    pub async fn connect(address: &Path, namespace: &str, timeout: Duration) -> Result<Client> {
        let timeout = if timeout.is_zero() {
            DEFAULT_CONNECT_TIMEOUT
        } else {
            timeout
        };
        // The namespace travels as a metadata value: refuse one that cannot.
        myproto::namespace::request((), namespace).map_err(|e| Error::Invalid {
            what: "namespace",
            value: namespace.to_owned(),
            reason: e.to_string(),
        })?;
        tracing::debug!(address = %address.display(), namespace, "connecting");
        let endpoint = myproto::transport::unix_endpoint().connect_timeout(timeout);
        let connect = myproto::transport::connect_unix_with(endpoint, address);
        let channel = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => {
                return Err(Error::Dial {
                    address: address.to_owned(),
                    reason: error_chain(&e),
                });
            }
            Err(_) => {
                return Err(Error::Dial {
                    address: address.to_owned(),
                    reason: "timed out".into(),
                });
            }
        };
        Ok(Client {
            channel,
            namespace: namespace.to_owned(),
            address: address.to_owned(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn address(&self) -> &Path {
        &self.address
    }

    /// Wraps `message` in a request for this client's namespace.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        // connect() has checked that the namespace can be set.
        let _ = myproto::namespace::set(&mut request, &self.namespace);
        request
    }

    pub fn containers(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone())
    }

    pub fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    pub fn namespaces(&self) -> NamespacesClient<Channel> {
        NamespacesClient::new(self.channel.clone())
    }

    pub fn events(&self) -> EventsClient<Channel> {
        EventsClient::new(self.channel.clone())
    }

    pub fn version(&self) -> VersionClient<Channel> {
        VersionClient::new(self.channel.clone())
    }

    /// The image library's client on this connection, with snapshotter `snapshotter`
    /// (the flag, else `$CONTAINERD_SNAPSHOTTER`, else overlayfs).
    pub fn images(&self, snapshotter: Option<&str>) -> myimages::Client {
        myimages::Client::new(self.channel.clone(), &self.namespace)
            .expect("connect() checked the namespace")
            .with_snapshotter(&crate::cli::snapshotter(snapshotter))
    }

    pub fn introspection(&self) -> IntrospectionClient<Channel> {
        IntrospectionClient::new(self.channel.clone())
    }

    /// The container `id` (containerd's `LoadContainer`).
    pub async fn container(&self, id: &str) -> Result<Container> {
        let response = self
            .containers()
            .get(self.request(GetContainerRequest { id: id.to_owned() }))
            .await?
            .into_inner();
        response.container.ok_or_else(|| Error::Decode {
            what: format!("container {id:?}"),
            reason: "the daemon answered without a container".into(),
        })
    }
}

/// `e` and its sources, joined the way Go wraps errors.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    // tonic's own top layer says only "transport error".
    if parts.len() > 1 && parts[0] == "transport error" {
        parts.remove(0);
    }
    parts.join(": ")
}
