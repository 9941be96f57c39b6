//! `containerd.services.introspection.v1.Introspection`: what this daemon serves.

use std::os::unix::fs::MetadataExt;

use myproto::containerd::services::introspection::v1::introspection_server::Introspection;
use myproto::containerd::services::introspection::v1::{
    Plugin, PluginsRequest, PluginsResponse, ServerResponse,
};
use tonic::{Request, Response, Status};

use crate::filters::{Fields, Filter};

pub struct IntrospectionService {
    pub uuid: String,
}

/// Our components under containerd's plugin names, so `ctr plugins ls` reads familiarly.
const PLUGINS: &[(&str, &str)] = &[
    ("io.containerd.content.v1", "content"),
    ("io.containerd.snapshotter.v1", "native"),
    ("io.containerd.snapshotter.v1", "overlayfs"),
    ("io.containerd.metadata.v1", "redb"),
    ("io.containerd.differ.v1", "walking"),
    ("io.containerd.event.v1", "exchange"),
    ("io.containerd.gc.v1", "scheduler"),
    ("io.containerd.runtime.v2", "task"),
    ("io.containerd.service.v1", "diff-service"),
    ("io.containerd.grpc.v1", "containers"),
    ("io.containerd.grpc.v1", "content"),
    ("io.containerd.grpc.v1", "diff"),
    ("io.containerd.grpc.v1", "events"),
    ("io.containerd.grpc.v1", "images"),
    ("io.containerd.grpc.v1", "introspection"),
    ("io.containerd.grpc.v1", "leases"),
    ("io.containerd.grpc.v1", "namespaces"),
    ("io.containerd.grpc.v1", "snapshots"),
    ("io.containerd.grpc.v1", "tasks"),
    ("io.containerd.grpc.v1", "version"),
];

impl Fields for Plugin {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first().map(String::as_str) {
            Some("type") => Some(self.r#type.clone()),
            Some("id") => Some(self.id.clone()),
            _ => None,
        }
    }
}

#[tonic::async_trait]
impl Introspection for IntrospectionService {
    async fn plugins(
        &self,
        req: Request<PluginsRequest>,
    ) -> Result<Response<PluginsResponse>, Status> {
        let filter = Filter::parse(&req.into_inner().filters)?;
        let plugins = PLUGINS
            .iter()
            .map(|(t, id)| Plugin {
                r#type: t.to_string(),
                id: id.to_string(),
                ..Plugin::default()
            })
            .filter(|p| filter.matches(p))
            .collect();
        Ok(Response::new(PluginsResponse { plugins }))
    }

    async fn server(&self, _req: Request<()>) -> Result<Response<ServerResponse>, Status> {
        Ok(Response::new(ServerResponse {
            uuid: self.uuid.clone(),
            pid: u64::from(std::process::id()),
            pidns: std::fs::metadata("/proc/self/ns/pid")
                .map(|m| m.ino())
                .unwrap_or(0),
            deprecations: Vec::new(),
        }))
    }
}
