//! `containers create|rm|info|ls|label`.

use myproto::containerd::services::containers::v1::{
    Container, ListContainersRequest, UpdateContainerRequest,
};
use myproto::containerd::v1::types::Status;
use prost_types::FieldMask;

use crate::cli::{ContainersCommand, CreateArgs};
use crate::client::Client;
use crate::container::{self, NewContainer};
use crate::error::{Error, Result};
use crate::json::{self, Json, Obj};
use crate::spec::label_args;
use crate::table::Table;
use crate::task;

pub async fn run(client: &Client, command: ContainersCommand) -> Result<i32> {
    match command {
        ContainersCommand::Create(args) => create(client, &args).await,
        ContainersCommand::Delete { keep_snapshot, ids } => {
            let mut failures = Failures::default();
            for id in &ids {
                failures.record(delete(client, id, keep_snapshot).await);
            }
            failures.result()
        }
        ContainersCommand::Info { spec, id } => {
            let container = client.container(&id).await?;
            println!("{}", info_json(&container, spec)?.indented("    "));
            Ok(0)
        }
        ContainersCommand::List { quiet, filters } => list(client, quiet, filters).await,
        ContainersCommand::Label { id, labels } => label(client, &id, &labels).await,
    }
}

async fn create(client: &Client, args: &CreateArgs) -> Result<i32> {
    let new = NewContainer {
        flags: &args.container,
        runtime: &args.runtime,
        args: &args.args,
        cgroup: None,
        cpus: 0.0,
        cpu_shares: None,
    };
    container::create(client, &new).await?;
    Ok(0)
}

/// ctr's `deleteContainer`: a stopped or created task goes first; a running one stops us.
async fn delete(client: &Client, id: &str, keep_snapshot: bool) -> Result<()> {
    let container = client.container(id).await?;
    match task::get_process(client, id, "").await {
        Ok(process) => {
            let status = Status::try_from(process.status).unwrap_or(Status::Unknown);
            if !matches!(status, Status::Stopped | Status::Created) {
                return Err(Error::NotStopped {
                    status: status_name(status).to_lowercase(),
                });
            }
            task::delete_task(client, id, &task::process_paths(&process)).await?;
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    container::delete(client, &container, keep_snapshot).await
}

async fn list(client: &Client, quiet: bool, filters: Vec<String>) -> Result<i32> {
    let containers = client
        .containers()
        .list(client.request(ListContainersRequest { filters }))
        .await?
        .into_inner()
        .containers;
    if quiet {
        for c in &containers {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    let mut table = Table::new(4, 4);
    table.line("CONTAINER\tIMAGE\tRUNTIME\t");
    for c in &containers {
        let image = if c.image.is_empty() { "-" } else { &c.image };
        let runtime = c.runtime.as_ref().map(|r| r.name.as_str()).unwrap_or("");
        table.line(&format!("{}\t{}\t{}\t", c.id, image, runtime));
    }
    print!("{}", table.render());
    Ok(0)
}

async fn label(client: &Client, id: &str, labels: &[String]) -> Result<i32> {
    let labels = label_args(labels);
    let update = Container {
        id: id.to_owned(),
        labels: labels.clone().into_iter().collect(),
        ..Container::default()
    };
    let paths = labels.keys().map(|k| format!("labels.{k}")).collect();
    let updated = client
        .containers()
        .update(client.request(UpdateContainerRequest {
            container: Some(update),
            update_mask: Some(FieldMask { paths }),
        }))
        .await?
        .into_inner()
        .container
        .unwrap_or_default();
    let mut pairs: Vec<String> = updated
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    println!("{}", pairs.join(","));
    Ok(0)
}

/// The container as ctr prints it: Go's `containers.Container`, with the spec decoded.
fn info_json(container: &Container, spec_only: bool) -> Result<Json> {
    let spec = match &container.spec {
        Some(any) if !any.value.is_empty() => {
            Some(task::container_spec(container).map_err(|_| Error::Decode {
                what: format!("spec of container {:?} ({})", container.id, any.type_url),
                reason: "not JSON".into(),
            })?)
        }
        _ => None,
    };
    if spec_only {
        return Ok(spec.unwrap_or(Json::Null));
    }
    let labels = if container.labels.is_empty() {
        Json::Null
    } else {
        Json::map(&container.labels)
    };
    let runtime = container.runtime.clone().unwrap_or_default();
    let runtime = Obj::new()
        .field("Name", Json::str(runtime.name))
        .field(
            "Options",
            runtime.options.as_ref().map_or(Json::Null, json::any),
        )
        .build();
    let mut fields = Obj::new()
        .field("ID", Json::str(&container.id))
        .field("Labels", labels)
        .field("Image", Json::str(&container.image))
        .field("Runtime", runtime);
    if spec.is_none() {
        // No decoded spec to put last: Go's field order puts the raw one here.
        fields = fields.field(
            "Spec",
            container.spec.as_ref().map_or(Json::Null, json::any),
        );
    }
    let extensions = if container.extensions.is_empty() {
        Json::Null
    } else {
        let mut entries: Vec<(String, Json)> = container
            .extensions
            .iter()
            .map(|(k, v)| (k.clone(), json::any(v)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Json::Object(entries)
    };
    fields = fields
        .field("SnapshotKey", Json::str(&container.snapshot_key))
        .field("Snapshotter", Json::str(&container.snapshotter))
        .field("CreatedAt", json::timestamp(container.created_at.as_ref()))
        .field("UpdatedAt", json::timestamp(container.updated_at.as_ref()))
        .field("Extensions", extensions)
        .opt("Spec", spec);
    Ok(fields.build())
}

/// Failures of a command over several names: each is reported, one line each, and the
/// command fails if any did.
#[derive(Default)]
pub struct Failures {
    last: Option<Error>,
}

impl Failures {
    pub fn record<T>(&mut self, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                // The last one is main's to print; earlier ones are printed here.
                if let Some(previous) = self.last.replace(e) {
                    eprintln!("myctr: {previous}");
                }
                None
            }
        }
    }

    pub fn result(self) -> Result<i32> {
        self.last.map_or(Ok(0), Err)
    }
}

/// containerd's status names, as `tasks ls` prints them.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Unknown => "UNKNOWN",
        Status::Created => "CREATED",
        Status::Running => "RUNNING",
        Status::Stopped => "STOPPED",
        Status::Paused => "PAUSED",
        Status::Pausing => "PAUSING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use myproto::containerd::runc::v1::Options as RuncOptions;
    use myproto::containerd::services::containers::v1::container::Runtime;
    use prost_types::{Any, Timestamp};

    /// `ctr c info fx1` as ctr 1.6.20 printed it for
    /// `ctr run -d --label b=2 --label a=1 --runc-binary /usr/bin/runc --rootfs R fx1 /bin/sleep 1000`.
    const CTR_INFO: &str = include_str!("../../tests/data/ctr-1.6.20-container-info.json");

    #[test]
    fn info_prints_like_ctr() {
        let printed = Json::parse(CTR_INFO.as_bytes()).unwrap();
        let spec = printed.get("Spec").unwrap().compact().into_bytes();
        let at = Timestamp {
            seconds: 1_795_861_816,
            nanos: 131_837_027,
        };
        let container = Container {
            id: "fx1".into(),
            labels: [("b", "2"), ("a", "1")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            runtime: Some(Runtime {
                name: "io.containerd.runc.v2".into(),
                options: Some(myproto::type_url::pack(&RuncOptions {
                    binary_name: "/usr/bin/runc".into(),
                    ..RuncOptions::default()
                })),
            }),
            spec: Some(Any {
                type_url: myproto::type_url::SPEC.into(),
                value: spec,
            }),
            created_at: Some(at),
            updated_at: Some(at),
            ..Container::default()
        };
        assert_eq!(
            info_json(&container, false).unwrap().indented("    "),
            CTR_INFO.trim_end()
        );
        assert_eq!(
            info_json(&container, true).unwrap().indented("    "),
            printed.get("Spec").unwrap().indented("    ")
        );
    }
}
