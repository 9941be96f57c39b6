//! Our descriptor set, listed one fact per line, must equal the listing of
//! containerd's own definitions in `tests/data/containerd-wire-shape.txt`.
//! A renumbered, retyped, renamed, missing or invented field, method or enum
//! value fails here with the offending lines.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

fn list_enum(e: &EnumDescriptorProto, scope: &str, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", e.name());
    for v in &e.value {
        out.insert(format!("enumval {name}.{} = {}", v.name(), v.number()));
    }
}

fn list_message(m: &DescriptorProto, scope: &str, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", m.name());
    out.insert(format!("message {name}"));
    for f in &m.field {
        assert!(!f.proto3_optional(), "{name}.{}: proto3 optional", f.name());
        let label = Label::try_from(f.label.unwrap_or_default()).unwrap();
        let ty = Type::try_from(f.r#type.unwrap_or_default()).unwrap();
        let mut line = format!(
            "field {name}.{} = {} {} {}",
            f.name(),
            f.number(),
            label.as_str_name(),
            ty.as_str_name()
        );
        if !f.type_name().is_empty() {
            line.push(' ');
            line.push_str(f.type_name());
        }
        out.insert(line);
    }
    for e in &m.enum_type {
        list_enum(e, &name, out);
    }
    for nested in &m.nested_type {
        list_message(nested, &name, out);
    }
}

fn our_listing() -> BTreeSet<String> {
    let set = FileDescriptorSet::decode(myproto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = BTreeSet::new();
    for file in &set.file {
        if file.name().starts_with("google/protobuf/") {
            continue;
        }
        let scope = format!(".{}", file.package());
        for m in &file.message_type {
            list_message(m, &scope, &mut out);
        }
        for e in &file.enum_type {
            list_enum(e, &scope, &mut out);
        }
        for s in &file.service {
            for m in &s.method {
                let stream = |yes: bool| if yes { "stream " } else { "" };
                out.insert(format!(
                    "rpc {scope}.{}/{} ({}{}) -> ({}{})",
                    s.name(),
                    m.name(),
                    stream(m.client_streaming()),
                    m.input_type(),
                    stream(m.server_streaming()),
                    m.output_type()
                ));
            }
        }
    }
    out
}

fn upstream_listing() -> BTreeSet<String> {
    include_str!("data/containerd-wire-shape.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn descriptors_match_containerd() {
    let ours = our_listing();
    let upstream = upstream_listing();
    let missing: Vec<_> = upstream.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&upstream).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "wire shape differs from containerd\nin containerd, not ours:\n  {}\nours, not in containerd:\n  {}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
    );
}

#[test]
fn listing_covers_every_service() {
    // Guards the test itself: an empty or truncated listing would pass vacuously.
    let services: BTreeSet<_> = upstream_listing()
        .iter()
        .filter_map(|l| l.strip_prefix("rpc "))
        .filter_map(|l| l.split('/').next().map(str::to_owned))
        .collect();
    let expected = [
        ".containerd.services.containers.v1.Containers",
        ".containerd.services.content.v1.Content",
        ".containerd.services.diff.v1.Diff",
        ".containerd.services.events.v1.Events",
        ".containerd.services.images.v1.Images",
        ".containerd.services.introspection.v1.Introspection",
        ".containerd.services.leases.v1.Leases",
        ".containerd.services.namespaces.v1.Namespaces",
        ".containerd.services.snapshots.v1.Snapshots",
        ".containerd.services.tasks.v1.Tasks",
        ".containerd.services.version.v1.Version",
        ".containerd.task.v2.Task",
    ];
    assert_eq!(services, expected.iter().map(|s| s.to_string()).collect());
}
