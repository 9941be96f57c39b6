//! containerd's v1 gRPC API and the shim v2 task API, as our own `.proto` files
//! (under `proto/`) compiled with tonic/prost.
//!
//! The module tree mirrors the proto packages, so `containerd.services.tasks.v1`
//! is [`containerd::services::tasks::v1`]; generated code refers across
//! packages with `super::...` paths and relies on that shape. Every service has
//! both a client (`<service>_client`) and a server (`<service>_server`) module.
//!
//! Server traits come with default method bodies answering `UNIMPLEMENTED`, so
//! a service implements only what it supports; server-streaming methods return
//! `tonic::codegen::BoxStream<T>` (a pinned, boxed `Stream` of `Result<T, Status>`). Clients
//! have no `connect(uri)` constructor (it would clash with the shim's
//! `Connect` method): build a channel with [`transport::connect_unix`].
//!
//! Wire shape (package, service, method, message and field names, numbers and
//! types) matches containerd 1.6.20 (Debian's) plus the fields later 1.6/1.7
//! releases added; `tests/wire_shape.rs` holds that against a listing of the
//! upstream definitions.
//!
//! Also here: [`type_url`] (how containerd names `Any` payloads, with
//! pack/unpack helpers), [`namespace`] (the namespace metadata key) and
//! [`transport`] (a tonic client connector for UNIX sockets).

pub mod error;
pub mod namespace;
pub mod transport;
pub mod type_url;

pub use error::{Error, Result};

/// Encoded `google.protobuf.FileDescriptorSet` of every file in `proto/` and
/// its imports, e.g. for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/myproto_descriptor.bin"));

/// `google.*` packages other than the well-known types (those come from
/// `prost_types`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod google {
    /// `google.rpc`: the `Status` error model.
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

/// `io.containerd.cgroups.v1`: the cgroup v1 statistics of Task.Stats / Tasks.Metrics.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod io {
    pub mod containerd {
        pub mod cgroups {
            pub mod v1 {
                tonic::include_proto!("io.containerd.cgroups.v1");
            }
        }
    }
}

/// Everything in containerd's `containerd.*` proto packages.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod containerd {
    /// `containerd.types`: Mount, Descriptor, Platform, Metric.
    pub mod types {
        tonic::include_proto!("containerd.types");
    }

    /// `containerd.v1.types`: process Status, Process, ProcessInfo (the odd
    /// package name is upstream's).
    pub mod v1 {
        pub mod types {
            tonic::include_proto!("containerd.v1.types");
        }
    }

    /// The daemon's gRPC services, one `v1` module per service.
    pub mod services {
        pub mod containers {
            pub mod v1 {
                tonic::include_proto!("containerd.services.containers.v1");
            }
        }
        pub mod content {
            pub mod v1 {
                tonic::include_proto!("containerd.services.content.v1");
            }
        }
        pub mod diff {
            pub mod v1 {
                tonic::include_proto!("containerd.services.diff.v1");
            }
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("containerd.services.events.v1");
            }
        }
        /// Also holds the image event payloads (`ImageCreate`, ...), which
        /// upstream declares in this package.
        pub mod images {
            pub mod v1 {
                tonic::include_proto!("containerd.services.images.v1");
            }
        }
        pub mod introspection {
            pub mod v1 {
                tonic::include_proto!("containerd.services.introspection.v1");
            }
        }
        pub mod leases {
            pub mod v1 {
                tonic::include_proto!("containerd.services.leases.v1");
            }
        }
        pub mod namespaces {
            pub mod v1 {
                tonic::include_proto!("containerd.services.namespaces.v1");
            }
        }
        pub mod snapshots {
            pub mod v1 {
                tonic::include_proto!("containerd.services.snapshots.v1");
            }
        }
        pub mod tasks {
            pub mod v1 {
                tonic::include_proto!("containerd.services.tasks.v1");
            }
        }
        pub mod version {
            pub mod v1 {
                tonic::include_proto!("containerd.services.version.v1");
            }
        }
    }

    /// `containerd.events`: event payloads (task, container, namespace,
    /// content, snapshot). Image events live in
    /// [`services::images::v1`].
    pub mod events {
        tonic::include_proto!("containerd.events");
    }

    /// `containerd.task.v2`: the shim's Task service.
    pub mod task {
        pub mod v2 {
            tonic::include_proto!("containerd.task.v2");
        }
    }

    /// `containerd.runc.v1`: options of the `io.containerd.runc.v1/v2` runtimes.
    pub mod runc {
        pub mod v1 {
            tonic::include_proto!("containerd.runc.v1");
        }
    }

    /// `containerd.linux.runc`: options of the legacy `io.containerd.runtime.v1.linux`.
    pub mod linux {
        pub mod runc {
            tonic::include_proto!("containerd.linux.runc");
        }
    }
}
