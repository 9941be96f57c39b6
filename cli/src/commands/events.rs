//! `mycli events`: `GET /events`, one line per event as docker's CLI prints them (its
//! `prettyPrintEvent`) or through a `--format` template, until the daemon closes the
//! stream (`--until`) or the user interrupts.

use std::io::{BufRead, BufReader};
use std::time::SystemTime;

use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};
use clap::Args;
use engine_api::events::Message;

use super::{Ctx, parse_filters};
use crate::client::{Body, query};
use crate::error::{Error, Result};
use crate::template::{self, Doc, Template};
use crate::units;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "SINCE")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "UNTIL")]
    pub until: Option<String>,
}

/// docker's `makeTemplate`: none for the default line, `json` as `{{json .}}`; the
/// template is tried once on an empty message so a broken one fails before streaming.
fn make_template(format: Option<&str>) -> Result<Option<Template>> {
    let text = match format {
        None | Some("") => return Ok(None),
        Some("json") => "{{json .}}",
        Some(t) => t,
    };
    let bad = |e: String| Error::InvalidArgument(format!("template parsing error: {e}"));
    let t = Template::parse(text).map_err(bad)?;
    let empty = serde_json::to_vec(&Message::default()).unwrap_or_default();
    template::render_doc(&t, Doc::Event, &empty).map_err(bad)?;
    Ok(Some(t))
}

/// The query string: `since`/`until` converted client-side as docker's CLI does
/// (durations back from now, dates, unix seconds), and the filters.
pub fn event_params(args: &EventsArgs, now: SystemTime) -> Result<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    for (key, value) in [("since", &args.since), ("until", &args.until)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push((
                key,
                units::api_timestamp(v, now).map_err(Error::InvalidArgument)?,
            ));
        }
    }
    let filters = parse_filters(&args.filter)?;
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    Ok(params)
}

/// docker's default line: `TIME TYPE ACTION ID (k=v, ...)`, the time as Go's
/// `RFC3339NanoFixed` in `zone` (nine fraction digits, `Z` for UTC), attributes
/// sorted by key.
pub fn pretty_line<Tz: TimeZone>(m: &Message, zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = String::new();
    let nanos = if m.time_nano != 0 {
        Some(m.time_nano)
    } else if m.time != 0 {
        m.time.checked_mul(1_000_000_000)
    } else {
        None
    };
    if let Some(n) = nanos {
        let t = DateTime::<Utc>::from_timestamp_nanos(n).with_timezone(zone);
        out.push_str(&t.to_rfc3339_opts(SecondsFormat::Nanos, true));
        out.push(' ');
    }
    out.push_str(&format!("{} {} {}", m.kind, m.action, m.actor.id));
    if !m.actor.attributes.is_empty() {
        let attrs: Vec<String> = m
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

pub fn events(ctx: &Ctx, args: EventsArgs) -> Result<i32> {
    let template = make_template(args.format.as_deref())?;
    let params = event_params(&args, SystemTime::now())?;
    let client = ctx.client()?;
    let resp = client.request("GET", &format!("/events{}", query(&params)), Body::Empty)?;
    let mut reader = BufReader::new(resp);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io("reading events", e))?;
        if n == 0 {
            return Ok(0);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match &template {
            None => {
                let m: Message = serde_json::from_slice(&line)
                    .map_err(|e| Error::json("decoding an event", e))?;
                pretty_line(&m, &Local)
            }
            Some(t) => template::render_doc(t, Doc::Event, &line)
                .map_err(|e| Error::InvalidArgument(format!("template parsing error: {e}")))?,
        };
        crate::outln!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::events::Actor;
    use std::time::{Duration, UNIX_EPOCH};

    fn args(since: Option<&str>, until: Option<&str>, filter: &[&str]) -> EventsArgs {
        EventsArgs {
            filter: filter.iter().map(|s| s.to_string()).collect(),
            format: None,
            since: since.map(str::to_owned),
            until: until.map(str::to_owned),
        }
    }

    #[test]
    fn times_are_converted_before_sending() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let p = event_params(&args(Some("10m"), Some("1700000000.5"), &[]), now).unwrap();
        assert_eq!(p[0], ("since", "1699999400.000000000".to_owned()));
        assert_eq!(p[1], ("until", "1700000000.5".to_owned()));
        let p = event_params(&args(Some("1h30m"), None, &[]), now).unwrap();
        assert_eq!(p[0].1, "1699994600.000000000");
        let p = event_params(&args(Some("2023-11-14T22:13:20Z"), None, &[]), now).unwrap();
        assert_eq!(p[0].1, "1700000000.000000000");
        assert!(event_params(&args(Some("yesterday"), None, &[]), now).is_err());
        let p = event_params(&args(Some("0"), None, &[]), now).unwrap();
        assert_eq!(p[0].1, "0");
        let p = event_params(&args(None, None, &["type=container", "event=die"]), now).unwrap();
        assert_eq!(p[0].0, "filters");
        let f = engine_api::filters::Filters::parse(&p[0].1).unwrap();
        assert!(f.matches("type", |v| v == "container"));
        assert!(f.matches("event", |v| v == "die"));
        assert!(event_params(&args(None, None, &["nokey"]), now).is_err());
    }

    #[test]
    fn default_line_is_dockers() {
        let m = Message {
            kind: "container".into(),
            action: "start".into(),
            actor: Actor {
                id: "abc".into(),
                attributes: [
                    ("name".to_string(), "x".to_string()),
                    ("image".to_string(), "busybox".to_string()),
                ]
                .into(),
            },
            time: 1_704_164_705,
            time_nano: 1_704_164_705_123_456_789,
            ..Default::default()
        };
        assert_eq!(
            pretty_line(&m, &Utc),
            "2024-01-02T03:05:05.123456789Z container start abc (image=busybox, name=x)"
        );
        let east = chrono::FixedOffset::east_opt(3600).unwrap();
        let whole = Message {
            time_nano: 0,
            time: 1_704_164_705,
            actor: Actor::default(),
            ..m
        };
        assert_eq!(
            pretty_line(&whole, &east),
            "2024-01-02T04:05:05.000000000+01:00 container start "
        );
    }

    #[test]
    fn templates_see_dockers_fields() {
        let t = make_template(Some(
            "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.TimeNano}}",
        ))
        .unwrap()
        .unwrap();
        let line = br#"{"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"x"}},"scope":"local","time":1,"timeNano":1000000001}"#;
        assert_eq!(
            template::render_doc(&t, Doc::Event, line).unwrap(),
            "container start abc x 1000000001"
        );
        let json = make_template(Some("json")).unwrap().unwrap();
        let out = template::render_doc(&json, Doc::Event, line).unwrap();
        let back: Message = serde_json::from_str(&out).unwrap();
        assert_eq!(back.actor.attributes["name"], "x");
        assert_eq!(back.time_nano, 1_000_000_001);
        assert!(make_template(Some("{{.Type")).is_err());
        assert!(make_template(None).unwrap().is_none());
    }
}
