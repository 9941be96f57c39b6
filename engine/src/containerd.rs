//! The engine's one connection to containerd: a tonic channel (which reconnects by
//! itself when containerd restarts) and the namespace every request carries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use myproto::containerd::services::containers::v1::containers_client::ContainersClient;
use myproto::containerd::services::events::v1::events_client::EventsClient;
use myproto::containerd::services::tasks::v1::tasks_client::TasksClient;
use myproto::containerd::services::version::v1::version_client::VersionClient;
use tonic::transport::Channel;

use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Containerd {
    channel: Channel,
    namespace: String,
    path: PathBuf,
}

impl Containerd {
    /// Connects to the socket at `path`, retrying for a while: at boot containerd may
    /// come up after us.
    pub async fn connect(path: &Path, namespace: &str) -> Result<Containerd> {
        let mut attempt = 0;
        loop {
            match myproto::transport::connect_unix(path).await {
                Ok(channel) => {
                    return Ok(Containerd {
                        channel,
                        namespace: namespace.to_owned(),
                        path: path.to_owned(),
                    });
                }
                Err(source) if attempt >= 50 => {
                    return Err(Error::Connect {
                        path: path.display().to_string(),
                        source,
                    });
                }
                Err(e) => {
                    if attempt == 0 {
                        tracing::warn!("containerd at {} not answering yet: {e}", path.display());
                    }
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `message` as a request in our namespace.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        // The namespace was checked when the images client was made from it.
        let _ = myproto::namespace::set(&mut r, &self.namespace);
        r
    }

    pub fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    pub fn containers(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone())
    }

    pub fn events(&self) -> EventsClient<Channel> {
        EventsClient::new(self.channel.clone())
    }

    /// containerd's version and git revision (for /version).
    pub async fn version(&self) -> Result<(String, String)> {
        let v = VersionClient::new(self.channel.clone())
            .version(())
            .await
            .map_err(|s| Error::rpc("containerd version", s))?
            .into_inner();
        Ok((v.version, v.revision))
    }
}
