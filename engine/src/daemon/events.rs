//! Following containerd: one long-lived subscription to task exits and OOMs, re-made
//! with backoff whenever containerd goes away; after each (re)subscription the store
//! is reconciled with containerd's tasks, so exits missed while either daemon was down
//! are recorded (live restore).

use std::sync::Arc;
use std::time::Duration;

use myproto::containerd::events::{TaskExit, TaskOom};
use myproto::containerd::services::events::v1::SubscribeRequest;
use myproto::containerd::services::tasks::v1::GetRequest;
use myproto::containerd::v1::types::Status as TaskStatus;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::Daemon;
use crate::store::Status;

/// Runs until `shutdown`; `ready` fires after the first subscription and reconcile (or
/// the first failure, so the API still comes up when containerd is away).
pub async fn run(daemon: Arc<Daemon>, shutdown: CancellationToken, ready: oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    let mut reconciled = false;
    loop {
        let request = daemon.containerd.request(SubscribeRequest {
            filters: vec![
                format!("topic==\"{}\"", myproto::type_url::topic::TASK_EXIT),
                format!("topic==\"{}\"", myproto::type_url::topic::TASK_OOM),
            ],
        });
        // containerd 1.6 sends the response headers of Subscribe only with the first
        // event, but registers the subscriber as soon as the request arrives: so wait
        // briefly, reconcile, and take the stream when it comes.
        let mut events = daemon.containerd.events();
        let mut pending = Box::pin(async move { events.subscribe(request).await });
        let early = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = &mut pending => Some(r),
            _ = tokio::time::sleep(Duration::from_millis(200)) => None,
        };
        let subscribed = match early {
            Some(r) => r,
            None => {
                daemon.reconcile().await;
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                reconciled = true;
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = &mut pending => r,
                }
            }
        };
        match subscribed {
            Ok(stream) => {
                tracing::info!("subscribed to containerd events");
                backoff = Duration::from_millis(100);
                let mut stream = stream.into_inner();
                if !std::mem::take(&mut reconciled) {
                    daemon.reconcile().await;
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                loop {
                    let message = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        m = stream.message() => m,
                    };
                    match message {
                        Ok(Some(envelope)) => {
                            if envelope.namespace == daemon.containerd.namespace()
                                && let Some(event) = envelope.event
                            {
                                daemon.handle_event(&envelope.topic, &event);
                            }
                        }
                        Ok(None) => {
                            tracing::warn!("containerd closed the event stream");
                            break;
                        }
                        Err(s) => {
                            tracing::warn!("containerd event stream: {}", s.message());
                            break;
                        }
                    }
                }
            }
            Err(s) => {
                reconciled = false;
                tracing::warn!("subscribing to containerd events: {}", s.message());
                if let Some(r) = ready.take() {
                    daemon.reconcile().await;
                    let _ = r.send(());
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

impl Daemon {
    fn handle_event(self: &Arc<Self>, topic: &str, event: &prost_types::Any) {
        use myproto::type_url::topic;
        match topic {
            topic::TASK_EXIT => {
                let Ok(exit) = myproto::type_url::unpack::<TaskExit>(event) else {
                    return;
                };
                tracing::debug!(container_id = %exit.container_id, id = %exit.id, status = exit.exit_status, "task exit");
                let exited_at = exit.exited_at.as_ref().map(timestamp_rfc3339);
                let this = self.clone();
                tokio::spawn(async move {
                    if exit.id == exit.container_id || exit.id.is_empty() {
                        if let Some(c) = this.container_by_id(&exit.container_id) {
                            this.record_exit(&c, exit.exit_status, exited_at).await;
                        }
                    } else {
                        this.record_exec_exit(&exit.id, exit.exit_status).await;
                    }
                });
            }
            topic::TASK_OOM => {
                if let Ok(oom) = myproto::type_url::unpack::<TaskOom>(event)
                    && let Some(c) = self.container_by_id(&oom.container_id)
                {
                    tracing::info!(container_id = %oom.container_id, "OOM");
                    c.mark_oom();
                    self.container_event(&c, "oom", &[]);
                }
            }
            _ => {}
        }
    }

    /// Brings every record in line with containerd: a running record whose task is gone
    /// or stopped gets its exit; an exited auto-remove container is removed.
    pub async fn reconcile(self: &Arc<Self>) {
        for c in self.all_containers() {
            match c.status() {
                Status::Running => {
                    let got = self
                        .containerd
                        .tasks()
                        .get(self.containerd.request(GetRequest {
                            container_id: c.id.clone(),
                            exec_id: String::new(),
                        }))
                        .await;
                    match got {
                        Ok(r) => {
                            let p = r.into_inner().process.unwrap_or_default();
                            if p.status == TaskStatus::Stopped as i32 {
                                let at = p.exited_at.as_ref().map(timestamp_rfc3339);
                                self.record_exit(&c, p.exit_status, at).await;
                            } else {
                                self.reconcile_paused(&c, p.status == TaskStatus::Paused as i32);
                            }
                        }
                        Err(s) if s.code() == tonic::Code::NotFound => {
                            tracing::info!(container_id = %c.id, "task gone while we were away");
                            // Unknown status: Docker records 255 for a lost task.
                            self.record_exit(&c, 255, None).await;
                        }
                        Err(s) => {
                            tracing::warn!(container_id = %c.id, "reconcile: {}", s.message());
                        }
                    }
                }
                Status::Exited if c.record().host_config.auto_remove => {
                    if let Err(e) = self.remove_container(&c, true).await {
                        tracing::warn!(container_id = %c.id, "auto-remove on reconcile: {e}");
                    }
                }
                _ => {}
            }
        }
        if !self.booted.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.restart_on_boot();
        }
    }
}

fn timestamp_rfc3339(t: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
