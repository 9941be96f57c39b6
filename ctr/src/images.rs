//! Images as a container's root filesystem, through the `myimages` library.
//!
//! The shape follows containerd's Go client: creating a container from an image
//! unpacks it if needed (`image.Unpack`), prepares a snapshot named after the container
//! on top of it (`WithNewSnapshot`), and takes the spec's command, environment, working
//! directory and user from the image config (`oci.WithImageConfig`); creating its task
//! asks the snapshotter for the mounts of that snapshot; deleting the container removes
//! it (`WithSnapshotCleanup`).

use std::collections::BTreeMap;

use myimages::{Platform, Reference};
use myproto::containerd::services::containers::v1::Container;
use myproto::containerd::services::images::v1::Image;
use myproto::containerd::types::Mount;

use crate::client::Client;
use crate::error::Result;
use crate::spec::{ImageConfig, User};

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
    /// Labels the image asks the container to carry (stop signal, config labels).
    pub labels: Vec<(String, String)>,
    /// The client under the lease that holds the new snapshot until the container record
    /// references it (the garbage collector may run at any moment in between, as
    /// containerd's does after every removal); `release` drops the lease.
    leased: myimages::Client,
}

impl PreparedImage {
    /// Drops the lease once the container exists (or was not created after all).
    pub async fn release(&self) {
        if let Err(e) = self.leased.delete_lease().await {
            tracing::warn!("{e}");
        }
    }
}

/// ctr's `--platform`: the given one, else this machine's.
pub fn platform(flag: Option<&str>) -> Result<Platform> {
    match flag.filter(|p| !p.is_empty()) {
        Some(p) => Ok(Platform::parse(p)?),
        None => Ok(Platform::host()),
    }
}

/// The image record `reference` names: as written (ctr's lookup), else normalised as
/// Docker does (`busybox` is `docker.io/library/busybox:latest`).
pub async fn find(images: &myimages::Client, reference: &str) -> Result<Image> {
    match images.get_image(reference).await {
        Ok(image) => Ok(image),
        Err(e) if e.is_not_found() => match Reference::parse(reference) {
            Ok(full) if full.to_string() != reference => {
                match images.get_image(&full.to_string()).await {
                    Err(again) if again.is_not_found() => Err(e.into()),
                    other => Ok(other?),
                }
            }
            _ => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Resolves `reference` and prepares the snapshot of container `container_id`.
pub async fn prepare(
    client: &Client,
    reference: &str,
    container_id: &str,
    snapshotter: Option<&str>,
    platform_flag: Option<&str>,
) -> Result<PreparedImage> {
    let platform = platform(platform_flag)?;
    let images = client.images(snapshotter).create_lease().await?;
    match prepare_leased(&images, reference, container_id, &platform).await {
        Ok(prepared) => Ok(prepared),
        Err(e) => {
            if let Err(cleanup) = images.delete_lease().await {
                tracing::warn!("{cleanup}");
            }
            Err(e)
        }
    }
}

async fn prepare_leased(
    images: &myimages::Client,
    reference: &str,
    container_id: &str,
    platform: &Platform,
) -> Result<PreparedImage> {
    let record = find(images, reference).await?;
    let image = images.resolve_record(&record, platform).await?;
    if !images.is_unpacked(&image).await? {
        images.unpack(&image, &|_| {}).await?;
    }
    let mounts = images
        .prepare_rootfs(container_id, &image, &BTreeMap::new())
        .await?;
    let config = image.runtime_config();
    let user = match myimages::resolve_user(&mounts, &config.user).await {
        Ok(user) => user,
        Err(e) => {
            if let Err(cleanup) = images.remove_snapshot(container_id).await {
                tracing::warn!("{cleanup}");
            }
            return Err(e.into());
        }
    };
    // containerd's WithImageConfigLabels and WithImageStopSignal(image, "SIGTERM").
    let mut labels: Vec<(String, String)> = config.labels.clone().into_iter().collect();
    labels.push((
        myimages::labels::STOP_SIGNAL.to_owned(),
        config
            .stop_signal
            .clone()
            .unwrap_or_else(|| "SIGTERM".to_owned()),
    ));
    Ok(PreparedImage {
        name: record.name,
        snapshotter: images.snapshotter().to_owned(),
        snapshot_key: container_id.to_owned(),
        mounts,
        config: ImageConfig {
            env: config.env.clone(),
            entrypoint: config.entrypoint.clone(),
            cmd: config.cmd.clone(),
            working_dir: config.working_dir.clone(),
            user: Some(User {
                uid: user.uid,
                gid: user.gid,
                additional_gids: user.additional_gids,
            }),
        },
        labels,
        leased: images.clone(),
    })
}

/// The rootfs mounts for a task of `container`: none for a `--rootfs` container (its
/// spec names the directory), its snapshot's mounts otherwise.
pub async fn task_rootfs(client: &Client, container: &Container) -> Result<Vec<Mount>> {
    if container.snapshot_key.is_empty() {
        return Ok(Vec::new());
    }
    let images = client.images(Some(&container.snapshotter));
    Ok(images.snapshot_mounts(&container.snapshot_key).await?)
}

/// Removes the snapshot of a deleted container (`containerd.WithSnapshotCleanup`).
pub async fn remove_snapshot(client: &Client, container: &Container) -> Result<()> {
    if container.snapshot_key.is_empty() {
        return Ok(());
    }
    let images = client.images(Some(&container.snapshotter));
    Ok(images.remove_snapshot(&container.snapshot_key).await?)
}
