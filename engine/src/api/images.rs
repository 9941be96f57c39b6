//! `/images/...` handlers.

use std::sync::Arc;

use engine_api::filters::Filters;
use engine_api::images::JsonMessage;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Query, Response, channel_response, empty, json_response};
use crate::daemon::Daemon;
use crate::daemon::images::registry_auth;
use crate::error::{Error, Result};

pub async fn list(daemon: &Daemon) -> Result<Response> {
    Ok(json_response(StatusCode::OK, &daemon.list_images().await?))
}

pub async fn inspect(daemon: &Daemon, name: &str) -> Result<Response> {
    Ok(json_response(
        StatusCode::OK,
        &daemon.inspect_image(name).await?,
    ))
}

pub async fn tag(daemon: &Daemon, name: &str, query: &Query) -> Result<Response> {
    let repo = query.get("repo").unwrap_or("");
    if repo.is_empty() {
        return Err(Error::BadParameter(
            "repository name must have at least one component".into(),
        ));
    }
    daemon
        .tag_image(name, repo, query.get("tag").unwrap_or(""))
        .await?;
    Ok(empty(StatusCode::CREATED))
}

pub async fn delete(daemon: &Daemon, name: &str, query: &Query) -> Result<Response> {
    let items = daemon.remove_image(name, query.bool("force")).await?;
    Ok(json_response(StatusCode::OK, &items))
}

pub async fn history(daemon: &Daemon, name: &str) -> Result<Response> {
    Ok(json_response(
        StatusCode::OK,
        &daemon.image_history(name).await?,
    ))
}

/// `POST /images/prune?filters=`.
pub async fn prune(daemon: &Daemon, query: &Query) -> Result<Response> {
    let filters =
        Filters::parse(query.get("filters").unwrap_or("")).map_err(Error::BadParameter)?;
    Ok(json_response(
        StatusCode::OK,
        &daemon.prune_images(&filters).await?,
    ))
}

/// Every `names=` of a query string, decoded (`GET /images/get?names=a&names=b`; the
/// router's `Query` keeps one value per key).
pub fn names_param(raw_query: &str) -> Vec<String> {
    raw_query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| *k == "names")
        .map(|(_, v)| {
            Query::parse(&format!("v={v}"))
                .get("v")
                .unwrap_or("")
                .to_owned()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// `GET /images/{name}/get`, `GET /images/get?names=`: a tarball both `docker load`
/// and OCI loaders read. A missing image or unreadable layer fails before the body
/// starts; the archive is then written through a pipe, so memory stays flat whatever
/// the image's size.
pub async fn save(daemon: Arc<Daemon>, names: Vec<String>) -> Result<Response> {
    let plan = daemon.plan_save(&names).await?;
    let (response, tx) = channel_response("application/x-tar");
    let (mut writer, reader) = tokio::io::duplex(256 << 10);
    tokio::spawn(async move {
        if let Err(e) = daemon.write_save(&plan, &mut writer).await {
            // The status is sent: the client sees the archive cut short inside an entry
            // (a layer's header goes out before its content is read).
            tracing::warn!(?names, "save failed: {e}");
        }
    });
    tokio::spawn(async move {
        let mut reader = reader;
        loop {
            let mut buf = bytes::BytesMut::with_capacity(64 << 10);
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(buf.freeze()).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(response)
}

fn line(m: &JsonMessage) -> bytes::Bytes {
    let mut v = serde_json::to_vec(m).unwrap_or_default();
    v.extend_from_slice(b"\r\n");
    v.into()
}

/// `POST /images/create`: a pull (import from a URL or body is not served).
pub async fn create(
    daemon: Arc<Daemon>,
    query: &Query,
    req: Request<Incoming>,
) -> Result<Response> {
    let from = query.get("fromImage").unwrap_or("").to_owned();
    if from.is_empty() {
        if query.get("fromSrc").is_some() {
            return Err(Error::NotImplemented(
                "image import from a source (fromSrc)".into(),
            ));
        }
        return Err(Error::BadParameter(
            "fromImage or fromSrc is required".into(),
        ));
    }
    let tag = query.get("tag").unwrap_or("").to_owned();
    let credentials = req
        .headers()
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok())
        .and_then(registry_auth);
    // A bad reference is a plain 400 before any progress is sent.
    let text = if tag.is_empty() {
        from.clone()
    } else {
        format!("{from}:{tag}")
    };
    myimages::Reference::parse(&text).map_err(|e| Error::BadParameter(e.to_string()))?;
    let (response, tx) = channel_response("application/json");
    tokio::spawn(async move {
        let (mtx, mut mrx) = tokio::sync::mpsc::unbounded_channel::<JsonMessage>();
        let forward = tokio::spawn(async move {
            while let Some(m) = mrx.recv().await {
                if tx.send(line(&m)).await.is_err() {
                    return;
                }
            }
        });
        let send = move |m: JsonMessage| {
            let _ = mtx.send(m);
        };
        let send_ref: &(dyn Fn(JsonMessage) + Send + Sync) = &send;
        if let Err(e) = daemon.pull_image(&from, &tag, credentials, send_ref).await {
            tracing::info!(image = %from, "pull failed: {e}");
            send(JsonMessage::error(e.to_string()));
        }
        drop(send);
        let _ = forward.await;
    });
    Ok(response)
}

/// `POST /images/load`: the tarball is spooled to a file under the data root, imported
/// and unpacked.
pub async fn load(daemon: Arc<Daemon>, req: Request<Incoming>) -> Result<Response> {
    let tmp_dir = daemon.config.data_root.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir)
        .await
        .map_err(|e| Error::io("creating the temporary directory", e))?;
    let path = tmp_dir.join(format!("load-{}.tar", crate::daemon::random_id()));
    // Removed however this ends, a dropped request included (what the daemon's start
    // does not find to clear).
    let spool = RemoveOnDrop(path.clone());
    let result = async {
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Error::io("spooling the archive", e))?;
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| Error::BadParameter(format!("reading the archive: {e}")))?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data)
                    .await
                    .map_err(|e| Error::io("spooling the archive", e))?;
            }
        }
        file.flush()
            .await
            .map_err(|e| Error::io("spooling the archive", e))?;
        drop(file);
        daemon.load_images(&path).await
    }
    .await;
    drop(spool);
    let names = result.map_err(load_error)?;
    let (response, tx) = channel_response("application/json");
    tokio::spawn(async move {
        // `quiet` only silences progress, which we do not send; the names always go.
        for n in names {
            let m = JsonMessage {
                stream: Some(format!("Loaded image: {n}\n")),
                ..Default::default()
            };
            if tx.send(line(&m)).await.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

/// Deletes a file when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A load's error at the edge: what is wrong with the archive is the client's (400);
/// containerd, disk and other failures are ours (500).
fn load_error(e: Error) -> Error {
    use myimages::Error as I;
    let Error::Images(err) = e else {
        return e;
    };
    let bad_data = |source: &std::io::Error| {
        matches!(
            source.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
        )
    };
    let client = match &err {
        I::InvalidReference { .. }
        | I::InvalidDigest { .. }
        | I::InvalidPlatform { .. }
        | I::DigestMismatch { .. }
        | I::SizeMismatch { .. }
        | I::NoMatchingManifest { .. }
        | I::UnsupportedMediaType { .. }
        | I::BadBlob { .. }
        | I::LayerCount { .. }
        | I::DiffIdMismatch { .. }
        | I::Archive { .. } => true,
        I::Io { source, .. } | I::Stream { source, .. } => bad_data(source),
        _ => false,
    };
    if client {
        Error::BadParameter(err.to_string())
    } else {
        Error::Images(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_archive_problems_are_the_clients_fault() {
        let archive = Error::Images(myimages::Error::Archive {
            path: "manifest.json".into(),
            reason: "missing".into(),
        });
        assert_eq!(load_error(archive).status(), 400);
        let truncated = Error::Images(myimages::Error::Stream {
            what: "reading the archive".into(),
            source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        });
        assert_eq!(load_error(truncated).status(), 400);
        let disk = Error::Images(myimages::Error::Io {
            what: "writing",
            path: "/x".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        });
        assert_eq!(load_error(disk).status(), 500);
        let usage = Error::Images(myimages::Error::Usage("containerd said no".into()));
        assert_eq!(load_error(usage).status(), 500);
        let ours = Error::Store("broken".into());
        assert_eq!(load_error(ours).status(), 500);
    }

    #[test]
    fn every_names_parameter_counts() {
        assert_eq!(
            names_param("names=busybox&quiet=1&names=me%2Fbox%3A1&names="),
            ["busybox", "me/box:1"]
        );
        assert!(names_param("").is_empty());
    }

    #[test]
    fn the_spool_file_goes_when_its_guard_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("load.tar");
        std::fs::write(&path, b"x").unwrap();
        drop(RemoveOnDrop(path.clone()));
        assert!(!path.exists());
    }
}
