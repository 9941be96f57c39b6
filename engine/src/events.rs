//! The engine's event bus: what `GET /events` streams. Every event goes to the live
//! subscribers and into a bounded history, so `since` can replay what happened before a
//! client connected (Docker keeps the last 256; we keep [`HISTORY`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use engine_api::events::{Actor, Message};
use tokio::sync::broadcast;

/// Events kept for replay.
pub const HISTORY: usize = 1024;

/// Live subscribers that fall this far behind lose events (and are told so by a lag).
const CHANNEL: usize = 1024;

pub struct Events {
    tx: broadcast::Sender<Arc<Message>>,
    history: Mutex<VecDeque<Arc<Message>>>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Events {
        Events {
            tx: broadcast::channel(CHANNEL).0,
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
        }
    }

    /// Publishes an event about `id` of type `kind` (`container`, `image`, `network`,
    /// `volume`), stamped now. Container and image events also carry the legacy
    /// `status`/`id`/`from` fields, as Docker's do.
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let legacy = kind == "container" || kind == "image";
        let from = if kind == "container" {
            attributes.get("image").cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let message = Message {
            status: if legacy {
                action.to_string()
            } else {
                String::new()
            },
            id: if legacy {
                id.to_string()
            } else {
                String::new()
            },
            from,
            kind: kind.to_string(),
            action: action.to_string(),
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local".into(),
            time: now.as_secs() as i64,
            time_nano: now.as_nanos() as i64,
        };
        let message = Arc::new(message);
        // Recorded and sent under one lock, so a subscriber's snapshot and its live
        // stream neither overlap nor leave a gap.
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message.clone());
        let _ = self.tx.send(message);
    }

    /// The events kept so far and a receiver for every later one.
    pub fn subscribe(&self) -> (Vec<Arc<Message>>, broadcast::Receiver<Arc<Message>>) {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        (history.iter().cloned().collect(), self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_then_live_without_gap_or_overlap() {
        let events = Events::new();
        events.publish("container", "create", "a", BTreeMap::new());
        let (past, mut live) = events.subscribe();
        events.publish("container", "start", "a", BTreeMap::new());
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].action, "create");
        assert_eq!(past[0].status, "create");
        let next = live.recv().await.unwrap();
        assert_eq!(next.action, "start");
        assert!(next.time_nano >= past[0].time_nano);
    }

    #[test]
    fn history_is_bounded() {
        let events = Events::new();
        for i in 0..HISTORY + 5 {
            events.publish("volume", "create", &i.to_string(), BTreeMap::new());
        }
        let (past, _) = events.subscribe();
        assert_eq!(past.len(), HISTORY);
        assert_eq!(past[0].actor.id, "5");
        assert!(past[0].status.is_empty(), "no legacy fields for volumes");
    }
}
