//! The `containerd-client` crate (a client nobody here wrote) against mycontainerd.

use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::version_client::VersionClient;
use containerd_client::services::v1::{ListContainersRequest, ListTasksRequest};
use integration_tests::{Daemon, DaemonKind, busybox_rootfs, unique};

fn with_ns<T>(msg: T, ns: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("containerd-namespace", ns.parse().unwrap());
    r
}

#[tokio::test(flavor = "current_thread")]
async fn containerd_client_crate_lists_our_containers_and_tasks() {
    let d = Daemon::start(DaemonKind::Ours);
    let id = unique("crate");
    d.ctr_ok(&[
        "run",
        "-d",
        "--rootfs",
        &busybox_rootfs().display().to_string(),
        &id,
        "/bin/sleep",
        "100",
    ]);
    let channel = myproto::transport::connect_unix(d.socket()).await.unwrap();

    let v = VersionClient::new(channel.clone())
        .version(())
        .await
        .unwrap()
        .into_inner();
    assert!(v.version.starts_with('v'));

    let list = ContainersClient::new(channel.clone())
        .list(with_ns(
            ListContainersRequest { filters: vec![] },
            &d.namespace,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.containers.len(), 1);
    assert_eq!(list.containers[0].id, id);
    assert_eq!(
        list.containers[0].runtime.as_ref().unwrap().name,
        "io.containerd.runc.v2"
    );

    let tasks = TasksClient::new(channel)
        .list(with_ns(
            ListTasksRequest {
                filter: String::new(),
            },
            &d.namespace,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tasks.tasks.len(), 1);
    assert_eq!(tasks.tasks[0].id, id);
    assert_eq!(tasks.tasks[0].status, 2, "RUNNING");
    assert!(tasks.tasks[0].pid > 0);
}
