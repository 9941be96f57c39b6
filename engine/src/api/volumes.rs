//! `/volumes`: list, inspect, create, delete, prune. Removing and pruning delete data,
//! so they run on the blocking pool.

use std::sync::Arc;

use engine_api::filters::Filters;
use engine_api::volumes::VolumeCreateRequest;
use engine_api::{API_VERSION, compare_versions};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::{Query, Response, empty, json_response, read_json};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

fn filters(query: &Query) -> Result<Filters> {
    Filters::parse(query.get("filters").unwrap_or("")).map_err(Error::BadParameter)
}

/// The API version a request asked for in its path (`/v1.41/...`), ours without one.
pub fn requested_version(full_path: &str) -> &str {
    full_path
        .strip_prefix("/v")
        .and_then(|rest| rest.split('/').next())
        .filter(|v| {
            v.split('.').count() == 2
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or(API_VERSION)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::Handler)?
}

/// `GET /volumes`.
pub fn list(daemon: &Daemon, query: &Query) -> Result<Response> {
    let list = daemon.list_volumes(&filters(query)?)?;
    Ok(json_response(StatusCode::OK, &list))
}

/// `POST /volumes/create`: 201 with the volume, also when it existed.
pub async fn create(daemon: &Daemon, req: Request<Incoming>) -> Result<Response> {
    let body: VolumeCreateRequest = read_json(req).await?;
    let created = daemon.create_volume(&body)?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `POST /volumes/prune`. Clients before API 1.42 get every unused volume pruned, not
/// only anonymous ones.
pub async fn prune(daemon: Arc<Daemon>, query: &Query, full_path: &str) -> Result<Response> {
    let filters = filters(query)?;
    let all = compare_versions(requested_version(full_path), "1.42").is_lt();
    let report = blocking(move || daemon.prune_volumes(&filters, all)).await?;
    Ok(json_response(StatusCode::OK, &report))
}

/// `/volumes/{name}`: GET and DELETE (`force`).
pub async fn action(
    daemon: Arc<Daemon>,
    method: &Method,
    name: &str,
    query: &Query,
) -> Result<Response> {
    match *method {
        Method::GET => Ok(json_response(StatusCode::OK, &daemon.inspect_volume(name)?)),
        Method::DELETE => {
            let (name, force) = (name.to_owned(), query.bool("force"));
            blocking(move || daemon.remove_volume(&name, force)).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        Method::PUT => Err(Error::NotImplemented(
            "volume update (only for swarm cluster volumes)".into(),
        )),
        _ => Err(Error::MethodNotAllowed(format!(
            "method {method} not allowed for /volumes/{name}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_paths() {
        assert_eq!(requested_version("/v1.41/volumes/prune"), "1.41");
        assert_eq!(requested_version("/volumes/prune"), API_VERSION);
        assert_eq!(requested_version("/vx/volumes/prune"), API_VERSION);
    }
}
