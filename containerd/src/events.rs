//! The event exchange: everything published (by services here, by shims, by clients) goes
//! to every subscriber whose filters match, in the order it was published.

use std::time::SystemTime;

use myproto::containerd::services::events::v1::Envelope;
use tokio::sync::broadcast;

use crate::error::{Error, Result};
use crate::filters::{Fields, Filter};

/// Subscribers slower than this many events behind lose the oldest (and are told so by
/// a lagged stream: the subscription ends).
const BUFFER: usize = 4096;

#[derive(Clone)]
pub struct Exchange {
    tx: broadcast::Sender<Envelope>,
}

impl Fields for Envelope {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first().map(String::as_str) {
            Some("namespace") if path.len() == 1 => Some(self.namespace.clone()),
            Some("topic") if path.len() == 1 => Some(self.topic.clone()),
            _ => None,
        }
    }
}

/// Topics are absolute paths of identifier-ish components: `/tasks/exit`.
pub fn validate_topic(topic: &str) -> Result<()> {
    let ok = topic.starts_with('/')
        && topic.len() > 1
        && topic[1..].split('/').all(|c| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("invalid topic {topic:?}")))
    }
}

impl Default for Exchange {
    fn default() -> Self {
        Exchange {
            tx: broadcast::channel(BUFFER).0,
        }
    }
}

impl Exchange {
    pub fn publish<M: prost::Message + prost::Name>(
        &self,
        namespace: &str,
        topic: &str,
        event: &M,
    ) {
        self.forward(Envelope {
            timestamp: Some(SystemTime::now().into()),
            namespace: namespace.to_string(),
            topic: topic.to_string(),
            event: Some(myproto::type_url::pack(event)),
        });
    }

    pub fn forward(&self, envelope: Envelope) {
        tracing::info!(namespace = %envelope.namespace, topic = %envelope.topic, "event");
        // No subscribers is fine: events are not stored.
        let _ = self.tx.send(envelope);
    }

    /// A stream of the events matching `filter` from now on.
    pub fn subscribe(
        &self,
        filter: Filter,
    ) -> impl tokio_stream::Stream<Item = Envelope> + Send + 'static {
        use tokio_stream::StreamExt;
        tokio_stream::wrappers::BroadcastStream::new(self.tx.subscribe())
            .map_while(|r| r.ok())
            .filter(move |e| filter.matches(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use myproto::containerd::events::TaskExit;
    use tokio_stream::StreamExt;

    #[test]
    fn topics() {
        assert!(validate_topic("/tasks/exit").is_ok());
        for bad in ["", "/", "tasks/exit", "/tasks//exit", "/a b"] {
            assert!(validate_topic(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn subscribers_get_matching_events_in_order() {
        let x = Exchange::default();
        let mut all = Box::pin(x.subscribe(Filter::default()));
        let mut exits = Box::pin(
            x.subscribe(Filter::parse(&[r#"topic=="/tasks/exit",namespace==ns1"#]).unwrap()),
        );
        x.publish("ns1", "/tasks/start", &TaskExit::default());
        x.publish("ns2", "/tasks/exit", &TaskExit::default());
        x.publish(
            "ns1",
            "/tasks/exit",
            &TaskExit {
                pid: 7,
                ..TaskExit::default()
            },
        );
        assert_eq!(all.next().await.unwrap().topic, "/tasks/start");
        assert_eq!(all.next().await.unwrap().namespace, "ns2");
        let e = exits.next().await.unwrap();
        assert_eq!(
            (e.namespace.as_str(), e.topic.as_str()),
            ("ns1", "/tasks/exit")
        );
        let ev: TaskExit = myproto::type_url::unpack(e.event.as_ref().unwrap()).unwrap();
        assert_eq!(ev.pid, 7);
    }
}
