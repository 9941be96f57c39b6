//! `containerd.services.content.v1.Content`.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use myproto::containerd::services::content::v1::content_server::Content;
use myproto::containerd::services::content::v1::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

use crate::content::{ContentStore, Ingest};
use crate::error::Error;
use crate::services::{blocking, lease, namespace};

/// Blobs are read and listed in pieces of this size (containerd's block size).
const CHUNK: usize = 1 << 20;
const LIST_BATCH: usize = 100;

pub struct ContentService {
    pub content: Arc<ContentStore>,
}

/// One Write request applied to the open ingest, as containerd's service does it.
fn step(
    w: &mut Ingest,
    req: WriteContentRequest,
    total: &mut i64,
    expected: &mut String,
) -> crate::error::Result<WriteContentResponse> {
    let action = WriteAction::try_from(req.action)
        .map_err(|_| Error::InvalidArgument(format!("unknown write action {}", req.action)))?;
    if *total == 0 && req.total != 0 {
        *total = req.total;
    }
    if expected.is_empty() && !req.expected.is_empty() {
        *expected = req.expected.clone();
    }
    let mut msg = WriteContentResponse {
        action: req.action,
        offset: w.offset(),
        ..WriteContentResponse::default()
    };
    match action {
        WriteAction::Stat => {
            msg.digest = w.digest();
            msg.started_at = Some(w.started_at().into());
            msg.updated_at = Some(w.updated_at().into());
            msg.total = *total;
        }
        WriteAction::Write | WriteAction::Commit => {
            if req.offset > 0 && req.offset != w.offset() {
                return Err(Error::OutOfRange(format!(
                    "write @{} must occur at current offset {}",
                    req.offset,
                    w.offset()
                )));
            }
            if req.offset == 0 && w.offset() > 0 {
                w.truncate()?;
                msg.offset = 0;
            }
            if !req.data.is_empty() {
                w.write(&req.data)?;
                msg.offset = w.offset();
            }
            if action == WriteAction::Commit {
                w.commit(*total, expected, req.labels)?;
            }
            msg.digest = w.digest();
        }
    }
    Ok(msg)
}

#[tonic::async_trait]
impl Content for ContentService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let ns = namespace(&req)?;
        let info = self.content.info(&ns, &req.into_inner().digest)?;
        Ok(Response::new(InfoResponse { info: Some(info) }))
    }

    async fn update(
        &self,
        req: Request<UpdateRequest>,
    ) -> Result<Response<UpdateResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let info = r
            .info
            .ok_or_else(|| Status::invalid_argument("info is required"))?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let info = self.content.update(&ns, info, paths)?;
        Ok(Response::new(UpdateResponse { info: Some(info) }))
    }

    async fn list(
        &self,
        req: Request<ListContentRequest>,
    ) -> Result<Response<BoxStream<ListContentResponse>>, Status> {
        let ns = namespace(&req)?;
        let infos = self.content.list(&ns, &req.into_inner().filters)?;
        let batches: Vec<_> = infos
            .chunks(LIST_BATCH)
            .map(|c| Ok(ListContentResponse { info: c.to_vec() }))
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(batches))))
    }

    async fn delete(&self, req: Request<DeleteContentRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let cs = self.content.clone();
        let d = req.into_inner().digest;
        blocking(move || cs.delete(&ns, &d)).await?;
        Ok(Response::new(()))
    }

    async fn read(
        &self,
        req: Request<ReadContentRequest>,
    ) -> Result<Response<BoxStream<ReadContentResponse>>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        if r.offset < 0 || r.size < 0 {
            return Err(Status::invalid_argument(
                "offset and size must not be negative",
            ));
        }
        let (mut file, size) = self.content.open_blob(&ns, &r.digest)?;
        if r.offset > size {
            return Err(Error::OutOfRange(format!(
                "read offset {} is beyond the size {size} of {}",
                r.offset, r.digest
            ))
            .into());
        }
        let end = if r.size == 0 {
            size
        } else {
            (r.offset + r.size).min(size)
        };
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            let mut offset = r.offset;
            if let Err(e) = file.seek(SeekFrom::Start(offset as u64)) {
                let _ = tx.blocking_send(Err(Status::internal(format!("seeking: {e}"))));
                return;
            }
            while offset < end {
                let n = ((end - offset) as usize).min(CHUNK);
                let mut data = vec![0u8; n];
                if let Err(e) = file.read_exact(&mut data) {
                    let _ =
                        tx.blocking_send(Err(Status::data_loss(format!("reading the blob: {e}"))));
                    return;
                }
                if tx
                    .blocking_send(Ok(ReadContentResponse { offset, data }))
                    .is_err()
                {
                    return;
                }
                offset += n as i64;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn status(
        &self,
        req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let ns = namespace(&req)?;
        let status = self.content.status(&ns, &req.into_inner().r#ref)?;
        Ok(Response::new(StatusResponse {
            status: Some(status),
        }))
    }

    async fn list_statuses(
        &self,
        req: Request<ListStatusesRequest>,
    ) -> Result<Response<ListStatusesResponse>, Status> {
        let ns = namespace(&req)?;
        let statuses = self.content.statuses(&ns, &req.into_inner().filters)?;
        Ok(Response::new(ListStatusesResponse { statuses }))
    }

    async fn write(
        &self,
        req: Request<Streaming<WriteContentRequest>>,
    ) -> Result<Response<BoxStream<WriteContentResponse>>, Status> {
        let ns = namespace(&req)?;
        let lease = lease(&req);
        let mut stream = req.into_inner();
        let Some(first) = stream.message().await? else {
            return Err(Status::invalid_argument(
                "first message must have a reference",
            ));
        };
        let cs = self.content.clone();
        let (r, total, expected) = (first.r#ref.clone(), first.total, first.expected.clone());
        // Opening may hash a resumed ingest: off the async threads. Errors (AlreadyExists,
        // a locked ref) answer the call itself, as containerd's do.
        let mut w =
            blocking(move || cs.writer(&ns, &r, total, &expected, lease.as_deref())).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let (mut total, mut expected) = (first.total, first.expected.clone());
            let mut req = first;
            loop {
                let done = tokio::task::spawn_blocking(move || {
                    let r = step(&mut w, req, &mut total, &mut expected);
                    (w, r, total, expected)
                })
                .await;
                let Ok((back, r, t, e)) = done else { return };
                (w, total, expected) = (back, t, e);
                match r {
                    Ok(msg) => {
                        if tx.send(Ok(msg)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                }
                req = match stream.message().await {
                    Ok(Some(r)) => r,
                    Ok(None) | Err(_) => return,
                };
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn abort(&self, req: Request<AbortRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let cs = self.content.clone();
        let r = req.into_inner().r#ref;
        blocking(move || cs.abort(&ns, &r)).await?;
        Ok(Response::new(()))
    }
}
