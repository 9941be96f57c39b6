//! `/containers/{id}/archive` (HEAD stat, GET tar, PUT extract), `/changes` and
//! `/export`: decode, call the daemon (`daemon/archive.rs`), encode.

use std::sync::Arc;

use bytes::Bytes;
use engine_api::containers::PathStat;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::{Query, Response, empty, json_response};
use crate::daemon::Daemon;
use crate::daemon::archive::{base64, spool_path};
use crate::error::{Error, Result};

const STAT_HEADER: &str = "x-docker-container-path-stat";

pub async fn action(
    daemon: Arc<Daemon>,
    id: &str,
    action: &str,
    query: &Query,
    req: Request<Incoming>,
) -> Result<Response> {
    let c = daemon.find_container(id)?;
    match (action, req.method().clone()) {
        ("changes", _) => {
            let changes = daemon.container_changes(&c).await?;
            Ok(json_response(StatusCode::OK, &changes))
        }
        ("export", _) => Ok(tar_response(daemon.export_container(&c), None)),
        ("archive", Method::HEAD) => {
            let stat = daemon.stat_path(&c, path(query)?, id).await?;
            let mut r = empty(StatusCode::OK);
            set_stat(&mut r, &stat);
            Ok(r)
        }
        ("archive", Method::GET) => {
            let (stat, rx) = daemon.archive_path(&c, path(query)?, id).await?;
            Ok(tar_response(rx, Some(&stat)))
        }
        ("archive", Method::PUT) => {
            let path = path(query)?.to_owned();
            let spool = spool_path(&daemon.config.data_root);
            let result = async {
                receive(req.into_body(), &spool).await?;
                daemon
                    .extract_archive(
                        &c,
                        &path,
                        id,
                        spool.clone(),
                        query.bool("noOverwriteDirNonDir"),
                        query.bool("copyUIDGID"),
                    )
                    .await
            }
            .await;
            let _ = tokio::fs::remove_file(&spool).await;
            result?;
            Ok(empty(StatusCode::OK))
        }
        _ => Err(Error::MethodNotAllowed(format!(
            "method {} not allowed for {action}",
            req.method()
        ))),
    }
}

fn path(query: &Query) -> Result<&str> {
    match query.get("path") {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(Error::BadParameter(
            "bad parameter: path cannot be empty".into(),
        )),
    }
}

fn set_stat(r: &mut Response, stat: &PathStat) {
    let json = serde_json::to_vec(stat).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&base64(&json)) {
        r.headers_mut().insert(STAT_HEADER, v);
    }
}

/// A tar streaming from the daemon's walk.
fn tar_response(rx: mpsc::Receiver<Bytes>, stat: Option<&PathStat>) -> Response {
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = http_body_util::StreamBody::new(futures_util::StreamExt::map(stream, |b| {
        Ok::<_, std::convert::Infallible>(Frame::data(b))
    }));
    let mut r = hyper::Response::new(body.boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    if let Some(stat) = stat {
        set_stat(&mut r, stat);
    }
    r
}

/// Spools a PUT's body to `spool`: it is checked whole before anything is extracted.
async fn receive(mut body: Incoming, spool: &std::path::Path) -> Result<()> {
    if let Some(dir) = spool.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let mut file = tokio::fs::File::create(spool)
        .await
        .map_err(|e| Error::io(format!("creating {}", spool.display()), e))?;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Error::BadParameter(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data)
                .await
                .map_err(|e| Error::io(format!("writing {}", spool.display()), e))?;
        }
    }
    file.flush()
        .await
        .map_err(|e| Error::io(format!("writing {}", spool.display()), e))?;
    Ok(())
}
