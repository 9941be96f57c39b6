//! Hand-encoded bytes, written from the field numbers in containerd's
//! definitions, against prost's encoding of our types. Several cases pick the
//! places where upstream's numbering is irregular.

use prost::Message;
use prost_types::{Any, Timestamp};

use myproto::containerd::events::TaskExit;
use myproto::containerd::runc::v1::Options;
use myproto::containerd::services::diff::v1::DiffResponse;
use myproto::containerd::services::events::v1::Envelope;
use myproto::containerd::services::images::v1::Image;
use myproto::containerd::services::tasks::v1::CreateTaskRequest;
use myproto::containerd::task::v2::StateResponse;
use myproto::containerd::types::{Descriptor, Mount};
use myproto::containerd::v1::types::Status;

/// Encodes `message`, compares with `expected`, and decodes `expected` back.
fn check<M: Message + Default + PartialEq + std::fmt::Debug>(message: M, expected: &[u8]) {
    assert_eq!(message.encode_to_vec(), expected, "encoding of {message:?}");
    assert_eq!(M::decode(expected).unwrap(), message);
}

#[test]
fn task_exit() {
    let exit = TaskExit {
        container_id: "c".into(),
        id: "c".into(),
        pid: 42,
        exit_status: 7,
        exited_at: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        }),
    };
    #[rustfmt::skip]
    let bytes = [
        0x0a, 0x01, b'c',        // 1 container_id
        0x12, 0x01, b'c',        // 2 id
        0x18, 42,                // 3 pid
        0x20, 7,                 // 4 exit_status
        0x2a, 0x08,              // 5 exited_at, 8 bytes:
        0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, //   seconds 1700000000
        0x10, 0x05,              //   nanos 5
    ];
    check(exit, &bytes);
}

#[test]
fn create_task_request_skips_field_two() {
    let req = CreateTaskRequest {
        container_id: "c".into(),
        rootfs: vec![Mount {
            r#type: "t".into(),
            ..Default::default()
        }],
        terminal: true,
        runtime_path: "p".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let bytes = [
        0x0a, 0x01, b'c',              // 1 container_id
        0x1a, 0x03, 0x0a, 0x01, b't',  // 3 rootfs[0] { 1 type }
        0x38, 0x01,                    // 7 terminal
        0x52, 0x01, b'p',              // 10 runtime_path
    ];
    check(req, &bytes);
}

#[test]
fn runc_options_binary_name_is_six() {
    let opts = Options {
        binary_name: "myrunc".into(),
        systemd_cgroup: true,
        ..Default::default()
    };
    let mut bytes = vec![0x32, 0x06];
    bytes.extend_from_slice(b"myrunc");
    bytes.extend_from_slice(&[0x48, 0x01]); // 9 systemd_cgroup
    check(opts, &bytes);
}

#[test]
fn diff_response_is_field_three_and_annotations_five() {
    let resp = DiffResponse {
        diff: Some(Descriptor {
            media_type: "m".into(),
            digest: "d".into(),
            size: 3,
            annotations: [("k".to_string(), "v".to_string())].into(),
        }),
    };
    #[rustfmt::skip]
    let bytes = [
        0x1a, 0x10,                  // 3 diff, 16 bytes:
        0x0a, 0x01, b'm',            //   1 media_type
        0x12, 0x01, b'd',            //   2 digest
        0x18, 0x03,                  //   3 size
        0x2a, 0x06,                  //   5 annotations entry:
        0x0a, 0x01, b'k', 0x12, 0x01, b'v',
    ];
    check(resp, &bytes);
}

#[test]
fn image_created_at_is_seven() {
    let image = Image {
        name: "n".into(),
        created_at: Some(Timestamp {
            seconds: 1,
            nanos: 0,
        }),
        ..Default::default()
    };
    check(image, &[0x0a, 0x01, b'n', 0x3a, 0x02, 0x08, 0x01]);
}

#[test]
fn shim_state_response_status_and_exec_id() {
    let state = StateResponse {
        id: "c".into(),
        status: Status::Running as i32,
        exec_id: "e".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let bytes = [
        0x0a, 0x01, b'c', // 1 id
        0x20, 0x02,       // 4 status RUNNING
        0x5a, 0x01, b'e', // 11 exec_id
    ];
    check(state, &bytes);
}

#[test]
fn envelope() {
    let envelope = Envelope {
        timestamp: None,
        namespace: "n".into(),
        topic: "/t".into(),
        event: Some(Any {
            type_url: "x".into(),
            value: vec![1],
        }),
    };
    #[rustfmt::skip]
    let bytes = [
        0x12, 0x01, b'n',                        // 2 namespace
        0x1a, 0x02, b'/', b't',                  // 3 topic
        0x22, 0x06, 0x0a, 0x01, b'x', 0x12, 0x01, 0x01, // 4 event (Any)
    ];
    check(envelope, &bytes);
}
