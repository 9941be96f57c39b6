//! The Content service: blobs by digest, their labels, and writing new ones through the
//! `Write` stream as containerd's remote writer does (STAT, WRITE..., COMMIT with the
//! expected size and digest, each answered before the next).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use myproto::containerd::services::content::v1::{
    AbortRequest, Info, InfoRequest, ListContentRequest, ReadContentRequest, UpdateRequest,
    WriteAction, WriteContentRequest, WriteContentResponse,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::client::Client;
use crate::digest::{Digest, Verifier};
use crate::error::{Error, Result};

/// Size of each WRITE message.
const CHUNK: usize = 1 << 20;
/// How long to wait for another writer holding the same ingest ref (another pull of
/// the same blob) before giving up.
const LOCKED_RETRIES: u32 = 10;

/// What to write.
pub(crate) struct BlobWrite<'a> {
    /// The ingest ref (`layer-sha256:...`), which lets a second writer of the same blob
    /// wait for the first.
    pub ingest_ref: String,
    pub digest: &'a Digest,
    pub size: u64,
    /// Labels the blob gets at commit.
    pub labels: BTreeMap<String, String>,
    /// Names the blob in errors (`layer sha256:...`).
    pub what: String,
}

/// Whether a write stored the blob or found it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Stored,
    Existed,
}

fn is_code(status: &tonic::Status, code: tonic::Code) -> bool {
    status.code() == code
}

impl Client {
    /// The blob's info, or `None` if the store does not have it.
    pub async fn content_info(&self, digest: &str) -> Result<Option<Info>> {
        let request = self.request(InfoRequest {
            digest: digest.to_owned(),
        });
        match self.content().info(request).await {
            Ok(r) => Ok(r.into_inner().info),
            Err(s) if is_code(&s, tonic::Code::NotFound) => Ok(None),
            Err(s) => Err(Error::rpc(format!("content {digest}"), s)),
        }
    }

    /// Every blob matching `filters` (containerd's filter syntax).
    pub async fn list_content(&self, filters: &[String]) -> Result<Vec<Info>> {
        let mut stream = self
            .content()
            .list(self.request(ListContentRequest {
                filters: filters.to_vec(),
            }))
            .await
            .map_err(|s| Error::rpc("listing content", s))?
            .into_inner();
        let mut all = Vec::new();
        while let Some(batch) = stream
            .message()
            .await
            .map_err(|s| Error::rpc("listing content", s))?
        {
            all.extend(batch.info);
        }
        Ok(all)
    }

    /// A whole blob in memory (manifests, configs).
    pub async fn read_content(&self, digest: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_content_to(digest, &mut out).await?;
        Ok(out)
    }

    /// Copies a blob to `out`; returns its size.
    pub async fn read_content_to<W: AsyncWrite + Unpin>(
        &self,
        digest: &str,
        out: &mut W,
    ) -> Result<u64> {
        let what = || format!("reading content {digest}");
        let mut stream = self
            .content()
            .read(self.request(ReadContentRequest {
                digest: digest.to_owned(),
                offset: 0,
                size: 0,
            }))
            .await
            .map_err(|s| Error::rpc(what(), s))?
            .into_inner();
        let mut total = 0u64;
        while let Some(chunk) = stream.message().await.map_err(|s| Error::rpc(what(), s))? {
            out.write_all(&chunk.data)
                .await
                .map_err(|source| Error::Stream {
                    what: what(),
                    source,
                })?;
            total += chunk.data.len() as u64;
        }
        Ok(total)
    }

    /// Sets `labels` on a blob, leaving its other labels alone (an empty value removes
    /// a label, as in containerd).
    pub async fn update_content_labels(
        &self,
        digest: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        let request = UpdateRequest {
            info: Some(Info {
                digest: digest.to_owned(),
                labels: labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..Info::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: labels.keys().map(|k| format!("labels.{k}")).collect(),
            }),
        };
        self.content()
            .update(self.request(request))
            .await
            .map_err(|s| Error::rpc(format!("labelling content {digest}"), s))?;
        Ok(())
    }

    /// Writes a small blob held in memory.
    pub(crate) async fn write_bytes(&self, blob: BlobWrite<'_>, data: Bytes) -> Result<Written> {
        let stream = futures_util::stream::iter([Ok::<_, io::Error>(data)]);
        self.write_content(blob, stream, &mut |_| {}).await
    }

    /// Streams `data` into the store as `blob.digest`. Size and digest are checked here
    /// before COMMIT (so a truncated or corrupt download is refused with a clear error
    /// and its ingest aborted), and again by the daemon. A blob that is already there
    /// is `Written::Existed`. `progress` gets the bytes written so far.
    pub(crate) async fn write_content<S>(
        &self,
        blob: BlobWrite<'_>,
        data: S,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Written>
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        let mut data = data;
        let mut attempt = 0;
        let (mut responses, tx, offset) = loop {
            match self.open_writer(&blob).await {
                Ok(Some(open)) => break open,
                Ok(None) => return Ok(Written::Existed),
                // Another writer holds the ref: wait for it, then see if it stored the blob.
                Err(s) if is_code(&s, tonic::Code::Unavailable) && attempt < LOCKED_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
                    if self.content_info(blob.digest.as_str()).await?.is_some() {
                        return Ok(Written::Existed);
                    }
                }
                Err(s) => return Err(Error::rpc(format!("writing {}", blob.what), s)),
            }
        };
        let result = self
            .send_and_commit(&blob, &mut data, &mut responses, &tx, offset, progress)
            .await;
        drop(tx);
        match result {
            Ok(written) => Ok(written),
            Err(e) if e.is_already_exists() => Ok(Written::Existed),
            Err(e) => {
                // Leave no half-written ingest behind (a resumed write would start from it).
                let abort = self.request(AbortRequest {
                    r#ref: blob.ingest_ref.clone(),
                });
                if let Err(s) = self.content().abort(abort).await
                    && !is_code(&s, tonic::Code::NotFound)
                {
                    tracing::debug!(ingest = %blob.ingest_ref, "abort: {}", s.message());
                }
                Err(e)
            }
        }
    }

    /// Opens the Write stream with STAT; `None` if the blob exists. Returns the
    /// response stream, the request sender and the offset an earlier writer reached.
    #[allow(clippy::type_complexity)]
    async fn open_writer(
        &self,
        blob: &BlobWrite<'_>,
    ) -> std::result::Result<
        Option<(
            tonic::Streaming<WriteContentResponse>,
            mpsc::Sender<WriteContentRequest>,
            u64,
        )>,
        tonic::Status,
    > {
        let (tx, rx) = mpsc::channel(2);
        // Queued before the call: the server answers each message, headers included.
        let _ = tx
            .send(WriteContentRequest {
                action: WriteAction::Stat as i32,
                r#ref: blob.ingest_ref.clone(),
                total: blob.size as i64,
                expected: blob.digest.to_string(),
                ..WriteContentRequest::default()
            })
            .await;
        let mut responses = match self
            .content()
            .write(self.request(ReceiverStream::new(rx)))
            .await
        {
            Ok(r) => r.into_inner(),
            Err(s) if is_code(&s, tonic::Code::AlreadyExists) => return Ok(None),
            Err(s) => return Err(s),
        };
        let status = match responses.message().await {
            Ok(Some(status)) => status,
            Ok(None) => return Err(tonic::Status::unknown("write stream closed after STAT")),
            Err(s) if is_code(&s, tonic::Code::AlreadyExists) => return Ok(None),
            Err(s) => return Err(s),
        };
        Ok(Some((responses, tx, status.offset.max(0) as u64)))
    }

    async fn send_and_commit<S>(
        &self,
        blob: &BlobWrite<'_>,
        data: &mut S,
        responses: &mut tonic::Streaming<WriteContentResponse>,
        tx: &mpsc::Sender<WriteContentRequest>,
        resume_at: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Written>
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        let what = || format!("writing {}", blob.what);
        let closed = || Error::rpc(what(), tonic::Status::unavailable("write stream closed"));
        let mut verifier = Verifier::new();
        let mut offset = resume_at;
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|source| Error::Stream {
                what: format!("fetching {}", blob.what),
                source,
            })?;
            let start = verifier.size();
            verifier.update(&chunk);
            if verifier.size() > blob.size {
                return Err(Error::SizeMismatch {
                    what: blob.what.clone(),
                    expected: blob.size,
                    actual: verifier.size(),
                });
            }
            // What an earlier, interrupted writer stored is not sent again (its bytes
            // still go through the verifier).
            let skip = resume_at.saturating_sub(start).min(chunk.len() as u64) as usize;
            for piece in chunk[skip..].chunks(CHUNK) {
                let request = WriteContentRequest {
                    action: WriteAction::Write as i32,
                    r#ref: blob.ingest_ref.clone(),
                    offset: offset as i64,
                    data: piece.to_vec(),
                    ..WriteContentRequest::default()
                };
                tx.send(request).await.map_err(|_| closed())?;
                let response = responses
                    .message()
                    .await
                    .map_err(|s| Error::rpc(what(), s))?
                    .ok_or_else(closed)?;
                offset += piece.len() as u64;
                if response.offset as u64 != offset {
                    return Err(Error::rpc(
                        what(),
                        tonic::Status::data_loss(format!(
                            "short write: at {} of {offset}",
                            response.offset
                        )),
                    ));
                }
                progress(offset);
            }
        }
        verifier.finish(&blob.what, blob.digest, blob.size)?;
        let commit = WriteContentRequest {
            action: WriteAction::Commit as i32,
            r#ref: blob.ingest_ref.clone(),
            total: blob.size as i64,
            offset: offset as i64,
            expected: blob.digest.to_string(),
            labels: blob
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
            ..WriteContentRequest::default()
        };
        tx.send(commit).await.map_err(|_| closed())?;
        let response = responses
            .message()
            .await
            .map_err(|s| Error::rpc(what(), s))?
            .ok_or_else(closed)?;
        if !response.digest.is_empty() && response.digest != blob.digest.as_str() {
            return Err(Error::DigestMismatch {
                what: blob.what.clone(),
                expected: blob.digest.to_string(),
                actual: response.digest,
            });
        }
        Ok(Written::Stored)
    }
}
