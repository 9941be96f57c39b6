//! Cross-check against the `containerd-client` crate, whose types are
//! generated from containerd's own .proto files: bytes encoded with our
//! types decode with theirs into the same values, and back.

use prost::Message;
use prost_types::{Any, Timestamp};

use containerd_client::events as their_events;
use containerd_client::services::v1 as their_services;
use containerd_client::types::v1 as their_types;
use myproto::containerd::events as our_events;
use myproto::containerd::services::containers::v1 as our_containers;
use myproto::containerd::services::tasks::v1 as our_tasks;
use myproto::containerd::v1::types as our_types;

fn convert<A: Message, B: Message + Default>(from: &A) -> B {
    B::decode(from.encode_to_vec().as_slice()).unwrap()
}

fn ts() -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_700_000_000,
        nanos: 42,
    })
}

#[test]
fn task_exit_both_ways() {
    let ours = our_events::TaskExit {
        container_id: "c".into(),
        id: "exec-1".into(),
        pid: 42,
        exit_status: 7,
        exited_at: ts(),
    };
    let theirs: their_events::TaskExit = convert(&ours);
    assert_eq!(theirs.container_id, "c");
    assert_eq!(theirs.id, "exec-1");
    assert_eq!(theirs.pid, 42);
    assert_eq!(theirs.exit_status, 7);
    assert_eq!(theirs.exited_at, ts());
    let back: our_events::TaskExit = convert(&theirs);
    assert_eq!(back, ours);
}

#[test]
fn tasks_list_both_ways() {
    let ours = our_tasks::ListTasksResponse {
        tasks: vec![our_types::Process {
            container_id: "c".into(),
            id: "c".into(),
            pid: 9,
            status: our_types::Status::Paused as i32,
            stdin: "/i".into(),
            stdout: "/o".into(),
            stderr: "/e".into(),
            terminal: true,
            exit_status: 3,
            exited_at: ts(),
        }],
    };
    let theirs: their_services::ListTasksResponse = convert(&ours);
    let t = &theirs.tasks[0];
    assert_eq!(
        (t.container_id.as_str(), t.id.as_str(), t.pid),
        ("c", "c", 9)
    );
    assert_eq!(t.status, their_types::Status::Paused as i32);
    assert_eq!(
        (t.stdin.as_str(), t.stdout.as_str(), t.stderr.as_str()),
        ("/i", "/o", "/e")
    );
    assert!(t.terminal);
    assert_eq!((t.exit_status, t.exited_at), (3, ts()));
    let back: our_tasks::ListTasksResponse = convert(&theirs);
    assert_eq!(back, ours);
}

#[test]
fn containers_list_both_ways() {
    let ours = our_containers::ListContainersResponse {
        containers: vec![our_containers::Container {
            id: "web".into(),
            labels: [("l".to_string(), "v".to_string())].into(),
            image: "busybox".into(),
            runtime: Some(our_containers::container::Runtime {
                name: "io.containerd.runc.v2".into(),
                options: Some(Any {
                    type_url: "containerd.runc.v1.Options".into(),
                    value: vec![0x32, 0x01, b'x'],
                }),
            }),
            spec: Some(Any {
                type_url: myproto::type_url::SPEC.into(),
                value: b"{}".to_vec(),
            }),
            snapshotter: "overlayfs".into(),
            snapshot_key: "web-snap".into(),
            created_at: ts(),
            updated_at: ts(),
            extensions: [(
                "e".to_string(),
                Any {
                    type_url: "t".into(),
                    value: vec![1],
                },
            )]
            .into(),
            sandbox: "sb".into(),
        }],
    };
    let theirs: their_services::ListContainersResponse = convert(&ours);
    let c = &theirs.containers[0];
    assert_eq!(c.id, "web");
    assert_eq!(c.labels.get("l").map(String::as_str), Some("v"));
    assert_eq!(c.image, "busybox");
    let runtime = c.runtime.as_ref().unwrap();
    assert_eq!(runtime.name, "io.containerd.runc.v2");
    let options = runtime.options.as_ref().unwrap();
    assert_eq!(options.type_url, "containerd.runc.v1.Options");
    assert_eq!(
        c.spec.as_ref().unwrap().type_url,
        "types.containerd.io/opencontainers/runtime-spec/1/Spec"
    );
    assert_eq!(
        (c.snapshotter.as_str(), c.snapshot_key.as_str()),
        ("overlayfs", "web-snap")
    );
    assert_eq!((c.created_at, c.updated_at), (ts(), ts()));
    assert_eq!(c.extensions.get("e").unwrap().value, vec![1]);
    assert_eq!(c.sandbox, "sb");
    let back: our_containers::ListContainersResponse = convert(&theirs);
    assert_eq!(back, ours);
}
