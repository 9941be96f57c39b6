//! `containerd.services.containers.v1.Containers`.

use std::sync::Arc;

use myproto::containerd::events::NamespaceCreate;
use myproto::containerd::events::{
    ContainerCreate, ContainerDelete, ContainerUpdate, container_create,
};
use myproto::containerd::services::containers::v1::containers_server::Containers;
use myproto::containerd::services::containers::v1::*;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::events::Exchange;
use crate::filters::{Fields, Filter};
use crate::gc::GarbageCollector;
use crate::identifiers;
use crate::metadata::Store;
use crate::runtime::tasks::TaskManager;
use crate::services::{namespace, now};

pub struct ContainersService {
    pub store: Arc<Store>,
    pub events: Exchange,
    pub tasks: Arc<TaskManager>,
    pub gc: Arc<GarbageCollector>,
}

impl Fields for Container {
    fn field(&self, path: &[String]) -> Option<String> {
        match (path.first().map(String::as_str), path.get(1)) {
            (Some("id"), None) => Some(self.id.clone()),
            (Some("image"), None) => Some(self.image.clone()).filter(|s| !s.is_empty()),
            (Some("runtime"), Some(f)) if f == "name" => {
                self.runtime.as_ref().map(|r| r.name.clone())
            }
            (Some("snapshotter"), None) => Some(self.snapshotter.clone()).filter(|s| !s.is_empty()),
            (Some("labels"), Some(k)) if path.len() == 2 => self.labels.get(k).cloned(),
            _ => None,
        }
    }
}

impl ContainersService {
    fn list_filtered(&self, ns: &str, filters: &[String]) -> Result<Vec<Container>, Status> {
        let filter = Filter::parse(filters)?;
        Ok(self
            .store
            .containers(ns)?
            .into_iter()
            .filter(|c| filter.matches(c))
            .collect())
    }
}

#[tonic::async_trait]
impl Containers for ContainersService {
    async fn get(
        &self,
        req: Request<GetContainerRequest>,
    ) -> Result<Response<GetContainerResponse>, Status> {
        let ns = namespace(&req)?;
        let c = self.store.container(&ns, &req.into_inner().id)?;
        Ok(Response::new(GetContainerResponse { container: Some(c) }))
    }

    async fn list(
        &self,
        req: Request<ListContainersRequest>,
    ) -> Result<Response<ListContainersResponse>, Status> {
        let ns = namespace(&req)?;
        let containers = self.list_filtered(&ns, &req.into_inner().filters)?;
        Ok(Response::new(ListContainersResponse { containers }))
    }

    async fn list_stream(
        &self,
        req: Request<ListContainersRequest>,
    ) -> Result<Response<BoxStream<ListContainerMessage>>, Status> {
        let ns = namespace(&req)?;
        let containers = self.list_filtered(&ns, &req.into_inner().filters)?;
        let stream = tokio_stream::iter(
            containers
                .into_iter()
                .map(|c| Ok(ListContainerMessage { container: Some(c) })),
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn create(
        &self,
        req: Request<CreateContainerRequest>,
    ) -> Result<Response<CreateContainerResponse>, Status> {
        let ns = namespace(&req)?;
        let mut c = req
            .into_inner()
            .container
            .ok_or_else(|| Status::invalid_argument("container is required"))?;
        identifiers::validate("container id", &c.id)?;
        if c.runtime.as_ref().is_none_or(|r| r.name.is_empty()) {
            return Err(Status::invalid_argument(
                "container.runtime.name must be set",
            ));
        }
        if c.spec.is_none() {
            return Err(Status::invalid_argument("container.spec must be set"));
        }
        c.created_at = now();
        c.updated_at = c.created_at;
        let ns_created = self.store.create_container(&ns, &c)?;
        if ns_created {
            self.events.publish(
                &ns,
                "/namespaces/create",
                &NamespaceCreate {
                    name: ns.clone(),
                    ..Default::default()
                },
            );
        }
        self.events.publish(
            &ns,
            "/containers/create",
            &ContainerCreate {
                id: c.id.clone(),
                image: c.image.clone(),
                runtime: c.runtime.as_ref().map(|r| container_create::Runtime {
                    name: r.name.clone(),
                    options: r.options.clone(),
                }),
            },
        );
        Ok(Response::new(CreateContainerResponse {
            container: Some(c),
        }))
    }

    async fn update(
        &self,
        req: Request<UpdateContainerRequest>,
    ) -> Result<Response<UpdateContainerResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let new = r
            .container
            .ok_or_else(|| Status::invalid_argument("container is required"))?;
        let mut c = self.store.container(&ns, &new.id)?;
        let mut paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            // A full replace may only change the mutable fields.
            if new.runtime.is_some() && new.runtime != c.runtime {
                return Err(Status::invalid_argument("container.runtime is immutable"));
            }
            if !new.snapshotter.is_empty() && new.snapshotter != c.snapshotter {
                return Err(Status::invalid_argument(
                    "container.snapshotter is immutable",
                ));
            }
            paths = ["labels", "spec", "extensions", "image", "snapshot_key"]
                .map(String::from)
                .to_vec();
        }
        for p in &paths {
            match p.as_str() {
                "labels" => c.labels = new.labels.clone(),
                "spec" => c.spec = new.spec.clone(),
                "extensions" => c.extensions = new.extensions.clone(),
                "image" => c.image = new.image.clone(),
                "snapshot_key" | "snapshotkey" => c.snapshot_key = new.snapshot_key.clone(),
                p => {
                    if let Some(k) = p.strip_prefix("labels.") {
                        match new.labels.get(k).filter(|v| !v.is_empty()) {
                            Some(v) => c.labels.insert(k.to_string(), v.clone()),
                            None => c.labels.remove(k),
                        };
                    } else if let Some(k) = p.strip_prefix("extensions.") {
                        match new.extensions.get(k) {
                            Some(v) => c.extensions.insert(k.to_string(), v.clone()),
                            None => c.extensions.remove(k),
                        };
                    } else {
                        return Err(Status::invalid_argument(format!(
                            "cannot update {p:?} on container {:?}",
                            c.id
                        )));
                    }
                }
            }
        }
        c.updated_at = now();
        self.store.update_container(&ns, &c)?;
        self.events.publish(
            &ns,
            "/containers/update",
            &ContainerUpdate {
                id: c.id.clone(),
                image: c.image.clone(),
                labels: c.labels.clone(),
                snapshot_key: c.snapshot_key.clone(),
            },
        );
        Ok(Response::new(UpdateContainerResponse {
            container: Some(c),
        }))
    }

    async fn delete(&self, req: Request<DeleteContainerRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let id = req.into_inner().id;
        if self.tasks.get(&ns, &id).await.is_ok() {
            return Err(Error::FailedPrecondition(format!(
                "container {id:?} still has a task; delete the task first"
            ))
            .into());
        }
        self.store.delete_container(&ns, &id)?;
        self.events
            .publish(&ns, "/containers/delete", &ContainerDelete { id });
        // Its snapshot (and what only it kept) may now be garbage.
        self.gc.trigger();
        Ok(Response::new(()))
    }
}
