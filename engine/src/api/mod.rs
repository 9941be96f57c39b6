//! The Docker Engine API over HTTP/1.1: the router (versioned `/v1.NN/...` and bare
//! paths), query parsing, JSON bodies, and the edge conversion of errors to Docker's
//! `{"message": "..."}`. Handlers in the submodules are thin: decode, call the daemon,
//! encode.

pub mod archive;
pub mod containers;
pub mod events;
pub mod exec;
pub mod hijack;
pub mod images;
pub mod networks;
pub mod ops;
pub mod query;
pub mod system;
pub mod volumes;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use engine_api::{API_VERSION, MIN_API_VERSION, compare_versions};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::sync::mpsc;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
pub use query::Query;

pub type Body = BoxBody<Bytes, Infallible>;
pub type Response = hyper::Response<Body>;

/// Bodies larger than this are refused (create requests and the like are small; image
/// loads stream to a file and are not bound by it).
const MAX_JSON_BODY: usize = 8 << 20;

/// Serves one request; never fails (errors become Docker's JSON answer).
pub async fn handle(daemon: Arc<Daemon>, req: Request<Incoming>) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let result = detached(route(daemon, req)).await;
    match result {
        Ok(r) => {
            tracing::debug!(%method, %path, status = r.status().as_u16(), "request");
            r
        }
        Err(e) => {
            let status = e.status();
            if status.is_server_error() {
                tracing::warn!(%method, %path, status = status.as_u16(), "{e}");
            } else {
                tracing::debug!(%method, %path, status = status.as_u16(), "{e}");
            }
            error_response(&e)
        }
    }
}

/// Runs `work` in a task of its own and waits for it. hyper drops a request's future
/// when the client hangs up or the connection shuts down; the spawned work goes on to
/// its end, so a create, start or load never stops halfway (leaking leases, snapshots
/// or containerd records, or leaving a started task recorded as created). Hijacked and
/// streaming responses already run in their own tasks once the response is returned.
async fn detached<F>(work: F) -> Result<Response>
where
    F: std::future::Future<Output = Result<Response>> + Send + 'static,
{
    tokio::spawn(work)
        .await
        .unwrap_or_else(|e| Err(Error::Handler(e)))
}

pub fn error_response(e: &Error) -> Response {
    let status = e.status();
    if status == StatusCode::NOT_MODIFIED {
        return empty(status);
    }
    json_response(
        status,
        &engine_api::ErrorResponse {
            message: e.to_string(),
        },
    )
}

/// Splits off a `/vX.Y` prefix and checks the version against ours.
pub fn strip_version(path: &str) -> Result<&str> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(path);
    };
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let is_version = !version.is_empty()
        && version.split('.').count() == 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !is_version {
        return Ok(path);
    }
    if compare_versions(version, MIN_API_VERSION).is_lt() {
        return Err(Error::BadParameter(format!(
            "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if compare_versions(version, API_VERSION).is_gt() {
        return Err(Error::BadParameter(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok(tail)
}

/// Which handler a method and path go to.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Ping,
    Version,
    Info,
    ContainerList,
    ContainerCreate,
    Container(&'a str, &'a str),
    ContainerDelete(&'a str),
    /// `archive` (GET, HEAD, PUT), `changes`, `export` (GET): handled in `archive`.
    ContainerArchive(&'a str, &'a str),
    /// `pause`, `unpause`, `rename` (POST), `top`, `stats` (GET): handled in `ops`.
    ContainerOp(&'a str, &'a str),
    ContainerPrune,
    Exec(&'a str, &'a str),
    ImageList,
    ImageCreate,
    ImageLoad,
    ImageInspect(&'a str),
    ImageTag(&'a str),
    ImageDelete(&'a str),
    ImageHistory(&'a str),
    /// `GET /images/{name}/get` (one name) or `GET /images/get?names=` (None).
    ImageSave(Option<&'a str>),
    ImagePrune,
    SystemDf,
    NetworkList,
    NetworkCreate,
    NetworkPrune,
    /// A network and an action (`""`, `connect`, `disconnect`); the method decides.
    Network(&'a str, &'a str),
    VolumeList,
    VolumeCreate,
    VolumePrune,
    /// A volume by name; the method decides.
    Volume(&'a str),
    /// `GET /events`.
    Events,
    /// A Docker endpoint we do not serve.
    NotImplemented(&'a str),
}

const CONTAINER_POST: &[&str] = &[
    "start", "stop", "kill", "wait", "attach", "resize", "restart", "exec", "update",
];
const CONTAINER_OPS_POST: &[&str] = &["pause", "unpause", "rename"];
const CONTAINER_OPS_GET: &[&str] = &["top", "stats"];
const CONTAINER_POST_LATER: &[&str] = &["copy"];
const CONTAINER_GET: &[&str] = &["json", "logs"];
const CONTAINER_GET_LATER: &[&str] = &["attach/ws"];
const LATER_PREFIXES: &[&str] = &[
    "/system",
    "/build",
    "/auth",
    "/plugins",
    "/swarm",
    "/services",
    "/nodes",
    "/tasks",
    "/secrets",
    "/configs",
    "/session",
    "/distribution",
    "/commit",
    "/images/search",
];

/// Maps a (version-stripped) path to a route; `Err` is 404 or 405.
pub fn resolve<'a>(method: &Method, path: &'a str) -> Result<Route<'a>> {
    let not_found = || Error::NotFound(format!("page not found: {path}"));
    let wrong_method =
        || Error::MethodNotAllowed(format!("method {method} not allowed for {path}"));
    let is = |m: &Method| method == m;
    let only = |m: Method, r: Route<'a>| {
        if *method == m {
            Ok(r)
        } else {
            Err(wrong_method())
        }
    };
    match path {
        "/_ping" => {
            return if is(&Method::GET) || is(&Method::HEAD) {
                Ok(Route::Ping)
            } else {
                Err(wrong_method())
            };
        }
        "/version" => return only(Method::GET, Route::Version),
        "/info" => return only(Method::GET, Route::Info),
        "/events" => return only(Method::GET, Route::Events),
        "/containers/json" => return only(Method::GET, Route::ContainerList),
        "/containers/create" => return only(Method::POST, Route::ContainerCreate),
        "/containers/prune" => return only(Method::POST, Route::ContainerPrune),
        "/images/json" => return only(Method::GET, Route::ImageList),
        "/images/create" => return only(Method::POST, Route::ImageCreate),
        "/images/load" => return only(Method::POST, Route::ImageLoad),
        "/images/prune" => return only(Method::POST, Route::ImagePrune),
        "/images/get" => return only(Method::GET, Route::ImageSave(None)),
        "/system/df" => return only(Method::GET, Route::SystemDf),
        "/networks" => return only(Method::GET, Route::NetworkList),
        "/networks/create" => return only(Method::POST, Route::NetworkCreate),
        "/networks/prune" => return only(Method::POST, Route::NetworkPrune),
        "/volumes" => return only(Method::GET, Route::VolumeList),
        "/volumes/create" => return only(Method::POST, Route::VolumeCreate),
        "/volumes/prune" => return only(Method::POST, Route::VolumePrune),
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/volumes/") {
        return match name {
            _ if name.is_empty() || name.contains('/') => Err(not_found()),
            _ if is(&Method::GET) || is(&Method::DELETE) || is(&Method::PUT) => {
                Ok(Route::Volume(name))
            }
            _ => Err(wrong_method()),
        };
    }
    if let Some(rest) = path.strip_prefix("/networks/") {
        let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
        return match action {
            _ if id.is_empty() => Err(not_found()),
            "" if is(&Method::GET) || is(&Method::DELETE) => Ok(Route::Network(id, action)),
            "connect" | "disconnect" => only(Method::POST, Route::Network(id, action)),
            "" => Err(wrong_method()),
            _ => Err(not_found()),
        };
    }
    if let Some(p) = LATER_PREFIXES
        .iter()
        .find(|p| path == **p || path.starts_with(&format!("{p}/")))
    {
        return Ok(Route::NotImplemented(p));
    }
    if let Some(rest) = path.strip_prefix("/containers/") {
        let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
        if id.is_empty() {
            return Err(not_found());
        }
        if action.is_empty() {
            return only(Method::DELETE, Route::ContainerDelete(id));
        }
        if CONTAINER_POST.contains(&action) {
            return only(Method::POST, Route::Container(id, action));
        }
        if CONTAINER_GET.contains(&action) {
            return only(Method::GET, Route::Container(id, action));
        }
        if action == "archive" {
            return if is(&Method::GET) || is(&Method::HEAD) || is(&Method::PUT) {
                Ok(Route::ContainerArchive(id, action))
            } else {
                Err(wrong_method())
            };
        }
        if action == "changes" || action == "export" {
            return only(Method::GET, Route::ContainerArchive(id, action));
        }
        if CONTAINER_OPS_POST.contains(&action) {
            return only(Method::POST, Route::ContainerOp(id, action));
        }
        if CONTAINER_OPS_GET.contains(&action) {
            return only(Method::GET, Route::ContainerOp(id, action));
        }
        if CONTAINER_POST_LATER.contains(&action) || CONTAINER_GET_LATER.contains(&action) {
            return Ok(Route::NotImplemented(action));
        }
        return Err(not_found());
    }
    if let Some(rest) = path.strip_prefix("/exec/") {
        let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
        return match action {
            "start" | "resize" => only(Method::POST, Route::Exec(id, action)),
            "json" => only(Method::GET, Route::Exec(id, action)),
            _ => Err(not_found()),
        };
    }
    if let Some(rest) = path.strip_prefix("/images/") {
        if rest.is_empty() {
            return Err(not_found());
        }
        if is(&Method::DELETE) {
            return Ok(Route::ImageDelete(rest));
        }
        if let Some(name) = rest.strip_suffix("/json") {
            return only(Method::GET, Route::ImageInspect(name));
        }
        if let Some(name) = rest.strip_suffix("/tag") {
            return only(Method::POST, Route::ImageTag(name));
        }
        if let Some(name) = rest.strip_suffix("/history") {
            return only(Method::GET, Route::ImageHistory(name));
        }
        if let Some(name) = rest.strip_suffix("/get") {
            return only(Method::GET, Route::ImageSave(Some(name)));
        }
        if rest.ends_with("/push") {
            return Ok(Route::NotImplemented("images"));
        }
        return Err(if is(&Method::GET) || is(&Method::POST) {
            not_found()
        } else {
            wrong_method()
        });
    }
    Err(not_found())
}

async fn route(daemon: Arc<Daemon>, req: Request<Incoming>) -> Result<Response> {
    let full = req.uri().path().to_owned();
    let path = strip_version(&full)?;
    let route = resolve(req.method(), path)?;
    let query = Query::parse(req.uri().query().unwrap_or(""));
    match route {
        Route::Ping => Ok(system::ping(req.method() == Method::HEAD)),
        Route::Version => system::version(&daemon).await,
        Route::Info => system::info(&daemon).await,
        Route::Events => events::events(&daemon, &query),
        Route::ContainerList => containers::list(&daemon, &query),
        Route::ContainerCreate => containers::create(&daemon, &query, req).await,
        Route::ContainerDelete(id) => containers::delete(&daemon, id, &query).await,
        Route::Container(id, action) => {
            let id = id.to_owned();
            containers::action(daemon, &id, action, &query, req).await
        }
        Route::ContainerOp(id, action) => {
            let id = id.to_owned();
            ops::action(daemon, &id, action, &query).await
        }
        Route::ContainerPrune => ops::prune(&daemon, &query).await,
        Route::ContainerArchive(id, action) => {
            let id = id.to_owned();
            archive::action(daemon, &id, action, &query, req).await
        }
        Route::Exec(id, action) => {
            let id = id.to_owned();
            exec::action(daemon, &id, action, &query, req).await
        }
        Route::ImageList => images::list(&daemon).await,
        Route::ImageCreate => images::create(daemon, &query, req).await,
        Route::ImageLoad => images::load(daemon, req).await,
        Route::ImageInspect(name) => images::inspect(&daemon, name).await,
        Route::ImageTag(name) => images::tag(&daemon, name, &query).await,
        Route::ImageDelete(name) => images::delete(&daemon, name, &query).await,
        Route::ImageHistory(name) => images::history(&daemon, name).await,
        Route::ImageSave(name) => {
            let names = match name {
                Some(n) => vec![n.to_owned()],
                None => images::names_param(req.uri().query().unwrap_or("")),
            };
            images::save(daemon, names).await
        }
        Route::ImagePrune => images::prune(&daemon, &query).await,
        Route::SystemDf => system::disk_usage(&daemon, req.uri().query().unwrap_or("")).await,
        Route::NetworkList => networks::list(&daemon, &query),
        Route::NetworkCreate => networks::create(&daemon, req).await,
        Route::NetworkPrune => networks::prune(&daemon, &query).await,
        Route::Network(id, action) => {
            let (id, method) = (id.to_owned(), req.method().clone());
            networks::action(&daemon, &method, &id, action, req).await
        }
        Route::VolumeList => volumes::list(&daemon, &query),
        Route::VolumeCreate => volumes::create(&daemon, req).await,
        Route::VolumePrune => volumes::prune(daemon, &query, &full).await,
        Route::Volume(name) => {
            let (name, method) = (name.to_owned(), req.method().clone());
            volumes::action(daemon, &method, &name, &query).await
        }
        Route::NotImplemented(what) => Err(Error::NotImplemented(format!(
            "{} {what}",
            if what.starts_with('/') {
                "endpoint"
            } else {
                "container/image operation"
            }
        ))),
    }
}

/// Reads a JSON body; an empty body is the type's default (Docker accepts that for
/// most endpoints); malformed JSON is a 400.
pub async fn read_json<T: serde::de::DeserializeOwned + Default>(
    req: Request<Incoming>,
) -> Result<T> {
    let body = read_body(req, MAX_JSON_BODY).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|e| Error::BadParameter(format!("invalid JSON: {e}")))
}

pub async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes> {
    read_incoming(req.into_body(), limit).await
}

pub async fn read_incoming(mut body: Incoming, limit: usize) -> Result<Bytes> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Error::BadParameter(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() > limit {
                return Err(Error::BadParameter("request body too large".into()));
            }
        }
    }
    Ok(out.into())
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn empty(status: StatusCode) -> Response {
    let mut r = hyper::Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

pub fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let mut body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    let mut r = hyper::Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A response body fed by a channel: streams (logs, pull progress, wait) that start
/// before their content is known.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}

/// A streaming response and the sender that feeds it.
pub fn channel_response(content_type: &'static str) -> (Response, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(64);
    let mut r = hyper::Response::new(ChannelBody { rx }.boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    (r, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_goes_on_when_the_request_is_dropped() {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let request = tokio::spawn(detached(async move {
            let _ = started_tx.send(());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let _ = done_tx.send(());
            Ok(empty(StatusCode::OK))
        }));
        started_rx.await.unwrap();
        // The client hangs up: hyper drops the request's future.
        request.abort();
        let _ = request.await;
        tokio::time::timeout(std::time::Duration::from_secs(5), done_rx)
            .await
            .expect("the work was cut short")
            .expect("the work was dropped before finishing");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500() {
        fn boom() -> Result<Response> {
            panic!("boom")
        }
        let e = detached(async { boom() }).await.unwrap_err();
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn versions_in_paths() {
        assert_eq!(
            strip_version("/v1.47/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/v1.24/_ping").unwrap(), "/_ping");
        assert_eq!(strip_version("/_ping").unwrap(), "/_ping");
        assert_eq!(strip_version("/volumes").unwrap(), "/volumes");
        let e = strip_version("/v1.12/info").unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("too old"), "{e}");
        let e = strip_version("/v1.99/info").unwrap_err();
        assert!(e.to_string().contains("too new"), "{e}");
    }

    #[test]
    fn routes() {
        use Route::*;
        assert_eq!(resolve(&Method::HEAD, "/_ping").unwrap(), Ping);
        assert_eq!(
            resolve(&Method::POST, "/containers/create").unwrap(),
            ContainerCreate
        );
        assert_eq!(
            resolve(&Method::POST, "/containers/abc/start").unwrap(),
            Container("abc", "start")
        );
        assert_eq!(
            resolve(&Method::GET, "/containers/abc/logs").unwrap(),
            Container("abc", "logs")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/containers/abc").unwrap(),
            ContainerDelete("abc")
        );
        assert_eq!(
            resolve(&Method::GET, "/images/127.0.0.1:5000/a/b:1/json").unwrap(),
            ImageInspect("127.0.0.1:5000/a/b:1")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/images/busybox").unwrap(),
            ImageDelete("busybox")
        );
        assert_eq!(
            resolve(&Method::POST, "/images/busybox/tag").unwrap(),
            ImageTag("busybox")
        );
        assert_eq!(
            resolve(&Method::GET, "/exec/e1/json").unwrap(),
            Exec("e1", "json")
        );
        assert_eq!(resolve(&Method::GET, "/events").unwrap(), Events);
        assert_eq!(resolve(&Method::POST, "/events").unwrap_err().status(), 405);
        assert_eq!(resolve(&Method::GET, "/volumes").unwrap(), VolumeList);
        assert_eq!(
            resolve(&Method::POST, "/volumes/create").unwrap(),
            VolumeCreate
        );
        assert_eq!(
            resolve(&Method::POST, "/volumes/prune").unwrap(),
            VolumePrune
        );
        assert_eq!(
            resolve(&Method::DELETE, "/volumes/data").unwrap(),
            Volume("data")
        );
        assert_eq!(
            resolve(&Method::GET, "/volumes/data").unwrap(),
            Volume("data")
        );
        assert_eq!(
            resolve(&Method::POST, "/volumes/data")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(
            resolve(&Method::GET, "/volumes/a/b").unwrap_err().status(),
            404
        );
        assert_eq!(
            resolve(&Method::GET, "/volumes/create")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(resolve(&Method::GET, "/networks").unwrap(), NetworkList);
        assert_eq!(
            resolve(&Method::DELETE, "/networks/web").unwrap(),
            Network("web", "")
        );
        assert_eq!(
            resolve(&Method::POST, "/networks/web/connect").unwrap(),
            Network("web", "connect")
        );
        assert_eq!(
            resolve(&Method::POST, "/networks/web")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(
            resolve(&Method::GET, "/networks/web/x")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            resolve(&Method::POST, "/containers/x/pause").unwrap(),
            ContainerOp("x", "pause")
        );
        assert_eq!(
            resolve(&Method::HEAD, "/containers/x/archive").unwrap(),
            ContainerArchive("x", "archive")
        );
        assert_eq!(
            resolve(&Method::PUT, "/containers/x/archive").unwrap(),
            ContainerArchive("x", "archive")
        );
        assert_eq!(
            resolve(&Method::GET, "/containers/x/export").unwrap(),
            ContainerArchive("x", "export")
        );
        assert_eq!(
            resolve(&Method::POST, "/containers/x/changes")
                .unwrap_err()
                .status(),
            405
        );
        assert!(matches!(
            resolve(&Method::POST, "/containers/x/copy").unwrap(),
            NotImplemented(_)
        ));
        assert_eq!(
            resolve(&Method::GET, "/containers/x/stats").unwrap(),
            ContainerOp("x", "stats")
        );
        assert_eq!(
            resolve(&Method::POST, "/containers/prune").unwrap(),
            ContainerPrune
        );
        assert!(matches!(
            resolve(&Method::GET, "/swarm").unwrap(),
            NotImplemented(_)
        ));
        assert_eq!(
            resolve(&Method::GET, "/containers/create")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(resolve(&Method::POST, "/_ping").unwrap_err().status(), 405);
        assert_eq!(
            resolve(&Method::GET, "/containers/x/start")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(resolve(&Method::GET, "/nope").unwrap_err().status(), 404);
        assert_eq!(
            resolve(&Method::GET, "/images/me/box:1/history").unwrap(),
            ImageHistory("me/box:1")
        );
        assert_eq!(
            resolve(&Method::GET, "/images/busybox/get").unwrap(),
            ImageSave(Some("busybox"))
        );
        assert_eq!(
            resolve(&Method::GET, "/images/get").unwrap(),
            ImageSave(None)
        );
        assert_eq!(resolve(&Method::POST, "/images/prune").unwrap(), ImagePrune);
        assert_eq!(resolve(&Method::GET, "/system/df").unwrap(), SystemDf);
        assert_eq!(
            resolve(&Method::POST, "/system/df").unwrap_err().status(),
            405
        );
        assert!(matches!(
            resolve(&Method::POST, "/images/busybox/push").unwrap(),
            NotImplemented(_)
        ));
        assert_eq!(
            resolve(&Method::GET, "/containers/x/bogus")
                .unwrap_err()
                .status(),
            404
        );
    }
}
