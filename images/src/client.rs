//! The handle every operation goes through: a gRPC channel to containerd (or
//! mycontainerd), the namespace, the snapshotter, and the lease that protects what an
//! operation creates until the image record refers to it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use myproto::containerd::services::content::v1::content_client::ContentClient;
use myproto::containerd::services::diff::v1::diff_client::DiffClient;
use myproto::containerd::services::images::v1::images_client::ImagesClient;
use myproto::containerd::services::leases::v1::leases_client::LeasesClient;
use myproto::containerd::services::leases::v1::{
    AddResourceRequest, CreateRequest, DeleteRequest, Lease, ListRequest, Resource,
};
use myproto::containerd::services::snapshots::v1::snapshots_client::SnapshotsClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::error::{Error, Result};
use crate::labels;

/// The snapshotter containerd uses unless told otherwise.
pub const DEFAULT_SNAPSHOTTER: &str = "overlayfs";
/// The gRPC metadata key carrying the lease of a request (containerd's `leases.WithLease`).
pub const LEASE_METADATA_KEY: &str = "containerd-lease";
/// How long a lease protects content if we die before deleting it (containerd's client
/// uses a day).
const LEASE_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// A connection to containerd's image-related services for one namespace.
#[derive(Clone, Debug)]
pub struct Client {
    channel: Channel,
    namespace: String,
    snapshotter: String,
    lease: Option<String>,
}

impl Client {
    /// A client for `namespace` over `channel` (see `myproto::transport::connect_unix`),
    /// with containerd's default snapshotter.
    pub fn new(channel: Channel, namespace: &str) -> Result<Client> {
        myproto::namespace::request((), namespace).map_err(|e| Error::Namespace {
            namespace: namespace.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Client {
            channel,
            namespace: namespace.to_owned(),
            snapshotter: DEFAULT_SNAPSHOTTER.to_owned(),
            lease: None,
        })
    }

    /// The same client using snapshotter `name` (an empty name keeps the default).
    pub fn with_snapshotter(mut self, name: &str) -> Client {
        if !name.is_empty() {
            self.snapshotter = name.to_owned();
        }
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn snapshotter(&self) -> &str {
        &self.snapshotter
    }

    /// The lease requests of this client carry, if any.
    pub fn lease(&self) -> Option<&str> {
        self.lease.as_deref()
    }

    /// The same client with every request under lease `id`.
    pub fn with_lease(&self, id: &str) -> Client {
        Client {
            lease: Some(id.to_owned()),
            ..self.clone()
        }
    }

    /// `message` as a request in this client's namespace (and lease).
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        // new() has checked that the namespace is a valid metadata value.
        let _ = myproto::namespace::set(&mut request, &self.namespace);
        if let Some(lease) = &self.lease
            && let Ok(value) = MetadataValue::try_from(lease.as_str())
        {
            request.metadata_mut().insert(LEASE_METADATA_KEY, value);
        }
        request
    }

    pub(crate) fn content(&self) -> ContentClient<Channel> {
        // Layers go in 1 MiB messages; reads may come back in larger ones.
        ContentClient::new(self.channel.clone()).max_decoding_message_size(64 << 20)
    }

    pub(crate) fn images(&self) -> ImagesClient<Channel> {
        ImagesClient::new(self.channel.clone())
    }

    pub(crate) fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }

    pub(crate) fn diff(&self) -> DiffClient<Channel> {
        DiffClient::new(self.channel.clone())
    }

    pub(crate) fn leases(&self) -> LeasesClient<Channel> {
        LeasesClient::new(self.channel.clone())
    }

    /// Creates a lease that expires in a day (`containerd.io/gc.expire`), as
    /// containerd's `Client.WithLease` does; returns this client under it.
    pub async fn create_lease(&self) -> Result<Client> {
        let expire = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + LEASE_EXPIRY)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let id = format!(
            "myimages-{}-{:06x}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos(),
            fastrand::u32(..1 << 24)
        );
        let request = CreateRequest {
            id,
            labels: HashMap::from([(labels::GC_EXPIRE.to_owned(), expire)]),
        };
        let lease = self
            .leases()
            .create(self.request(request))
            .await
            .map_err(|s| Error::rpc("creating a lease", s))?
            .into_inner()
            .lease
            .unwrap_or_default();
        tracing::debug!(lease = %lease.id, namespace = %self.namespace, "lease created");
        Ok(self.with_lease(&lease.id))
    }

    /// Deletes this client's lease (what it protected is then up to the image records
    /// and the garbage collector).
    pub async fn delete_lease(&self) -> Result<()> {
        let Some(id) = &self.lease else {
            return Ok(());
        };
        let mut plain = self.clone();
        plain.lease = None;
        plain
            .leases()
            .delete(plain.request(DeleteRequest {
                id: id.clone(),
                sync: false,
            }))
            .await
            .map_err(|s| Error::rpc(format!("deleting lease {id}"), s))?;
        tracing::debug!(lease = %id, "lease deleted");
        Ok(())
    }

    /// Puts a resource that already existed under this client's lease, so the garbage
    /// collector cannot take it before the image record refers to it. A daemon without
    /// `AddResource` is tolerated (containerd's own client does not do this).
    pub(crate) async fn lease_resource(&self, id: &str, kind: &str) -> Result<()> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        let request = AddResourceRequest {
            id: lease.clone(),
            resource: Some(Resource {
                id: id.to_owned(),
                r#type: kind.to_owned(),
            }),
        };
        match self.leases().add_resource(self.request(request)).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::Unimplemented => Ok(()),
            Err(s) => Err(Error::rpc(
                format!("adding {kind} {id} to lease {lease}"),
                s,
            )),
        }
    }

    /// The namespace's leases.
    pub async fn list_leases(&self, filters: &[String]) -> Result<Vec<Lease>> {
        let response = self
            .leases()
            .list(self.request(ListRequest {
                filters: filters.to_vec(),
            }))
            .await
            .map_err(|s| Error::rpc("listing leases", s))?;
        Ok(response.into_inner().leases)
    }
}
