//! Images as a container's root filesystem: the seam where issue 6 (content, snapshots,
//! pull) plugs in. Until then every entry point answers that images are not supported,
//! and `--rootfs DIR` is the way to run a container.
//!
//! The shape follows containerd's Go client: creating a container from an image
//! prepares a snapshot named after the container and takes the spec's command,
//! environment and working directory from the image config; creating its task asks the
//! snapshotter for the mounts of that snapshot; deleting the container removes it.

use myproto::containerd::services::containers::v1::Container;
use myproto::containerd::types::Mount;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::spec::ImageConfig;

/// What a new container gets from its image.
#[derive(Debug, Clone)]
pub struct PreparedImage {
    /// The image's name, recorded in `Container.image`.
    pub name: String,
    /// Snapshotter and key of the container's writable snapshot.
    pub snapshotter: String,
    pub snapshot_key: String,
    /// The rootfs mounts of that snapshot.
    pub mounts: Vec<Mount>,
    pub config: ImageConfig,
    /// Labels the image asks the container to carry (stop signal, ...).
    pub labels: Vec<(String, String)>,
}

/// Resolves `reference` and prepares the snapshot of container `container_id`.
pub async fn prepare(
    _client: &Client,
    reference: &str,
    _container_id: &str,
    _snapshotter: Option<&str>,
) -> Result<PreparedImage> {
    Err(Error::ImagesUnsupported {
        reference: reference.to_owned(),
    })
}

/// The rootfs mounts for a task of `container`: none for a `--rootfs` container (its
/// spec names the directory), its snapshot's mounts otherwise.
pub async fn task_rootfs(_client: &Client, container: &Container) -> Result<Vec<Mount>> {
    if container.snapshot_key.is_empty() {
        return Ok(Vec::new());
    }
    Err(Error::SnapshotsUnsupported {
        id: container.id.clone(),
        key: container.snapshot_key.clone(),
    })
}

/// Removes the snapshot of a deleted container (`containerd.WithSnapshotCleanup`).
pub async fn remove_snapshot(_client: &Client, container: &Container) -> Result<()> {
    if container.snapshot_key.is_empty() {
        return Ok(());
    }
    Err(Error::SnapshotsUnsupported {
        id: container.id.clone(),
        key: container.snapshot_key.clone(),
    })
}
