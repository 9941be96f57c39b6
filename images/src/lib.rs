//! Images through containerd's v1 gRPC API, on the client side, as containerd 1.x's Go
//! client handles them: pull from a registry into the Content service under a lease,
//! unpack into snapshots through the Diff service, record in the Images service; import
//! and export OCI-layout and `docker save` tarballs; and what a container needs from an
//! image (its config and a writable snapshot). Used by myctr and myengined; works the
//! same against containerd 1.6 and mycontainerd.
//!
//! ```no_run
//! # async fn demo() -> myimages::Result<()> {
//! let channel = myproto::transport::connect_unix("/run/containerd/containerd.sock")
//!     .await
//!     .expect("daemon");
//! let client = myimages::Client::new(channel, "default")?;
//! let image = client
//!     .pull("busybox", &myimages::PullOptions::default(), &|_| {})
//!     .await?;
//! let resolved = client
//!     .resolve_image(&image.name, &myimages::Platform::host())
//!     .await?;
//! let mounts = client
//!     .prepare_rootfs("my-container", &resolved, &Default::default())
//!     .await?;
//! let config = resolved.runtime_config();
//! # let _ = (mounts, config);
//! # Ok(())
//! # }
//! ```

pub mod archive;
mod client;
mod content;
pub mod digest;
pub mod error;
pub mod labels;
pub mod manifest;
pub mod media;
pub mod platform;
pub mod progress;
mod pull;
mod records;
pub mod reference;
mod registry;
mod resolve;
pub mod rootfs;
mod runtime_config;
mod snapshots;
mod unpack;

pub use archive::{ExportOptions, ImportOptions};
pub use client::{Client, DEFAULT_SNAPSHOTTER};
pub use digest::Digest;
pub use error::{Error, Result};
pub use myproto::containerd::services::content::v1::Info as ContentInfo;
pub use myproto::containerd::services::images::v1::Image;
pub use myproto::containerd::services::leases::v1::Lease;
pub use myproto::containerd::services::snapshots::v1::Info as SnapshotInfo;
pub use myproto::containerd::types::{Descriptor, Mount};
pub use platform::Platform;
pub use progress::{Progress, ProgressFn};
pub use pull::{DEFAULT_MAX_CONCURRENT_DOWNLOADS, PullOptions, blob_kind};
pub use records::new_image;
pub use reference::Reference;
pub use registry::{Credentials, RegistryOptions};
pub use resolve::{ResolvedImage, oci_to_proto};
pub use rootfs::{ResolvedUser, resolve_groups, resolve_user};
pub use runtime_config::{DEFAULT_PATH_ENV, RuntimeConfig};
