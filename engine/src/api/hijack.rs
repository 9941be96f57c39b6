//! Hijacked connections (attach, exec start): answer `101 UPGRADED` with
//! `Upgrade: tcp`, then the raw connection carries the container's stdio both ways.
//! A client that did not ask for an upgrade gets the output as a streamed 200 body
//! (and cannot send input), as Docker serves old clients.

use bytes::Bytes;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, UPGRADE};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::{Response, channel_response, empty};

pub type Io = TokioIo<Upgraded>;

/// The connection before the upgrade completes.
pub enum Pending {
    Upgrade(OnUpgrade),
    Plain(mpsc::Sender<Bytes>),
}

/// The response to send and what becomes the connection once it is sent.
pub fn start<B>(req: &mut Request<B>, content_type: &'static str) -> (Response, Pending) {
    let wants_upgrade = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    if wants_upgrade {
        let on = hyper::upgrade::on(req);
        let mut r = empty(StatusCode::SWITCHING_PROTOCOLS);
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(UPGRADE, HeaderValue::from_static("tcp"));
        (r, Pending::Upgrade(on))
    } else {
        let (r, tx) = channel_response(content_type);
        (r, Pending::Plain(tx))
    }
}

/// Where the output goes.
pub enum Output {
    Conn(WriteHalf<Io>),
    Channel(mpsc::Sender<Bytes>),
}

impl Output {
    /// False once the client has gone.
    pub async fn send(&mut self, data: &[u8]) -> bool {
        match self {
            Output::Conn(w) => w.write_all(data).await.is_ok() && w.flush().await.is_ok(),
            Output::Channel(tx) => tx.send(Bytes::copy_from_slice(data)).await.is_ok(),
        }
    }

    /// Ends the output (closes our side of the connection).
    pub async fn close(self) {
        if let Output::Conn(mut w) = self {
            let _ = w.shutdown().await;
        }
    }
}

/// Completes the upgrade: the client's input (None for a plain response) and the output.
pub async fn connect(pending: Pending) -> Option<(Option<ReadHalf<Io>>, Output)> {
    match pending {
        Pending::Upgrade(on) => match on.await {
            Ok(upgraded) => {
                let (r, w) = tokio::io::split(TokioIo::new(upgraded));
                Some((Some(r), Output::Conn(w)))
            }
            Err(e) => {
                tracing::debug!("upgrade failed: {e}");
                None
            }
        },
        Pending::Plain(tx) => Some((None, Output::Channel(tx))),
    }
}
