//! A new container from flags (`run`, `containers create`), as ctr's `NewContainer`:
//! the spec built client-side, the runtime and its options, then `Containers.Create`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use myproto::containerd::runc::v1::Options as RuncOptions;
use myproto::containerd::services::containers::v1::{
    Container, CreateContainerRequest, DeleteContainerRequest, container,
};
use prost_types::Any;

use crate::cli::{ContainerFlags, DEFAULT_RUNTIME, RuntimeFlags};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::identifier;
use crate::images;
use crate::json::Json;
use crate::spec::{self, RootfsSource, SpecOptions};

/// The flags and arguments that describe a new container.
pub struct NewContainer<'a> {
    pub flags: &'a ContainerFlags,
    pub runtime: &'a RuntimeFlags,
    /// `ROOTFS|IMAGE ID [COMMAND [ARG...]]`, or just `ID` with `--config`.
    pub args: &'a [String],
    /// `run`-only flags.
    pub cgroup: Option<&'a str>,
    pub cpus: f64,
    pub cpu_shares: Option<u64>,
}

impl NewContainer<'_> {
    /// The container's ID, without talking to the daemon.
    pub fn id(&self) -> Result<&str> {
        let id = if self.flags.config.is_some() {
            self.args.first()
        } else {
            if self.args.first().is_none_or(|r| r.is_empty()) {
                return Err(Error::Missing("image ref"));
            }
            self.args.get(1)
        };
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or(Error::Missing("container id"))?;
        identifier::validate("container id", id)?;
        Ok(id)
    }
}

/// A container just created, with the rootfs mounts its image gave (none for `--rootfs`).
pub struct Created {
    pub container: Container,
    pub image_mounts: Option<Vec<myproto::containerd::types::Mount>>,
}

/// Creates the container described by `new`.
pub async fn create(client: &Client, new: &NewContainer<'_>) -> Result<Created> {
    let id = new.id()?.to_owned();
    let flags = new.flags;
    let labels = spec::label_args(&flags.label);
    let mut record = Container {
        id: id.clone(),
        labels: labels.clone().into_iter().collect::<HashMap<_, _>>(),
        runtime: Some(container::Runtime {
            name: flags.runtime.clone(),
            options: runtime_options(&flags.runtime, new.runtime)?,
        }),
        ..Container::default()
    };
    let mut image_mounts = None;
    // The image's lease, held until the container record references the snapshot.
    let mut leased: Option<images::PreparedImage> = None;
    let spec_json = if let Some(path) = &flags.config {
        if new.args.len() > 1 {
            return Err(Error::Usage(
                "with spec config file, only container id should be provided",
            ));
        }
        spec_from_file(path, &labels)?
    } else {
        let reference = &new.args[0];
        let rootfs = if flags.rootfs {
            RootfsSource::Directory(rootfs_dir(Path::new(reference))?)
        } else {
            let image = images::prepare(
                client,
                reference,
                &id,
                flags.snapshotter.as_deref(),
                flags.platform.as_deref(),
            )
            .await?;
            record.image = image.name.clone();
            record.snapshotter = image.snapshotter.clone();
            record.snapshot_key = image.snapshot_key.clone();
            // The command line's labels win over the image's (ctr's buildLabels).
            let mut all: HashMap<String, String> = image.labels.iter().cloned().collect();
            all.extend(record.labels.drain());
            record.labels = all;
            image_mounts = Some(image.mounts.clone());
            let config = image.config.clone();
            leased = Some(image);
            RootfsSource::Image(config)
        };
        let spec = spec_options(client.namespace(), &id, rootfs, new)
            .and_then(|options| spec::build(&options))
            .and_then(|spec| {
                serde_json::to_vec(&spec).map_err(|e| Error::Decode {
                    what: "the spec".into(),
                    reason: e.to_string(),
                })
            });
        match spec {
            Ok(spec) => spec,
            Err(e) => {
                forget_snapshot(client, &record).await;
                release(leased).await;
                return Err(e);
            }
        }
    };
    record.spec = Some(Any {
        type_url: myproto::type_url::SPEC.to_owned(),
        value: spec_json,
    });
    let created = client
        .containers()
        .create(client.request(CreateContainerRequest {
            container: Some(record.clone()),
        }))
        .await;
    let response = match created {
        Ok(response) => response.into_inner(),
        Err(status) => {
            forget_snapshot(client, &record).await;
            release(leased).await;
            return Err(status.into());
        }
    };
    release(leased).await;
    let container = response.container.ok_or_else(|| Error::Decode {
        what: format!("container {id:?}"),
        reason: "the daemon answered without a container".into(),
    })?;
    Ok(Created {
        container,
        image_mounts,
    })
}

async fn release(leased: Option<images::PreparedImage>) {
    if let Some(image) = leased {
        image.release().await;
    }
}

/// Removes the snapshot prepared for a container that was not created after all.
async fn forget_snapshot(client: &Client, record: &Container) {
    if let Err(e) = images::remove_snapshot(client, record).await {
        tracing::warn!("removing snapshot {:?}: {e}", record.snapshot_key);
    }
}

/// Deletes container `container` and its snapshot (`containerd.WithSnapshotCleanup`).
pub async fn delete(client: &Client, container: &Container, keep_snapshot: bool) -> Result<()> {
    client
        .containers()
        .delete(client.request(DeleteContainerRequest {
            id: container.id.clone(),
        }))
        .await?;
    if !keep_snapshot {
        images::remove_snapshot(client, container).await?;
    }
    Ok(())
}

/// ctr's runtime options: `containerd.runc.v1.Options` for the runc v2 runtime (always,
/// even when empty); nothing for other runtimes.
fn runtime_options(runtime: &str, flags: &RuntimeFlags) -> Result<Option<Any>> {
    if runtime != DEFAULT_RUNTIME {
        if flags.runc_binary.is_some() {
            return Err(Error::Usage(
                "specifying runc-binary is only supported for \"io.containerd.runc.v2\" runtime",
            ));
        }
        return Ok(None);
    }
    let options = RuncOptions {
        binary_name: flags.runc_binary.clone().unwrap_or_default(),
        root: flags.runc_root.clone().unwrap_or_default(),
        ..RuncOptions::default()
    };
    Ok(Some(myproto::type_url::pack(&options)))
}

/// `--rootfs DIR`: made absolute, and checked to be a directory now rather than by the
/// runtime when the task is created.
fn rootfs_dir(dir: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(dir).map_err(|source| Error::Rootfs {
        path: dir.to_owned(),
        source,
    })?;
    let meta = std::fs::metadata(&absolute).map_err(|source| Error::Rootfs {
        path: absolute.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::RootfsNotDirectory(absolute));
    }
    Ok(absolute)
}

fn spec_options(
    namespace: &str,
    id: &str,
    rootfs: RootfsSource,
    new: &NewContainer<'_>,
) -> Result<SpecOptions> {
    let flags = new.flags;
    let mut options = SpecOptions::new(namespace, id, rootfs);
    if let Some(path) = &flags.env_file {
        let text = std::fs::read_to_string(path).map_err(|source| Error::File {
            what: "reading env file",
            path: path.clone(),
            source,
        })?;
        options.env.extend(text.lines().map(str::to_owned));
    }
    options.env.extend(flags.env.iter().cloned());
    options.mounts = flags
        .mount
        .iter()
        .map(|m| spec::parse_mount(m))
        .collect::<Result<_>>()?;
    options.read_only = flags.read_only;
    options.args = new.args.get(2..).unwrap_or_default().to_vec();
    options.cwd = flags.cwd.clone().filter(|c| !c.is_empty());
    options.tty = flags.tty;
    options.annotations = spec::annotation_args(&flags.annotation)?;
    options.cap_add = flags.cap_add.clone();
    options.cap_drop = flags.cap_drop.clone();
    options.cpus = new.cpus;
    options.cpu_shares = new.cpu_shares;
    options.cpu_quota = flags.cpu_quota;
    options.cpu_period = flags.cpu_period;
    options.join_namespaces = flags
        .with_ns
        .iter()
        .map(|n| spec::parse_join_namespace(n))
        .collect::<Result<_>>()?;
    options.allow_new_privs = flags.allow_new_privs;
    options.cgroup = new.cgroup.map(str::to_owned);
    options.memory_limit = flags.memory_limit;
    options.rootfs_propagation = flags.rootfs_propagation.clone();
    options.labels = spec::label_args(&flags.label);
    Ok(options)
}

/// `--config FILE`: the spec as written, plus the labels as annotations.
fn spec_from_file(path: &Path, labels: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let text = std::fs::read(path).map_err(|source| Error::File {
        what: "reading spec",
        path: path.to_owned(),
        source,
    })?;
    let mut spec = Json::parse(&text).map_err(|e| Error::Decode {
        what: format!("spec {}", path.display()),
        reason: e.to_string(),
    })?;
    if !matches!(spec, Json::Object(_)) {
        return Err(Error::Decode {
            what: format!("spec {}", path.display()),
            reason: "not a JSON object".into(),
        });
    }
    if !labels.is_empty() {
        let mut annotations = match spec.get("annotations") {
            Some(Json::Object(fields)) => fields.clone(),
            _ => Vec::new(),
        };
        for (k, v) in labels {
            annotations.retain(|(key, _)| key != k);
            annotations.push((k.clone(), Json::str(v)));
        }
        spec.set("annotations", Json::Object(annotations));
    }
    Ok(spec.compact().into_bytes())
}
