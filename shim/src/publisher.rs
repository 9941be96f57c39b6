//! Events from the shim to mycontainerd's Events service, in order, queued and retried
//! while mycontainerd is away (restarting): nothing is lost and nothing is sent twice.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use myproto::containerd::services::events::v1::PublishRequest;
use myproto::containerd::services::events::v1::events_client::EventsClient;
use tokio::sync::Notify;

struct Queue {
    events: VecDeque<PublishRequest>,
    /// Set when the shim shuts down: the sender flushes and stops.
    closing: bool,
}

#[derive(Clone)]
pub struct Publisher {
    queue: Arc<Mutex<Queue>>,
    wake: Arc<Notify>,
    namespace: String,
}

impl Publisher {
    /// Starts the sender for the daemon at `address` (a UNIX socket path).
    pub fn start(address: PathBuf, namespace: String) -> (Publisher, tokio::task::JoinHandle<()>) {
        let p = Publisher {
            queue: Arc::new(Mutex::new(Queue {
                events: VecDeque::new(),
                closing: false,
            })),
            wake: Arc::new(Notify::new()),
            namespace,
        };
        let sender = p.clone();
        let handle = tokio::spawn(async move { sender.run(address).await });
        (p, handle)
    }

    /// Queues an event; `topic` is containerd's (`/tasks/exit`), `event` a message of
    /// `containerd.events`.
    pub fn publish<M: prost::Message + prost::Name>(&self, topic: &str, event: &M) {
        let req = PublishRequest {
            topic: topic.to_string(),
            event: Some(myproto::type_url::pack(event)),
        };
        self.queue.lock().unwrap().events.push_back(req);
        self.wake.notify_one();
    }

    /// Stops after the queued events are sent (or after `grace` if the daemon is away).
    pub fn close(&self) {
        self.queue.lock().unwrap().closing = true;
        self.wake.notify_one();
    }

    async fn run(&self, address: PathBuf) {
        let channel = myproto::transport::connect_unix_lazy(&address);
        let mut client = EventsClient::new(channel);
        let mut backoff = Duration::from_millis(50);
        loop {
            let next = {
                let q = self.queue.lock().unwrap();
                match q.events.front() {
                    Some(e) => Some(e.clone()),
                    None if q.closing => return,
                    None => None,
                }
            };
            let Some(req) = next else {
                self.wake.notified().await;
                continue;
            };
            let mut request = tonic::Request::new(req);
            let _ = myproto::namespace::set(&mut request, &self.namespace);
            match client.publish(request).await {
                Ok(_) => {
                    self.queue.lock().unwrap().events.pop_front();
                    backoff = Duration::from_millis(50);
                }
                Err(e) => {
                    tracing::debug!(
                        "publishing to {}: {e}; retrying in {backoff:?}",
                        address.display()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
