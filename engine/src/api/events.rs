//! `GET /events`: replays the bus's history from `since`, then streams live events until
//! `until` (or the client hangs up), one JSON object per line. The parsing of Docker's
//! timestamps and the matching of its event filters are plain functions, tested below.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine_api::events::Message;
use engine_api::filters::Filters;
use tokio::sync::broadcast::error::RecvError;

use super::{Query, Response, channel_response};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// The filter names Docker's events endpoint knows (swarm ones match nothing here).
const FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// Actions whose filter values match by prefix: Docker's actions `exec_create: CMD` and
/// `exec_start: CMD` carry the command, and `event=exec_start` must still find them.
const PREFIX_ACTIONS: &[&str] = &["exec_create", "exec_start", "health_status"];

/// Docker's `since`/`until` (`timetypes.ParseTimestamps`): `SECONDS[.FRACTION]`, the
/// fraction scaled to nanoseconds by its digit count. Empty is absent; anything else
/// that does not parse is a 400.
pub fn parse_event_time(key: &str, value: Option<&str>) -> Result<Option<i64>> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || Error::BadParameter(format!("invalid value for '{key}': {value:?}"));
    let (secs, frac) = match value.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (value, None),
    };
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(bad());
        }
        Some(f) => f.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - f.len() as u32),
    };
    let nanos = if secs < 0 { -nanos } else { nanos };
    secs.checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
        .map(Some)
        .ok_or_else(bad)
}

/// Parses and validates the `filters` parameter of `GET /events`.
pub fn parse_filters(text: &str) -> Result<Filters> {
    let filters = Filters::parse(text).map_err(Error::BadParameter)?;
    filters.validate(FILTERS).map_err(Error::BadParameter)?;
    Ok(filters)
}

/// Whether `m` passes every filter, as Docker's `events.Filter.Include`: `type`, `scope`
/// and `event` exactly (the exec actions by prefix); `container`, `network`, `volume`
/// by ID or name, a prefix of either counting; `image` by ID or name, with or without
/// tag; `label` against the attributes.
pub fn event_matches(filters: &Filters, m: &Message) -> bool {
    let attrs = &m.actor.attributes;
    let attr = |k: &str| attrs.get(k).map(String::as_str).unwrap_or("");
    // Docker applies these to every event: a container filter lets through only
    // events whose actor's ID or name fit, whatever their type.
    let fuzzy = |key: &str| {
        filters.matches(key, |v| {
            m.actor.id.starts_with(v) || (!attr("name").is_empty() && attr("name").starts_with(v))
        })
    };
    let event = if filters.get("event").any(|v| PREFIX_ACTIONS.contains(&v)) {
        filters.matches("event", |v| m.action.starts_with(v))
    } else {
        filters.matches("event", |v| m.action == v)
    };
    let image_name = if m.kind == "image" {
        attr("name")
    } else {
        attr("image")
    };
    let image = filters.matches("image", |v| {
        [m.actor.id.as_str(), image_name]
            .iter()
            .any(|s| !s.is_empty() && (*s == v || strip_tag(s) == v))
    });
    event
        && filters.matches("type", |v| m.kind == v)
        && filters.matches("scope", |v| m.scope == v)
        && fuzzy("container")
        && fuzzy("network")
        && fuzzy("volume")
        && fuzzy("daemon")
        && image
        && filters.matches_labels(attrs)
        && ["plugin", "node", "service", "secret", "config"]
            .iter()
            .all(|k| !filters.contains(k))
}

/// `busybox:latest` → `busybox`; a registry's port is not a tag.
fn strip_tag(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    }
}

/// Which part of the history a subscriber gets, and when its stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    /// From the query; `until` before `since` is Docker's 400.
    pub fn parse(query: &Query) -> Result<Window> {
        let since = parse_event_time("since", query.get("since"))?;
        let until = parse_event_time("until", query.get("until"))?;
        if let (Some(s), Some(u)) = (since, until)
            && u < s
        {
            return Err(Error::BadParameter(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                query.get("since").unwrap_or(""),
                query.get("until").unwrap_or("")
            )));
        }
        Ok(Window { since, until })
    }

    /// Docker's `loadBufferedEvents`: history is replayed only when either bound is
    /// given, from `since` (inclusive) to `until` (inclusive).
    pub fn replays(&self, m: &Message) -> bool {
        (self.since.is_some() || self.until.is_some())
            && m.time_nano >= self.since.unwrap_or(i64::MIN)
            && self.until.is_none_or(|u| m.time_nano <= u)
    }

    /// True when `until` is already past at `now` (nanoseconds): replay, then close.
    pub fn only_past(&self, now: i64) -> bool {
        self.until.is_some_and(|u| u < now)
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn line(m: &Message) -> bytes::Bytes {
    let mut body = serde_json::to_vec(m).unwrap_or_default();
    body.push(b'\n');
    body.into()
}

/// `GET /events`.
pub fn events(daemon: &Daemon, query: &Query) -> Result<Response> {
    let window = Window::parse(query)?;
    let filters = parse_filters(query.get("filters").unwrap_or(""))?;
    // Subscribed before the answer goes out: nothing published after it is missed.
    let (history, mut live) = daemon.events.subscribe();
    let (response, tx) = channel_response("application/json");
    tokio::spawn(async move {
        for m in history
            .iter()
            .filter(|m| window.replays(m) && event_matches(&filters, m))
        {
            if tx.send(line(m)).await.is_err() {
                return;
            }
        }
        let now = now_nanos();
        if window.only_past(now) {
            return;
        }
        let deadline = window.until.map(|u| {
            tokio::time::Instant::now() + Duration::from_nanos(u.saturating_sub(now) as u64)
        });
        let until = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(until);
        loop {
            let m = tokio::select! {
                _ = &mut until => return,
                _ = tx.closed() => return,
                m = live.recv() => m,
            };
            match m {
                Ok(m) => {
                    if !event_matches(&filters, &m) {
                        continue;
                    }
                    if tx.send(line(&m)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "events subscriber fell behind");
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::events::Actor;

    fn msg(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        Message {
            kind: kind.into(),
            action: action.into(),
            actor: Actor {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            scope: "local".into(),
            ..Default::default()
        }
    }

    fn f(json: &str) -> Filters {
        parse_filters(json).unwrap()
    }

    #[test]
    fn timestamps_parse_as_dockers() {
        assert_eq!(parse_event_time("since", None).unwrap(), None);
        assert_eq!(parse_event_time("since", Some("")).unwrap(), None);
        assert_eq!(
            parse_event_time("since", Some("1700000000")).unwrap(),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_event_time("since", Some("1700000000.5")).unwrap(),
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_event_time("until", Some("1700000000.000000001")).unwrap(),
            Some(1_700_000_000_000_000_001)
        );
        assert_eq!(parse_event_time("since", Some("0")).unwrap(), Some(0));
        for bad in [
            "x",
            "1.x",
            "1.",
            "1.0000000001",
            "2024-01-01",
            "99999999999999999",
        ] {
            let e = parse_event_time("since", Some(bad)).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
    }

    #[test]
    fn windows_replay_and_close() {
        let q = Query::parse("since=10&until=20");
        let w = Window::parse(&q).unwrap();
        let at = |t: i64| Message {
            time_nano: t * 1_000_000_000,
            ..Default::default()
        };
        assert!(!w.replays(&at(9)));
        assert!(w.replays(&at(10)) && w.replays(&at(20)));
        assert!(!w.replays(&at(21)));
        assert!(w.only_past(21_000_000_000));
        assert!(!w.only_past(19_000_000_000));
        let live = Window::parse(&Query::parse("")).unwrap();
        assert!(!live.replays(&at(10)) && !live.only_past(i64::MAX));
        let e = Window::parse(&Query::parse("since=20&until=10")).unwrap_err();
        assert!(e.to_string().contains("cannot be after"), "{e}");
    }

    #[test]
    fn filters_match_as_dockers() {
        let start = msg(
            "container",
            "start",
            "abcdef",
            &[("name", "web"), ("image", "busybox:latest"), ("tier", "db")],
        );
        assert!(event_matches(&Filters::default(), &start));
        assert!(event_matches(&f(r#"{"type":["container"]}"#), &start));
        assert!(!event_matches(&f(r#"{"type":["image"]}"#), &start));
        assert!(event_matches(&f(r#"{"container":["web"]}"#), &start));
        assert!(event_matches(&f(r#"{"container":["abc"]}"#), &start));
        assert!(!event_matches(&f(r#"{"container":["other"]}"#), &start));
        assert!(event_matches(&f(r#"{"event":["start","die"]}"#), &start));
        assert!(!event_matches(&f(r#"{"event":["die"]}"#), &start));
        assert!(event_matches(&f(r#"{"label":["tier=db"]}"#), &start));
        assert!(event_matches(&f(r#"{"label":["tier"]}"#), &start));
        assert!(!event_matches(&f(r#"{"label":["tier=web"]}"#), &start));
        assert!(event_matches(&f(r#"{"image":["busybox"]}"#), &start));
        assert!(event_matches(&f(r#"{"image":["busybox:latest"]}"#), &start));
        assert!(!event_matches(&f(r#"{"image":["alpine"]}"#), &start));
        assert!(event_matches(&f(r#"{"scope":["local"]}"#), &start));
        assert!(!event_matches(&f(r#"{"scope":["swarm"]}"#), &start));
        assert!(!event_matches(&f(r#"{"service":["x"]}"#), &start));
        let exec = msg(
            "container",
            "exec_start: ls -l",
            "abcdef",
            &[("name", "web")],
        );
        assert!(event_matches(&f(r#"{"event":["exec_start"]}"#), &exec));
        assert!(!event_matches(&f(r#"{"event":["exec_create"]}"#), &exec));
        let tag = msg("image", "tag", "sha256:1234", &[("name", "mine:v1")]);
        assert!(event_matches(&f(r#"{"image":["mine"]}"#), &tag));
        assert!(event_matches(&f(r#"{"image":["sha256:1234"]}"#), &tag));
        let net = msg(
            "network",
            "connect",
            "n1234",
            &[("name", "front"), ("container", "abcdef")],
        );
        assert!(event_matches(&f(r#"{"network":["front"]}"#), &net));
        assert!(!event_matches(&f(r#"{"network":["back"]}"#), &net));
        // Docker's container filter looks at the actor, not at the attribute.
        assert!(!event_matches(&f(r#"{"container":["abcdef"]}"#), &net));
        let e = parse_filters(r#"{"colour":["red"]}"#).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("invalid filter 'colour'"), "{e}");
        assert_eq!(strip_tag("127.0.0.1:5000/a"), "127.0.0.1:5000/a");
        assert_eq!(strip_tag("127.0.0.1:5000/a:v1"), "127.0.0.1:5000/a");
    }
}
