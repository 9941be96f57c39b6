//! How containerd names the payload of a `google.protobuf.Any`, and helpers to
//! pack and unpack our messages the same way.
//!
//! Facts, from containerd's sources (1.6 uses `github.com/containerd/typeurl`
//! v1, 1.7 and later typeurl v2):
//!
//! - A protobuf message is named by its **full proto name with no prefix**:
//!   `containerd.events.TaskExit`, not `type.googleapis.com/containerd.events.TaskExit`.
//!   typeurl only has an explicit registry for non-proto types; for a proto
//!   message it falls back to the message name from the proto registry.
//!   Event payloads and runc options are never registered explicitly.
//! - Decoding in containerd 1.6 (`ctr events`, the daemon's task options) looks
//!   the URL up in gogo's registry by **exact** name, so a prefixed URL fails
//!   there. We always write unprefixed URLs; when reading we also accept a
//!   `host/` prefix, as protobuf's own resolvers do.
//! - Image events are declared in package `containerd.services.images.v1`
//!   (not `containerd.events`), so their URLs are
//!   `containerd.services.images.v1.ImageCreate` and so on.
//! - OCI runtime-spec types are registered explicitly under
//!   `types.containerd.io/opencontainers/runtime-spec/1/<Type>` and their `Any`
//!   value is **JSON**, not protobuf: [`SPEC`] for `Container.spec`,
//!   [`PROCESS`] for exec specs, [`LINUX_RESOURCES`] for `Tasks.Update`.
//! - `ctr run --runc-binary X` travels as
//!   [`containerd.runc.v1.Options`](RUNC_OPTIONS) with `binary_name = X` in
//!   `Container.runtime.options` (runtime `io.containerd.runc.v2`).
//!
//! Do not use `prost_types::Any::from_msg`/`to_msg` for these: they go through
//! `prost::Name::type_url()`, which for our generated types is
//! `"/containerd.events.TaskExit"` (prost's empty-domain form, with a leading
//! slash) and so is not what containerd 1.6 decodes. Use [`pack`]/[`unpack`].
//!
//! The constants below are those names written out; a unit test checks each
//! against the `prost::Name` of the generated type.

use prost::{Message, Name};
use prost_types::Any;

use crate::error::{Error, Result};

/// OCI runtime spec (JSON) in `Container.spec`.
pub const SPEC: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
/// OCI process (JSON) in `ExecProcessRequest.spec`.
pub const PROCESS: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";
/// OCI Linux resources (JSON) in `UpdateTaskRequest.resources`.
pub const LINUX_RESOURCES: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
/// OCI Windows resources (JSON) in `UpdateTaskRequest.resources`.
pub const WINDOWS_RESOURCES: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/WindowsResources";

/// Options of the `io.containerd.runc.v1`/`v2` runtimes.
pub const RUNC_OPTIONS: &str = "containerd.runc.v1.Options";
/// Checkpoint options of the runc v2 runtime.
pub const RUNC_CHECKPOINT_OPTIONS: &str = "containerd.runc.v1.CheckpointOptions";
/// `ProcessInfo.info` from runc shims.
pub const RUNC_PROCESS_DETAILS: &str = "containerd.runc.v1.ProcessDetails";
/// Options of the legacy `io.containerd.runtime.v1.linux` runtime.
pub const LINUX_RUNC_OPTIONS: &str = "containerd.linux.runc.RuncOptions";

/// Topic `/tasks/create`.
pub const TASK_CREATE: &str = "containerd.events.TaskCreate";
/// Topic `/tasks/start`.
pub const TASK_START: &str = "containerd.events.TaskStart";
/// Topic `/tasks/delete`.
pub const TASK_DELETE: &str = "containerd.events.TaskDelete";
/// Topic `/tasks/exit`.
pub const TASK_EXIT: &str = "containerd.events.TaskExit";
/// Topic `/tasks/oom`.
pub const TASK_OOM: &str = "containerd.events.TaskOOM";
/// Topic `/tasks/exec-added`.
pub const TASK_EXEC_ADDED: &str = "containerd.events.TaskExecAdded";
/// Topic `/tasks/exec-started`.
pub const TASK_EXEC_STARTED: &str = "containerd.events.TaskExecStarted";
/// Topic `/tasks/paused`.
pub const TASK_PAUSED: &str = "containerd.events.TaskPaused";
/// Topic `/tasks/resumed`.
pub const TASK_RESUMED: &str = "containerd.events.TaskResumed";
/// Topic `/tasks/checkpointed`.
pub const TASK_CHECKPOINTED: &str = "containerd.events.TaskCheckpointed";
/// Topic `/containers/create`.
pub const CONTAINER_CREATE: &str = "containerd.events.ContainerCreate";
/// Topic `/containers/update`.
pub const CONTAINER_UPDATE: &str = "containerd.events.ContainerUpdate";
/// Topic `/containers/delete`.
pub const CONTAINER_DELETE: &str = "containerd.events.ContainerDelete";
/// Topic `/namespaces/create`.
pub const NAMESPACE_CREATE: &str = "containerd.events.NamespaceCreate";
/// Topic `/namespaces/update`.
pub const NAMESPACE_UPDATE: &str = "containerd.events.NamespaceUpdate";
/// Topic `/namespaces/delete`.
pub const NAMESPACE_DELETE: &str = "containerd.events.NamespaceDelete";
/// Topic `/content/delete`.
pub const CONTENT_DELETE: &str = "containerd.events.ContentDelete";
/// Topic `/snapshot/prepare` (singular "snapshot" upstream).
pub const SNAPSHOT_PREPARE: &str = "containerd.events.SnapshotPrepare";
/// Topic `/snapshot/commit`.
pub const SNAPSHOT_COMMIT: &str = "containerd.events.SnapshotCommit";
/// Topic `/snapshot/remove`.
pub const SNAPSHOT_REMOVE: &str = "containerd.events.SnapshotRemove";
/// Topic `/images/create`; note the package.
pub const IMAGE_CREATE: &str = "containerd.services.images.v1.ImageCreate";
/// Topic `/images/update`.
pub const IMAGE_UPDATE: &str = "containerd.services.images.v1.ImageUpdate";
/// Topic `/images/delete`.
pub const IMAGE_DELETE: &str = "containerd.services.images.v1.ImageDelete";

/// Event topics, as containerd publishes them.
pub mod topic {
    pub const TASK_CREATE: &str = "/tasks/create";
    pub const TASK_START: &str = "/tasks/start";
    pub const TASK_OOM: &str = "/tasks/oom";
    pub const TASK_EXIT: &str = "/tasks/exit";
    pub const TASK_DELETE: &str = "/tasks/delete";
    pub const TASK_EXEC_ADDED: &str = "/tasks/exec-added";
    pub const TASK_EXEC_STARTED: &str = "/tasks/exec-started";
    pub const TASK_PAUSED: &str = "/tasks/paused";
    pub const TASK_RESUMED: &str = "/tasks/resumed";
    pub const TASK_CHECKPOINTED: &str = "/tasks/checkpointed";
    pub const CONTAINER_CREATE: &str = "/containers/create";
    pub const CONTAINER_UPDATE: &str = "/containers/update";
    pub const CONTAINER_DELETE: &str = "/containers/delete";
    pub const NAMESPACE_CREATE: &str = "/namespaces/create";
    pub const NAMESPACE_UPDATE: &str = "/namespaces/update";
    pub const NAMESPACE_DELETE: &str = "/namespaces/delete";
    pub const IMAGE_CREATE: &str = "/images/create";
    pub const IMAGE_UPDATE: &str = "/images/update";
    pub const IMAGE_DELETE: &str = "/images/delete";
    pub const CONTENT_DELETE: &str = "/content/delete";
    pub const SNAPSHOT_PREPARE: &str = "/snapshot/prepare";
    pub const SNAPSHOT_COMMIT: &str = "/snapshot/commit";
    pub const SNAPSHOT_REMOVE: &str = "/snapshot/remove";
}

/// The type URL containerd uses for `M`: its full proto name.
pub fn of<M: Name>() -> String {
    M::full_name()
}

/// Packs `message` into an `Any` named the way containerd names it.
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::full_name(),
        value: message.encode_to_vec(),
    }
}

/// Whether `any` holds an `M` (with or without a `host/` prefix on its URL).
pub fn is<M: Name>(any: &Any) -> bool {
    strip_prefix(&any.type_url) == M::full_name()
}

/// Decodes `any` as an `M`, refusing a payload of another type.
pub fn unpack<M: Message + Name + Default>(any: &Any) -> Result<M> {
    if !is::<M>(any) {
        return Err(Error::TypeMismatch {
            expected: M::full_name(),
            actual: any.type_url.clone(),
        });
    }
    M::decode(any.value.as_slice()).map_err(|source| Error::Decode {
        type_url: any.type_url.clone(),
        source,
    })
}

/// The message name in a type URL: everything after the last `/`.
fn strip_prefix(type_url: &str) -> &str {
    type_url.rsplit_once('/').map_or(type_url, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containerd::events;
    use crate::containerd::linux::runc as linux_runc;
    use crate::containerd::runc::v1 as runc;
    use crate::containerd::services::images::v1 as images;

    #[test]
    fn constants_match_generated_names() {
        let pairs: &[(&str, String)] = &[
            (RUNC_OPTIONS, of::<runc::Options>()),
            (RUNC_CHECKPOINT_OPTIONS, of::<runc::CheckpointOptions>()),
            (RUNC_PROCESS_DETAILS, of::<runc::ProcessDetails>()),
            (LINUX_RUNC_OPTIONS, of::<linux_runc::RuncOptions>()),
            (TASK_CREATE, of::<events::TaskCreate>()),
            (TASK_START, of::<events::TaskStart>()),
            (TASK_DELETE, of::<events::TaskDelete>()),
            (TASK_EXIT, of::<events::TaskExit>()),
            (TASK_OOM, of::<events::TaskOom>()),
            (TASK_EXEC_ADDED, of::<events::TaskExecAdded>()),
            (TASK_EXEC_STARTED, of::<events::TaskExecStarted>()),
            (TASK_PAUSED, of::<events::TaskPaused>()),
            (TASK_RESUMED, of::<events::TaskResumed>()),
            (TASK_CHECKPOINTED, of::<events::TaskCheckpointed>()),
            (CONTAINER_CREATE, of::<events::ContainerCreate>()),
            (CONTAINER_UPDATE, of::<events::ContainerUpdate>()),
            (CONTAINER_DELETE, of::<events::ContainerDelete>()),
            (NAMESPACE_CREATE, of::<events::NamespaceCreate>()),
            (NAMESPACE_UPDATE, of::<events::NamespaceUpdate>()),
            (NAMESPACE_DELETE, of::<events::NamespaceDelete>()),
            (CONTENT_DELETE, of::<events::ContentDelete>()),
            (SNAPSHOT_PREPARE, of::<events::SnapshotPrepare>()),
            (SNAPSHOT_COMMIT, of::<events::SnapshotCommit>()),
            (SNAPSHOT_REMOVE, of::<events::SnapshotRemove>()),
            (IMAGE_CREATE, of::<images::ImageCreate>()),
            (IMAGE_UPDATE, of::<images::ImageUpdate>()),
            (IMAGE_DELETE, of::<images::ImageDelete>()),
        ];
        for (constant, generated) in pairs {
            assert_eq!(*constant, generated);
        }
    }

    #[test]
    fn pack_writes_unprefixed_name_and_unpack_round_trips() {
        let exit = events::TaskExit {
            container_id: "c1".into(),
            id: "c1".into(),
            pid: 7,
            exit_status: 3,
            exited_at: None,
        };
        let any = pack(&exit);
        assert_eq!(any.type_url, "containerd.events.TaskExit");
        assert_eq!(unpack::<events::TaskExit>(&any).unwrap(), exit);
    }

    #[test]
    fn unpack_accepts_prefixed_url() {
        let any = Any {
            type_url: "type.googleapis.com/containerd.events.TaskOOM".into(),
            value: events::TaskOom {
                container_id: "x".into(),
            }
            .encode_to_vec(),
        };
        assert_eq!(unpack::<events::TaskOom>(&any).unwrap().container_id, "x");
    }

    #[test]
    fn unpack_refuses_other_type() {
        let any = pack(&events::TaskStart::default());
        let err = unpack::<events::TaskExit>(&any).unwrap_err();
        assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
    }

    #[test]
    fn unpack_reports_corrupt_payload() {
        let any = Any {
            type_url: TASK_EXIT.into(),
            value: vec![0x0a, 0x05, b'a'],
        };
        let err = unpack::<events::TaskExit>(&any).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err}");
    }
}
