//! The Snapshots service: what the snapshotter holds, by key.

use myproto::containerd::services::snapshots::v1::{
    Info as SnapshotInfo, ListSnapshotsRequest, RemoveSnapshotRequest, StatSnapshotRequest,
    UsageRequest, UsageResponse,
};

use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// The snapshot `key` of this client's snapshotter, or `None`.
    pub async fn stat_snapshot(&self, key: &str) -> Result<Option<SnapshotInfo>> {
        let request = self.request(StatSnapshotRequest {
            snapshotter: self.snapshotter().to_owned(),
            key: key.to_owned(),
        });
        match self.snapshots().stat(request).await {
            Ok(r) => Ok(r.into_inner().info),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(Error::rpc(format!("snapshot {key:?}"), s)),
        }
    }

    /// Removes snapshot `key` (not found is fine: it is gone either way).
    pub async fn remove_snapshot(&self, key: &str) -> Result<()> {
        let request = self.request(RemoveSnapshotRequest {
            snapshotter: self.snapshotter().to_owned(),
            key: key.to_owned(),
        });
        match self.snapshots().remove(request).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
            Err(s) => Err(Error::rpc(format!("removing snapshot {key:?}"), s)),
        }
    }

    /// Every snapshot of this client's snapshotter.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let what = || format!("listing snapshots of {}", self.snapshotter());
        let mut stream = self
            .snapshots()
            .list(self.request(ListSnapshotsRequest {
                snapshotter: self.snapshotter().to_owned(),
                filters: Vec::new(),
            }))
            .await
            .map_err(|s| Error::rpc(what(), s))?
            .into_inner();
        let mut all = Vec::new();
        while let Some(batch) = stream.message().await.map_err(|s| Error::rpc(what(), s))? {
            all.extend(batch.info);
        }
        Ok(all)
    }

    /// Disk usage of snapshot `key` (bytes and inodes).
    pub async fn snapshot_usage(&self, key: &str) -> Result<UsageResponse> {
        let response = self
            .snapshots()
            .usage(self.request(UsageRequest {
                snapshotter: self.snapshotter().to_owned(),
                key: key.to_owned(),
            }))
            .await
            .map_err(|s| Error::rpc(format!("usage of snapshot {key:?}"), s))?;
        Ok(response.into_inner())
    }
}
