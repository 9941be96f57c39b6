//! `/containers/{id}/{pause,unpause,rename,top,stats}` and `/containers/prune`.

use std::sync::Arc;

use engine_api::filters::Filters;
use hyper::StatusCode;

use super::{Query, Response, channel_response, empty, json_response};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub async fn action(
    daemon: Arc<Daemon>,
    id: &str,
    action: &str,
    query: &Query,
) -> Result<Response> {
    let c = daemon.find_container(id)?;
    match action {
        "pause" => {
            daemon.pause_container(&c).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "unpause" => {
            daemon.unpause_container(&c).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "rename" => {
            daemon
                .rename_container(&c, query.get("name").unwrap_or(""))
                .await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        "top" => {
            let top = daemon
                .top_container(&c, query.get("ps_args").unwrap_or(""))
                .await?;
            Ok(json_response(StatusCode::OK, &top))
        }
        "stats" => {
            // Docker streams unless `stream` is given (non-empty) and false.
            let stream = query.get("stream").is_none_or(str::is_empty) || query.bool("stream");
            let one_shot = query.bool("one-shot");
            if stream {
                let (response, tx) = channel_response("application/json");
                tokio::spawn(crate::daemon::ops::stream_stats(daemon, c, tx));
                return Ok(response);
            }
            let mut sample = daemon.stats_sample(&c, None);
            if !one_shot && c.is_running() {
                // A second sample a second later, so the CPU delta means something.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                sample = daemon.stats_sample(&c, Some(&sample));
            }
            Ok(json_response(StatusCode::OK, &sample))
        }
        other => Err(Error::NotImplemented(format!("container {other}"))),
    }
}

/// `POST /containers/prune`.
pub async fn prune(daemon: &Daemon, query: &Query) -> Result<Response> {
    let filters =
        Filters::parse(query.get("filters").unwrap_or("")).map_err(Error::BadParameter)?;
    let report = daemon.prune_containers(&filters).await?;
    Ok(json_response(StatusCode::OK, &report))
}
