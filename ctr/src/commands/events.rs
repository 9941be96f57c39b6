//! `events`: each envelope as ctr prints it — timestamp, namespace, topic, and the
//! event as Go's encoding/json writes the event struct.

use myproto::containerd::events as ev;
use myproto::containerd::services::events::v1::{Envelope, SubscribeRequest};
use myproto::containerd::services::images::v1 as images;
use myproto::containerd::types::Mount;
use myproto::type_url;
use prost::{Message, Name};
use prost_types::Any;

use crate::client::Client;
use crate::error::Result;
use crate::json::{self, Json, Obj};

pub async fn run(client: &Client, filters: Vec<String>) -> Result<i32> {
    let mut stream = client
        .events()
        .subscribe(client.request(SubscribeRequest { filters }))
        .await?
        .into_inner();
    while let Some(envelope) = stream.message().await? {
        match line(&envelope) {
            Ok(text) => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                // A closed stdout ends us, as it ends ctr.
                if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
                    return Ok(0);
                }
            }
            Err(reason) => tracing::warn!("cannot unmarshal an event from Any: {reason}"),
        }
    }
    Ok(0)
}

/// One envelope as a line.
fn line(envelope: &Envelope) -> std::result::Result<String, String> {
    let event = match &envelope.event {
        Some(any) => decode(any)?.compact(),
        None => String::new(),
    };
    Ok(format!(
        "{} {} {} {}",
        json::go_time_string(envelope.timestamp.as_ref()),
        envelope.namespace,
        envelope.topic,
        event
    ))
}

fn unpack<M: Message + Name + Default>(any: &Any) -> std::result::Result<M, String> {
    type_url::unpack::<M>(any).map_err(|e| e.to_string())
}

/// An event payload as JSON, by its type URL.
pub fn decode(any: &Any) -> std::result::Result<Json, String> {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    let json = match name {
        type_url::TASK_CREATE => {
            let e: ev::TaskCreate = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .str("bundle", &e.bundle)
                .opt("rootfs", mounts(&e.rootfs))
                .opt(
                    "io",
                    e.io.as_ref().map(|io| {
                        Obj::new()
                            .str("stdin", &io.stdin)
                            .str("stdout", &io.stdout)
                            .str("stderr", &io.stderr)
                            .boolean("terminal", io.terminal)
                            .build()
                    }),
                )
                .str("checkpoint", &e.checkpoint)
                .uint("pid", e.pid)
                .build()
        }
        type_url::TASK_START => {
            let e: ev::TaskStart = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .uint("pid", e.pid)
                .build()
        }
        type_url::TASK_DELETE => {
            let e: ev::TaskDelete = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .uint("pid", e.pid)
                .uint("exit_status", e.exit_status)
                .field("exited_at", json::timestamp(e.exited_at.as_ref()))
                .str("id", &e.id)
                .build()
        }
        type_url::TASK_EXIT => {
            let e: ev::TaskExit = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .str("id", &e.id)
                .uint("pid", e.pid)
                .uint("exit_status", e.exit_status)
                .field("exited_at", json::timestamp(e.exited_at.as_ref()))
                .build()
        }
        type_url::TASK_OOM => {
            let e: ev::TaskOom = unpack(any)?;
            Obj::new().str("container_id", &e.container_id).build()
        }
        type_url::TASK_EXEC_ADDED => {
            let e: ev::TaskExecAdded = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .str("exec_id", &e.exec_id)
                .build()
        }
        type_url::TASK_EXEC_STARTED => {
            let e: ev::TaskExecStarted = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .str("exec_id", &e.exec_id)
                .uint("pid", e.pid)
                .build()
        }
        type_url::TASK_PAUSED => {
            let e: ev::TaskPaused = unpack(any)?;
            Obj::new().str("container_id", &e.container_id).build()
        }
        type_url::TASK_RESUMED => {
            let e: ev::TaskResumed = unpack(any)?;
            Obj::new().str("container_id", &e.container_id).build()
        }
        type_url::TASK_CHECKPOINTED => {
            let e: ev::TaskCheckpointed = unpack(any)?;
            Obj::new()
                .str("container_id", &e.container_id)
                .str("checkpoint", &e.checkpoint)
                .build()
        }
        type_url::CONTAINER_CREATE => {
            let e: ev::ContainerCreate = unpack(any)?;
            Obj::new()
                .str("id", &e.id)
                .str("image", &e.image)
                .opt(
                    "runtime",
                    e.runtime.as_ref().map(|r| {
                        Obj::new()
                            .str("name", &r.name)
                            .opt("options", r.options.as_ref().map(json::any))
                            .build()
                    }),
                )
                .build()
        }
        type_url::CONTAINER_UPDATE => {
            let e: ev::ContainerUpdate = unpack(any)?;
            Obj::new()
                .str("id", &e.id)
                .str("image", &e.image)
                .map("labels", &e.labels)
                .str("snapshot_key", &e.snapshot_key)
                .build()
        }
        type_url::CONTAINER_DELETE => {
            let e: ev::ContainerDelete = unpack(any)?;
            Obj::new().str("id", &e.id).build()
        }
        type_url::NAMESPACE_CREATE => {
            let e: ev::NamespaceCreate = unpack(any)?;
            Obj::new()
                .str("name", &e.name)
                .map("labels", &e.labels)
                .build()
        }
        type_url::NAMESPACE_UPDATE => {
            let e: ev::NamespaceUpdate = unpack(any)?;
            Obj::new()
                .str("name", &e.name)
                .map("labels", &e.labels)
                .build()
        }
        type_url::NAMESPACE_DELETE => {
            let e: ev::NamespaceDelete = unpack(any)?;
            Obj::new().str("name", &e.name).build()
        }
        type_url::CONTENT_DELETE => {
            let e: ev::ContentDelete = unpack(any)?;
            Obj::new().str("digest", &e.digest).build()
        }
        type_url::SNAPSHOT_PREPARE => {
            let e: ev::SnapshotPrepare = unpack(any)?;
            Obj::new()
                .str("key", &e.key)
                .str("parent", &e.parent)
                .str("snapshotter", &e.snapshotter)
                .build()
        }
        type_url::SNAPSHOT_COMMIT => {
            let e: ev::SnapshotCommit = unpack(any)?;
            Obj::new()
                .str("key", &e.key)
                .str("name", &e.name)
                .str("snapshotter", &e.snapshotter)
                .build()
        }
        type_url::SNAPSHOT_REMOVE => {
            let e: ev::SnapshotRemove = unpack(any)?;
            Obj::new()
                .str("key", &e.key)
                .str("snapshotter", &e.snapshotter)
                .build()
        }
        type_url::IMAGE_CREATE => {
            let e: images::ImageCreate = unpack(any)?;
            Obj::new()
                .str("name", &e.name)
                .map("labels", &e.labels)
                .build()
        }
        type_url::IMAGE_UPDATE => {
            let e: images::ImageUpdate = unpack(any)?;
            Obj::new()
                .str("name", &e.name)
                .map("labels", &e.labels)
                .build()
        }
        type_url::IMAGE_DELETE => {
            let e: images::ImageDelete = unpack(any)?;
            Obj::new().str("name", &e.name).build()
        }
        _ => return Err(format!("unknown type {:?}", any.type_url)),
    };
    Ok(json)
}

fn mounts(list: &[Mount]) -> Option<Json> {
    (!list.is_empty()).then(|| {
        Json::Array(
            list.iter()
                .map(|m| {
                    Obj::new()
                        .str("type", &m.r#type)
                        .str("source", &m.source)
                        .str("target", &m.target)
                        .strings("options", &m.options)
                        .build()
                })
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    /// Lines as ctr 1.6.20 printed them on this machine.
    #[test]
    fn lines_match_ctr() {
        let exit = ev::TaskExit {
            container_id: "p2".into(),
            id: "e1".into(),
            pid: 7831,
            exit_status: 5,
            exited_at: Some(Timestamp {
                seconds: 1_795_859_310,
                nanos: 72_076_108,
            }),
        };
        let envelope = Envelope {
            timestamp: Some(Timestamp {
                seconds: 1_795_859_310,
                nanos: 72_755_672,
            }),
            namespace: "probe".into(),
            topic: "/tasks/exit".into(),
            event: Some(type_url::pack(&exit)),
        };
        assert_eq!(
            line(&envelope).unwrap(),
            "2026-11-28 09:48:30.072755672 +0000 UTC probe /tasks/exit \
             {\"container_id\":\"p2\",\"id\":\"e1\",\"pid\":7831,\"exit_status\":5,\"exited_at\":\"2026-11-28T09:48:30.072076108Z\"}"
        );
        let create = ev::ContainerCreate {
            id: "p2".into(),
            image: String::new(),
            runtime: Some(ev::container_create::Runtime {
                name: "io.containerd.runc.v2".into(),
                options: Some(Any {
                    type_url: "containerd.runc.v1.Options".into(),
                    value: Vec::new(),
                }),
            }),
        };
        assert_eq!(
            decode(&type_url::pack(&create)).unwrap().compact(),
            r#"{"id":"p2","runtime":{"name":"io.containerd.runc.v2","options":{"type_url":"containerd.runc.v1.Options"}}}"#
        );
        let task_create = ev::TaskCreate {
            container_id: "p2".into(),
            bundle: "/b".into(),
            rootfs: Vec::new(),
            io: Some(ev::TaskIo {
                stdin: "/f/p2-stdin".into(),
                stdout: "/f/p2-stdout".into(),
                stderr: "/f/p2-stderr".into(),
                terminal: false,
            }),
            checkpoint: String::new(),
            pid: 7782,
        };
        assert_eq!(
            decode(&type_url::pack(&task_create)).unwrap().compact(),
            r#"{"container_id":"p2","bundle":"/b","io":{"stdin":"/f/p2-stdin","stdout":"/f/p2-stdout","stderr":"/f/p2-stderr"},"pid":7782}"#
        );
    }

    #[test]
    fn unknown_payloads_are_refused() {
        let any = Any {
            type_url: "example.com/Nope".into(),
            value: vec![],
        };
        assert!(decode(&any).is_err());
    }
}
