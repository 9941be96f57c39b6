//! Compiles `proto/**/*.proto` into prost messages plus tonic clients and servers.
//!
//! Well-known types (`google.protobuf.*`) are not generated: tonic-prost-build
//! leaves `compile_well_known_types` off, so prost maps them to `prost_types`.
//! `protoc` comes from `$PROTOC` or `PATH` (Debian's `protobuf-compiler`); it
//! must support proto3 (3.12+).

use std::io;
use std::path::{Path, PathBuf};

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let root = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-env-changed=PROTOC");

    let mut protos = Vec::new();
    collect_protos(&root, &mut protos)?;
    // A stable order keeps the generated code and descriptor set reproducible.
    protos.sort();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut config = tonic_prost_build::Config::new();
    // `prost::Name` impls give each message its full proto name, which is
    // what containerd uses as the type URL of event payloads and options.
    config.enable_type_names();

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // No `XClient::connect(uri)` constructors: they clash with the shim
        // Task service's own `Connect` method, and our clients dial UNIX
        // sockets through `myproto::transport` anyway.
        .build_transport(false)
        // Every server trait method gets a default body answering
        // UNIMPLEMENTED, so a service implements only what it supports (as
        // DESIGN.md asks). Server-streaming methods then return `BoxStream<T>`.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out_dir.join("myproto_descriptor.bin"))
        .compile_with_config(config, &protos, &[root])
}
