//! myengined: the Docker Engine API on a UNIX socket (and TCP with TLS), backed by containerd's v1 API.
//!
//! Layers: [`config`] (flags) → [`server`] (sockets, HTTP) → [`api`] (routes, thin
//! handlers) → [`daemon`] (containers, execs, images, events) → [`store`] (redb) and
//! [`containerd`] (the gRPC connection). [`logger`] is the json-file logging program the
//! shim starts for each container.

pub mod api;
pub mod config;
pub mod config_file;
pub mod containerd;
pub mod daemon;
pub mod error;
pub mod events;
pub mod logger;
pub mod network;
pub mod server;
pub mod store;
pub mod tls;
