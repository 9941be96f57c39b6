//! Encode/decode round trips of messages with nested types, maps, `Any`,
//! repeated fields and enums.

use prost::Message;
use prost_types::{Any, FieldMask, Timestamp};

use myproto::containerd::runc::v1::Options;
use myproto::containerd::services::containers::v1::{Container, UpdateContainerRequest, container};
use myproto::containerd::services::content::v1::{WriteAction, WriteContentRequest};
use myproto::containerd::services::tasks::v1::ListTasksResponse;
use myproto::containerd::task::v2::{CreateTaskRequest, ShutdownRequest};
use myproto::containerd::types::Mount;
use myproto::containerd::v1::types::{Process, Status};
use myproto::type_url;

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(message: M) {
    let bytes = message.encode_to_vec();
    assert_eq!(M::decode(bytes.as_slice()).unwrap(), message);
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

#[test]
fn container_with_everything() {
    round_trip(UpdateContainerRequest {
        container: Some(Container {
            id: "web".into(),
            labels: [("a".to_string(), "b".to_string())].into(),
            image: "docker.io/library/busybox:latest".into(),
            runtime: Some(container::Runtime {
                name: "io.containerd.runc.v2".into(),
                options: Some(type_url::pack(&Options {
                    binary_name: "myrunc".into(),
                    ..Default::default()
                })),
            }),
            spec: Some(Any {
                type_url: type_url::SPEC.into(),
                value: br#"{"ociVersion":"1.0.2"}"#.to_vec(),
            }),
            snapshotter: "overlayfs".into(),
            snapshot_key: "web".into(),
            created_at: ts(1),
            updated_at: ts(2),
            extensions: [(
                "ext".to_string(),
                Any {
                    type_url: "x".into(),
                    value: vec![9],
                },
            )]
            .into(),
            sandbox: String::new(),
        }),
        update_mask: Some(FieldMask {
            paths: vec!["labels".into(), "spec".into()],
        }),
    });
}

#[test]
fn task_list_with_statuses() {
    round_trip(ListTasksResponse {
        tasks: vec![
            Process {
                container_id: "a".into(),
                id: "a".into(),
                pid: 100,
                status: Status::Running as i32,
                ..Default::default()
            },
            Process {
                container_id: "b".into(),
                id: "b".into(),
                status: Status::Stopped as i32,
                exit_status: 137,
                exited_at: ts(5),
                ..Default::default()
            },
        ],
    });
}

#[test]
fn shim_requests() {
    round_trip(CreateTaskRequest {
        id: "c".into(),
        bundle: "/run/mycontainerd/b/c".into(),
        rootfs: vec![Mount {
            r#type: "overlay".into(),
            source: "overlay".into(),
            target: String::new(),
            options: vec!["lowerdir=/l".into(), "upperdir=/u".into()],
        }],
        terminal: true,
        stdin: "/fifo/in".into(),
        ..Default::default()
    });
    round_trip(ShutdownRequest {
        id: "c".into(),
        now: true,
    });
}

#[test]
fn content_write_with_enum_and_bytes() {
    round_trip(WriteContentRequest {
        action: WriteAction::Commit as i32,
        r#ref: "layer-1".into(),
        total: 3,
        expected: "sha256:00".into(),
        offset: 0,
        data: vec![1, 2, 3],
        labels: [("containerd.io/gc.ref".to_string(), "x".to_string())].into(),
    });
}

#[test]
fn unknown_fields_from_newer_peers_are_skipped() {
    // A newer containerd may send fields we do not know; decoding must not fail.
    let mut bytes = Process {
        container_id: "a".into(),
        ..Default::default()
    }
    .encode_to_vec();
    bytes.extend_from_slice(&[0xa2, 0x06, 0x01, b'z']); // field 100, string "z"
    assert_eq!(Process::decode(bytes.as_slice()).unwrap().container_id, "a");
}
