//! `containerd.services.namespaces.v1.Namespaces`.

use std::sync::Arc;

use myproto::containerd::events::{NamespaceCreate, NamespaceDelete, NamespaceUpdate};
use myproto::containerd::services::namespaces::v1::namespaces_server::Namespaces;
use myproto::containerd::services::namespaces::v1::*;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::events::Exchange;
use crate::identifiers;
use crate::metadata::Store;
use crate::runtime::tasks::TaskManager;

pub struct NamespacesService {
    pub store: Arc<Store>,
    pub events: Exchange,
    pub tasks: Arc<TaskManager>,
}

#[tonic::async_trait]
impl Namespaces for NamespacesService {
    async fn get(
        &self,
        req: Request<GetNamespaceRequest>,
    ) -> Result<Response<GetNamespaceResponse>, Status> {
        let name = req.into_inner().name;
        identifiers::validate("namespace", &name)?;
        // containerd 1.6 answers for a namespace nobody created yet (ctr asks before every
        // pull and run): empty labels.
        let ns = self.store.namespace(&name)?.unwrap_or(Namespace {
            name,
            ..Namespace::default()
        });
        Ok(Response::new(GetNamespaceResponse {
            namespace: Some(ns),
        }))
    }

    async fn list(
        &self,
        _req: Request<ListNamespacesRequest>,
    ) -> Result<Response<ListNamespacesResponse>, Status> {
        Ok(Response::new(ListNamespacesResponse {
            namespaces: self.store.namespaces()?,
        }))
    }

    async fn create(
        &self,
        req: Request<CreateNamespaceRequest>,
    ) -> Result<Response<CreateNamespaceResponse>, Status> {
        let ns = req
            .into_inner()
            .namespace
            .ok_or_else(|| Status::invalid_argument("namespace is required"))?;
        identifiers::validate("namespace", &ns.name)?;
        if !self.store.create_namespace(&ns)? {
            return Err(Error::exists("namespace", &ns.name).into());
        }
        self.events.publish(
            &ns.name,
            "/namespaces/create",
            &NamespaceCreate {
                name: ns.name.clone(),
                labels: ns.labels.clone(),
            },
        );
        Ok(Response::new(CreateNamespaceResponse {
            namespace: Some(ns),
        }))
    }

    async fn update(
        &self,
        req: Request<UpdateNamespaceRequest>,
    ) -> Result<Response<UpdateNamespaceResponse>, Status> {
        let r = req.into_inner();
        let new = r
            .namespace
            .ok_or_else(|| Status::invalid_argument("namespace is required"))?;
        let mut ns = self
            .store
            .namespace(&new.name)?
            .ok_or_else(|| Error::not_found("namespace", &new.name))?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            ns.labels = new.labels.clone();
        }
        for p in paths {
            if p == "labels" {
                ns.labels = new.labels.clone();
            } else if let Some(k) = p.strip_prefix("labels.") {
                match new.labels.get(k).filter(|v| !v.is_empty()) {
                    Some(v) => ns.labels.insert(k.to_string(), v.clone()),
                    None => ns.labels.remove(k),
                };
            } else {
                return Err(Status::invalid_argument(format!(
                    "cannot update {p:?} on namespace {:?}",
                    ns.name
                )));
            }
        }
        self.store.update_namespace(&ns)?;
        self.events.publish(
            &ns.name,
            "/namespaces/update",
            &NamespaceUpdate {
                name: ns.name.clone(),
                labels: ns.labels.clone(),
            },
        );
        Ok(Response::new(UpdateNamespaceResponse {
            namespace: Some(ns),
        }))
    }

    async fn delete(&self, req: Request<DeleteNamespaceRequest>) -> Result<Response<()>, Status> {
        let name = req.into_inner().name;
        if self.tasks.has_tasks(&name).await {
            return Err(Error::FailedPrecondition(format!(
                "namespace {name:?} must be empty, but it still has tasks"
            ))
            .into());
        }
        self.store.delete_namespace(&name)?;
        self.events.publish(
            &name,
            "/namespaces/delete",
            &NamespaceDelete { name: name.clone() },
        );
        Ok(Response::new(()))
    }
}
