//! `/networks`: list, inspect, create, delete, connect, disconnect, prune.

use engine_api::filters::Filters;
use engine_api::networks::{ConnectRequest, CreateNetworkRequest, DisconnectRequest};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::{Query, Response, empty, json_response, read_json};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

fn filters(query: &Query) -> Result<Filters> {
    Filters::parse(query.get("filters").unwrap_or("")).map_err(Error::BadParameter)
}

/// `GET /networks`.
pub fn list(daemon: &Daemon, query: &Query) -> Result<Response> {
    let list = daemon.list_networks(&filters(query)?)?;
    Ok(json_response(StatusCode::OK, &list))
}

/// `POST /networks/create`.
pub async fn create(daemon: &Daemon, req: Request<Incoming>) -> Result<Response> {
    let body: CreateNetworkRequest = read_json(req).await?;
    let created = daemon.create_network(&body).await?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `POST /networks/prune`.
pub async fn prune(daemon: &Daemon, query: &Query) -> Result<Response> {
    let pruned = daemon.prune_networks(&filters(query)?).await?;
    Ok(json_response(StatusCode::OK, &pruned))
}

/// `/networks/{id}` and `/networks/{id}/{connect,disconnect}`.
pub async fn action(
    daemon: &Daemon,
    method: &Method,
    id: &str,
    action: &str,
    req: Request<Incoming>,
) -> Result<Response> {
    match (method, action) {
        (&Method::GET, "") => Ok(json_response(StatusCode::OK, &daemon.inspect_network(id)?)),
        (&Method::DELETE, "") => {
            daemon.remove_network(id).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (&Method::POST, "connect") => {
            let body: ConnectRequest = read_json(req).await?;
            daemon.connect_network(id, &body).await?;
            Ok(empty(StatusCode::OK))
        }
        (&Method::POST, "disconnect") => {
            let body: DisconnectRequest = read_json(req).await?;
            daemon.disconnect_network(id, &body).await?;
            Ok(empty(StatusCode::OK))
        }
        _ => Err(Error::MethodNotAllowed(format!(
            "method {method} not allowed for /networks/{id}/{action}"
        ))),
    }
}
