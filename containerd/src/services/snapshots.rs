//! `containerd.services.snapshots.v1.Snapshots`.

use std::sync::Arc;

use myproto::containerd::services::snapshots::v1::snapshots_server::Snapshots;
use myproto::containerd::services::snapshots::v1::*;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::services::{blocking, lease, namespace};
use crate::snapshots::SnapshotManager;

const LIST_BATCH: usize = 100;

pub struct SnapshotsService {
    pub snapshots: Arc<SnapshotManager>,
}

impl SnapshotsService {
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        ns: String,
        lease: Option<String>,
        snapshotter: String,
        key: String,
        parent: String,
        labels: std::collections::HashMap<String, String>,
        kind: Kind,
    ) -> Result<Vec<myproto::containerd::types::Mount>, Status> {
        let m = self.snapshots.clone();
        Ok(blocking(move || {
            m.create(
                &ns,
                &snapshotter,
                &key,
                &parent,
                labels,
                kind,
                lease.as_deref(),
            )
        })
        .await?)
    }
}

#[tonic::async_trait]
impl Snapshots for SnapshotsService {
    async fn prepare(
        &self,
        req: Request<PrepareSnapshotRequest>,
    ) -> Result<Response<PrepareSnapshotResponse>, Status> {
        let (ns, lease) = (namespace(&req)?, lease(&req));
        let r = req.into_inner();
        let mounts = self
            .create(
                ns,
                lease,
                r.snapshotter,
                r.key,
                r.parent,
                r.labels,
                Kind::Active,
            )
            .await?;
        Ok(Response::new(PrepareSnapshotResponse { mounts }))
    }

    async fn view(
        &self,
        req: Request<ViewSnapshotRequest>,
    ) -> Result<Response<ViewSnapshotResponse>, Status> {
        let (ns, lease) = (namespace(&req)?, lease(&req));
        let r = req.into_inner();
        let mounts = self
            .create(
                ns,
                lease,
                r.snapshotter,
                r.key,
                r.parent,
                r.labels,
                Kind::View,
            )
            .await?;
        Ok(Response::new(ViewSnapshotResponse { mounts }))
    }

    async fn mounts(
        &self,
        req: Request<MountsRequest>,
    ) -> Result<Response<MountsResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let mounts = self.snapshots.mounts(&ns, &r.snapshotter, &r.key)?;
        Ok(Response::new(MountsResponse { mounts }))
    }

    async fn commit(&self, req: Request<CommitSnapshotRequest>) -> Result<Response<()>, Status> {
        let (ns, lease) = (namespace(&req)?, lease(&req));
        let r = req.into_inner();
        let m = self.snapshots.clone();
        blocking(move || {
            m.commit(
                &ns,
                &r.snapshotter,
                &r.name,
                &r.key,
                r.labels,
                lease.as_deref(),
            )
        })
        .await?;
        Ok(Response::new(()))
    }

    async fn remove(&self, req: Request<RemoveSnapshotRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let m = self.snapshots.clone();
        blocking(move || m.remove(&ns, &r.snapshotter, &r.key)).await?;
        Ok(Response::new(()))
    }

    async fn stat(
        &self,
        req: Request<StatSnapshotRequest>,
    ) -> Result<Response<StatSnapshotResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let info = self.snapshots.stat(&ns, &r.snapshotter, &r.key)?;
        Ok(Response::new(StatSnapshotResponse { info: Some(info) }))
    }

    async fn update(
        &self,
        req: Request<UpdateSnapshotRequest>,
    ) -> Result<Response<UpdateSnapshotResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let info = r
            .info
            .ok_or_else(|| Status::invalid_argument("info is required"))?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let info = self.snapshots.update(&ns, &r.snapshotter, info, paths)?;
        Ok(Response::new(UpdateSnapshotResponse { info: Some(info) }))
    }

    async fn list(
        &self,
        req: Request<ListSnapshotsRequest>,
    ) -> Result<Response<BoxStream<ListSnapshotsResponse>>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let infos = self.snapshots.list(&ns, &r.snapshotter, &r.filters)?;
        let batches: Vec<_> = infos
            .chunks(LIST_BATCH)
            .map(|c| Ok(ListSnapshotsResponse { info: c.to_vec() }))
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(batches))))
    }

    async fn usage(&self, req: Request<UsageRequest>) -> Result<Response<UsageResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let m = self.snapshots.clone();
        let (size, inodes) = blocking(move || m.usage(&ns, &r.snapshotter, &r.key)).await?;
        Ok(Response::new(UsageResponse { size, inodes }))
    }

    async fn cleanup(&self, req: Request<CleanupRequest>) -> Result<Response<()>, Status> {
        let m = self.snapshots.clone();
        let sn = req.into_inner().snapshotter;
        blocking(move || m.cleanup(&sn)).await?;
        Ok(Response::new(()))
    }
}
