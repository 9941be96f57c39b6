//! Unpacking an image into snapshots, as containerd 1.6's unpacker does: for each layer,
//! its chain ID is the snapshot's name; an existing one is skipped, otherwise an active
//! snapshot on the parent chain ID is prepared, the Diff service applies the layer to
//! its mounts, and the result is committed as the chain ID. The layer's content gets
//! `containerd.io/uncompressed`, the config `containerd.io/gc.ref.snapshot.<snapshotter>`.

use std::collections::{BTreeMap, HashMap};

use myproto::containerd::services::diff::v1::ApplyRequest;
use myproto::containerd::services::snapshots::v1::{
    CommitSnapshotRequest, Kind as SnapshotKind, PrepareSnapshotRequest,
};

use crate::client::Client;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::labels;
use crate::progress::{Kind, Progress, ProgressFn, Status};
use crate::resolve::{ResolvedImage, oci_to_proto};

/// How many times a clash of extraction keys is retried (containerd: 3).
const PREPARE_TRIES: usize = 3;

/// containerd's `uniquePart`: nanoseconds and a few random bytes.
pub(crate) fn unique_part() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!("{nanos}-{:06x}", fastrand::u32(..1 << 24))
}

impl Client {
    /// Whether the image's root filesystem is a committed snapshot.
    pub async fn is_unpacked(&self, image: &ResolvedImage) -> Result<bool> {
        match image.top_chain_id() {
            None => Ok(true),
            Some(top) => Ok(self
                .stat_snapshot(top.as_str())
                .await?
                .is_some_and(|i| i.kind == SnapshotKind::Committed as i32)),
        }
    }

    /// Unpacks `image` into this client's snapshotter; returns the top chain ID. Runs
    /// under this client's lease, or a lease of its own.
    pub async fn unpack(
        &self,
        image: &ResolvedImage,
        progress: ProgressFn<'_>,
    ) -> Result<Option<Digest>> {
        if self.lease().is_some() {
            return self.unpack_layers(image, progress).await;
        }
        let leased = self.create_lease().await?;
        let result = leased.unpack_layers(image, progress).await;
        if let Err(e) = leased.delete_lease().await {
            tracing::warn!("{e}");
        }
        result
    }

    async fn unpack_layers(
        &self,
        image: &ResolvedImage,
        progress: ProgressFn<'_>,
    ) -> Result<Option<Digest>> {
        let mut parent: Option<&Digest> = None;
        for (i, layer) in image.layers().iter().enumerate() {
            let chain_id = &image.chain_ids[i];
            let diff_id = &image.diff_ids[i];
            let layer_digest = layer.digest().to_string();
            let report = |status| {
                progress(&Progress {
                    kind: Kind::Unpack,
                    id: layer_digest.clone(),
                    total: layer.size(),
                    done: if status == Status::Unpacking {
                        0
                    } else {
                        layer.size()
                    },
                    status,
                })
            };
            // Lease first, then look: a collection between the two would otherwise take
            // the snapshot we just found.
            self.lease_resource(chain_id.as_str(), &self.snapshot_resource())
                .await?;
            if self.stat_snapshot(chain_id.as_str()).await?.is_some() {
                report(Status::Exists);
                parent = Some(chain_id);
                continue;
            }
            report(Status::Unpacking);
            self.apply_layer(layer, diff_id, chain_id, parent).await?;
            report(Status::Done);
            parent = Some(chain_id);
        }
        let top = image.top_chain_id().cloned();
        if let Some(top) = &top {
            let key = format!("{}{}", labels::GC_REF_SNAPSHOT_PREFIX, self.snapshotter());
            self.update_content_labels(
                image.config_digest.as_str(),
                &BTreeMap::from([(key, top.to_string())]),
            )
            .await?;
        }
        Ok(top)
    }

    /// The lease resource type of this client's snapshots.
    fn snapshot_resource(&self) -> String {
        format!("snapshots/{}", self.snapshotter())
    }

    /// One layer: prepare, apply, check the diff ID, commit; the active snapshot is
    /// removed whatever fails.
    async fn apply_layer(
        &self,
        layer: &oci_spec::image::Descriptor,
        diff_id: &Digest,
        chain_id: &Digest,
        parent: Option<&Digest>,
    ) -> Result<()> {
        let snapshot_labels: HashMap<String, String> =
            HashMap::from([(labels::SNAPSHOT_REF.to_owned(), chain_id.to_string())]);
        let mut prepared = None;
        for _ in 0..PREPARE_TRIES {
            let key = format!("extract-{} {chain_id}", unique_part());
            let request = self.request(PrepareSnapshotRequest {
                snapshotter: self.snapshotter().to_owned(),
                key: key.clone(),
                parent: parent.map(Digest::to_string).unwrap_or_default(),
                labels: snapshot_labels.clone(),
            });
            match self.snapshots().prepare(request).await {
                Ok(r) => {
                    prepared = Some((key, r.into_inner().mounts));
                    break;
                }
                Err(s) if s.code() == tonic::Code::AlreadyExists => {
                    // Someone else unpacked it meanwhile?
                    if self.stat_snapshot(chain_id.as_str()).await?.is_some() {
                        return Ok(());
                    }
                }
                Err(s) => {
                    return Err(Error::rpc(
                        format!("preparing a snapshot for layer {}", layer.digest()),
                        s,
                    ));
                }
            }
        }
        let Some((key, mounts)) = prepared else {
            return Err(Error::rpc(
                format!("preparing a snapshot for layer {}", layer.digest()),
                tonic::Status::already_exists("extraction key clashed 3 times"),
            ));
        };
        let result = self
            .apply_and_commit(layer, diff_id, chain_id, &key, mounts, snapshot_labels)
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Err(cleanup) = self.remove_snapshot(&key).await {
                    tracing::warn!("{cleanup}");
                }
                if e.is_already_exists() {
                    // Committed by a concurrent unpack of the same layer.
                    return Ok(());
                }
                Err(e)
            }
        }
    }

    async fn apply_and_commit(
        &self,
        layer: &oci_spec::image::Descriptor,
        diff_id: &Digest,
        chain_id: &Digest,
        key: &str,
        mounts: Vec<myproto::containerd::types::Mount>,
        snapshot_labels: HashMap<String, String>,
    ) -> Result<()> {
        let layer_digest = layer.digest().to_string();
        let applied = self
            .diff()
            .apply(self.request(ApplyRequest {
                diff: Some(oci_to_proto(layer)),
                mounts,
                payloads: HashMap::new(),
                sync_fs: false,
            }))
            .await
            .map_err(|s| Error::rpc(format!("applying layer {layer_digest}"), s))?
            .into_inner()
            .applied
            .unwrap_or_default();
        if applied.digest != diff_id.as_str() {
            return Err(Error::DiffIdMismatch {
                layer: layer_digest,
                expected: diff_id.to_string(),
                actual: applied.digest,
            });
        }
        self.snapshots()
            .commit(self.request(CommitSnapshotRequest {
                snapshotter: self.snapshotter().to_owned(),
                name: chain_id.to_string(),
                key: key.to_owned(),
                labels: snapshot_labels,
            }))
            .await
            .map_err(|s| Error::rpc(format!("committing snapshot {chain_id}"), s))?;
        // The uncompressed digest is known to be right only now that apply checked it.
        self.update_content_labels(
            &layer_digest,
            &BTreeMap::from([(labels::UNCOMPRESSED.to_owned(), diff_id.to_string())]),
        )
        .await
    }
}
