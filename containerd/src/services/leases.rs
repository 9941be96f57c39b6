//! `containerd.services.leases.v1.Leases`: clients hold resources (content, snapshots)
//! alive while they work with them; `ctr` takes a lease for every command.

use std::sync::Arc;

use myproto::containerd::services::leases::v1::leases_server::Leases;
use myproto::containerd::services::leases::v1::*;
use tonic::{Request, Response, Status};

use crate::filters::{Fields, Filter};
use crate::gc::GarbageCollector;
use crate::metadata::Store;
use crate::services::{namespace, now};

pub struct LeasesService {
    pub store: Arc<Store>,
    pub gc: Arc<GarbageCollector>,
}

impl Fields for Lease {
    fn field(&self, path: &[String]) -> Option<String> {
        match (path.first().map(String::as_str), path.get(1)) {
            (Some("id"), None) => Some(self.id.clone()),
            (Some("labels"), Some(k)) if path.len() == 2 => self.labels.get(k).cloned(),
            _ => None,
        }
    }
}

fn random_id() -> String {
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{nanos}-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

fn resource(r: Option<Resource>) -> Result<Resource, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument("resource is required"))?;
    if r.id.is_empty() || r.r#type.is_empty() || r.id.contains('\0') || r.r#type.contains('\0') {
        return Err(Status::invalid_argument("resource needs a type and an id"));
    }
    Ok(r)
}

#[tonic::async_trait]
impl Leases for LeasesService {
    async fn create(
        &self,
        req: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let id = if r.id.is_empty() { random_id() } else { r.id };
        // containerd's own clients make IDs such as "695671812-1fP-" (time + base64), so
        // leases are not held to the identifier rules; they only must not break our keys.
        if id.len() > 255 || id.contains(['/', '\0']) {
            return Err(Status::invalid_argument(format!("invalid lease id {id:?}")));
        }
        let lease = Lease {
            id,
            created_at: now(),
            labels: r.labels,
        };
        self.store.create_lease(&ns, &lease)?;
        Ok(Response::new(CreateResponse { lease: Some(lease) }))
    }

    async fn delete(&self, req: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        self.store.delete_lease(&ns, &r.id)?;
        // What the lease held is now up to the collector.
        if r.sync {
            self.gc.collect().await?;
        } else {
            self.gc.trigger();
        }
        Ok(Response::new(()))
    }

    async fn list(&self, req: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let ns = namespace(&req)?;
        let filter = Filter::parse(&req.into_inner().filters)?;
        let leases = self
            .store
            .leases(&ns)?
            .into_iter()
            .filter(|l| filter.matches(l))
            .collect();
        Ok(Response::new(ListResponse { leases }))
    }

    async fn add_resource(&self, req: Request<AddResourceRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let res = resource(r.resource)?;
        self.store
            .add_lease_resource(&ns, &r.id, &res.r#type, &res.id)?;
        Ok(Response::new(()))
    }

    async fn delete_resource(
        &self,
        req: Request<DeleteResourceRequest>,
    ) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let res = resource(r.resource)?;
        self.store
            .delete_lease_resource(&ns, &r.id, &res.r#type, &res.id)?;
        Ok(Response::new(()))
    }

    async fn list_resources(
        &self,
        req: Request<ListResourcesRequest>,
    ) -> Result<Response<ListResourcesResponse>, Status> {
        let ns = namespace(&req)?;
        let resources = self
            .store
            .lease_resources(&ns, &req.into_inner().id)?
            .into_iter()
            .map(|(r#type, id)| Resource { id, r#type })
            .collect();
        Ok(Response::new(ListResourcesResponse { resources }))
    }
}
