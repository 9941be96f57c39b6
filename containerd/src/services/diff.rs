//! `containerd.services.diff.v1.Diff`: Apply; computing a diff (Diff) answers
//! UNIMPLEMENTED.

use std::sync::Arc;

use myproto::containerd::services::diff::v1::diff_server::Diff;
use myproto::containerd::services::diff::v1::*;
use tonic::{Request, Response, Status};

use crate::diff::Applier;
use crate::services::namespace;

pub struct DiffService {
    pub applier: Arc<Applier>,
}

#[tonic::async_trait]
impl Diff for DiffService {
    async fn apply(&self, req: Request<ApplyRequest>) -> Result<Response<ApplyResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let desc = r
            .diff
            .ok_or_else(|| Status::invalid_argument("diff descriptor is required"))?;
        let applied = self.applier.apply(&ns, desc, r.mounts, r.sync_fs).await?;
        Ok(Response::new(ApplyResponse {
            applied: Some(applied),
        }))
    }

    async fn diff(&self, _req: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        Err(crate::error::Error::Unimplemented("Diff.Diff (computing a layer)".into()).into())
    }
}
