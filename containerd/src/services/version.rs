//! `containerd.services.version.v1.Version`.

use myproto::containerd::services::version::v1::VersionResponse;
use myproto::containerd::services::version::v1::version_server::Version;
use tonic::{Request, Response, Status};

pub struct VersionService;

pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

#[tonic::async_trait]
impl Version for VersionService {
    async fn version(&self, _req: Request<()>) -> Result<Response<VersionResponse>, Status> {
        Ok(Response::new(VersionResponse {
            version: VERSION.into(),
            revision: option_env!("MYCONTAINERD_REVISION")
                .unwrap_or("mycontainerd")
                .into(),
        }))
    }
}
