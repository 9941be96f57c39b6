//! `namespaces create|ls|rm|label`.

use std::collections::HashMap;
use std::path::PathBuf;

use myproto::containerd::services::namespaces::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, ListNamespacesRequest, Namespace,
    UpdateNamespaceRequest,
};
use prost_types::FieldMask;

use crate::cli::NamespacesCommand;
use crate::client::Client;
use crate::commands::containers::Failures;
use crate::error::{Error, Result};
use crate::identifier;
use crate::spec::label_args;
use crate::table::Table;

pub async fn run(client: &Client, command: NamespacesCommand) -> Result<i32> {
    match command {
        NamespacesCommand::Create { name, labels } => {
            let namespace = Namespace {
                name,
                labels: label_args(&labels).into_iter().collect(),
            };
            client
                .namespaces()
                .create(client.request(CreateNamespaceRequest {
                    namespace: Some(namespace),
                }))
                .await?;
            Ok(0)
        }
        NamespacesCommand::List { quiet } => list(client, quiet).await,
        NamespacesCommand::Remove { cgroup, names } => remove(client, cgroup, &names).await,
        NamespacesCommand::Label { name, labels } => {
            // One update per label, as containerd's client does: an empty value clears it.
            for (key, value) in label_args(&labels) {
                let namespace = Namespace {
                    name: name.clone(),
                    labels: HashMap::from([(key.clone(), value)]),
                };
                client
                    .namespaces()
                    .update(client.request(UpdateNamespaceRequest {
                        namespace: Some(namespace),
                        update_mask: Some(FieldMask {
                            paths: vec![format!("labels.{key}")],
                        }),
                    }))
                    .await?;
            }
            Ok(0)
        }
    }
}

async fn list(client: &Client, quiet: bool) -> Result<i32> {
    let namespaces = client
        .namespaces()
        .list(client.request(ListNamespacesRequest::default()))
        .await?
        .into_inner()
        .namespaces;
    if quiet {
        for ns in &namespaces {
            println!("{}", ns.name);
        }
        return Ok(0);
    }
    let mut table = Table::new(1, 1);
    table.line("NAME\tLABELS\t");
    for ns in &namespaces {
        let mut labels: Vec<String> = ns.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        table.line(&format!("{}\t{}\t", ns.name, labels.join(",")));
    }
    print!("{}", table.render());
    Ok(0)
}

/// Deletes each namespace; one that does not exist counts as deleted, as with ctr.
async fn remove(client: &Client, cgroup: bool, names: &[String]) -> Result<i32> {
    let mut failures = Failures::default();
    for name in names {
        let deleted = client
            .namespaces()
            .delete(client.request(DeleteNamespaceRequest { name: name.clone() }))
            .await;
        let result = match deleted {
            Ok(_) => {
                if cgroup {
                    remove_cgroup(name)
                } else {
                    Ok(())
                }
            }
            Err(status) if status.code() == tonic::Code::NotFound => Ok(()),
            Err(status) => Err(Error::from(status)),
        };
        if failures.record(result).is_some() {
            println!("{name}");
        }
    }
    failures.result()
}

/// `--cgroup`: removes the namespace's parent cgroup (`/<namespace>`, where containerd
/// puts its containers by default) from every cgroup hierarchy.
fn remove_cgroup(name: &str) -> Result<()> {
    identifier::validate("namespace", name)?;
    for mount in cgroup_mounts() {
        let dir = mount.join(name);
        match std::fs::remove_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::File {
                    what: "removing cgroup",
                    path: dir,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Mount points of the cgroup v1 hierarchies and the cgroup2 one.
fn cgroup_mounts() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<PathBuf> = Vec::new();
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, point, kind, ..] = fields.as_slice()
            && (*kind == "cgroup" || *kind == "cgroup2")
        {
            // /proc/mounts escapes spaces and such as octal.
            let point = PathBuf::from(point.replace("\\040", " "));
            if !points.contains(&point) {
                points.push(point);
            }
        }
    }
    points
}
