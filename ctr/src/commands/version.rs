//! `version`: the client's version, then the daemon's (Version and Introspection.Server).

use std::future::Future;

use crate::client::Client;
use crate::error::Result;

pub async fn run<F>(connect: impl FnOnce() -> F) -> Result<i32>
where
    F: Future<Output = Result<Client>>,
{
    println!("Client:");
    println!("  Version:  {}", env!("CARGO_PKG_VERSION"));
    println!();
    let client = connect().await?;
    let version = client
        .version()
        .version(client.request(()))
        .await?
        .into_inner();
    println!("Server:");
    println!("  Version:  {}", version.version);
    println!("  Revision: {}", version.revision);
    // A daemon without introspection still has a version worth showing.
    match client.introspection().server(client.request(())).await {
        Ok(server) => println!("  UUID: {}", server.into_inner().uuid),
        Err(status) if status.code() == tonic::Code::Unimplemented => {}
        Err(status) => return Err(status.into()),
    }
    Ok(0)
}
