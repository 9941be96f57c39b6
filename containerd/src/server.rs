//! Wiring: the store, the event exchange, the content store, the snapshotters, the layer
//! applier, the garbage collector and the task manager, the services on top, served on an
//! already-bound socket until `shutdown` fires. Shims (and so containers) keep running
//! when this returns.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use myproto::containerd::services::containers::v1::containers_server::ContainersServer;
use myproto::containerd::services::content::v1::content_server::ContentServer;
use myproto::containerd::services::diff::v1::diff_server::DiffServer;
use myproto::containerd::services::events::v1::events_server::EventsServer;
use myproto::containerd::services::images::v1::images_server::ImagesServer;
use myproto::containerd::services::introspection::v1::introspection_server::IntrospectionServer;
use myproto::containerd::services::leases::v1::leases_server::LeasesServer;
use myproto::containerd::services::namespaces::v1::namespaces_server::NamespacesServer;
use myproto::containerd::services::snapshots::v1::snapshots_server::SnapshotsServer;
use myproto::containerd::services::tasks::v1::tasks_server::TasksServer;
use myproto::containerd::services::version::v1::version_server::VersionServer;
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::content::ContentStore;
use crate::diff::Applier;
use crate::error::{Error, Result};
use crate::events::Exchange;
use crate::gc::GarbageCollector;
use crate::metadata::Store;
use crate::runtime::shim::ShimLaunch;
use crate::runtime::tasks::TaskManager;
use crate::services;
use crate::snapshots::SnapshotManager;

/// How often the collector runs without being asked (deletions ask for it at once).
const GC_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);
/// Messages up to this size: content chunks and big listings fit (clients send ≤ 1 MiB
/// data chunks; containerd itself accepts 16 MiB).
const MAX_MESSAGE: usize = 16 << 20;

/// Binds the daemon socket, refusing when another daemon answers there (a live socket is
/// never unlinked) and replacing a stale one.
pub fn bind(path: &Path, gid: Option<u32>) -> Result<std::os::unix::net::UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::FailedPrecondition(format!(
                "another daemon is already listening on {}; refusing to start",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| Error::io("removing stale socket", path, e))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let listener =
        std::os::unix::net::UnixListener::bind(path).map_err(|e| Error::io("binding", path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| Error::io("chmod", path, e))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| Error::io("chown", path, e))?;
    }
    Ok(listener)
}

/// The daemon's UUID, made once and kept under the root.
fn uuid(root: &Path) -> String {
    let path = root.join("uuid");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return s.trim().to_string();
    }
    let mut b = [0u8; 16];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let u = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    let _ = std::fs::write(&path, &u);
    u
}

pub async fn run(
    config: Config,
    listener: std::os::unix::net::UnixListener,
    shutdown: CancellationToken,
) -> Result<()> {
    for dir in [&config.root, &config.state] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let store = Arc::new(Store::open(&config.root.join("meta.redb"))?);
    let events = Exchange::default();
    let content = ContentStore::open(&config.root, store.clone(), events.clone())?;
    let snapshots = SnapshotManager::open(&config.root, store.clone(), events.clone())?;
    let applier = Arc::new(Applier::new(&config.root, content.clone())?);
    let gc = GarbageCollector::new(store.clone(), content.clone(), snapshots.clone());
    gc.spawn(shutdown.clone(), GC_PERIOD);
    let launch = ShimLaunch {
        binary: config.shim.clone(),
        address: config.address.clone(),
        socket_dir: config.state.join("s"),
        runtime_root: config.state.join("runc"),
        debug: config.log_level == "debug" || config.log_level == "trace",
    };
    let tasks = TaskManager::new(
        launch,
        config.state.join("io.containerd.runtime.v2.task"),
        store.clone(),
        events.clone(),
    );
    tasks.recover().await;

    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("listener", &config.address, e))?;
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(
        UnixListener::from_std(listener).map_err(|e| Error::io("listener", &config.address, e))?,
    );
    tracing::info!(address = %config.address.display(), "serving");
    let serve = tonic::transport::Server::builder()
        .trace_fn(|req| tracing::debug_span!("grpc", method = %req.uri().path()))
        .add_service(VersionServer::new(services::version::VersionService))
        .add_service(IntrospectionServer::new(
            services::introspection::IntrospectionService {
                uuid: uuid(&config.root),
            },
        ))
        .add_service(NamespacesServer::new(
            services::namespaces::NamespacesService {
                store: store.clone(),
                events: events.clone(),
                tasks: tasks.clone(),
            },
        ))
        .add_service(ContainersServer::new(
            services::containers::ContainersService {
                store: store.clone(),
                events: events.clone(),
                tasks: tasks.clone(),
                gc: gc.clone(),
            },
        ))
        .add_service(TasksServer::new(services::tasks::TasksService {
            tasks: tasks.clone(),
        }))
        .add_service(LeasesServer::new(services::leases::LeasesService {
            store: store.clone(),
            gc: gc.clone(),
        }))
        .add_service(
            ContentServer::new(services::content::ContentService {
                content: content.clone(),
            })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(SnapshotsServer::new(
            services::snapshots::SnapshotsService {
                snapshots: snapshots.clone(),
            },
        ))
        .add_service(ImagesServer::new(services::images::ImagesService {
            store: store.clone(),
            events: events.clone(),
            gc: gc.clone(),
        }))
        .add_service(DiffServer::new(services::diff::DiffService {
            applier: applier.clone(),
        }))
        .add_service(EventsServer::new(services::events::EventsService {
            events: events.clone(),
        }))
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    // Shims keep a connection open for their events and clients may hold streams (Wait,
    // Subscribe): after the shutdown signal, give them a moment, then go.
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    };
    tokio::select! {
        r = serve => r.map_err(|e| Error::Store(format!("serving: {e}")))?,
        _ = grace => tracing::info!("connections still open after 2s; stopping anyway"),
    }
    let _ = std::fs::remove_file(&config.address);
    tracing::info!("stopped; containers keep running under their shims");
    Ok(())
}
