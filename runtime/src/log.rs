//! Log lines in runc's formats, because callers parse them: containerd's shim reads the
//! last `{"level":"error","msg":...}` line of `--log` to explain a failure.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Formats events as runc (logrus) does: `{"level":"error","msg":"...","time":"..."}` or
/// `time="..." level=error msg="..."`.
pub struct RuncFormat(pub LogFormat);

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut msg = MessageVisitor(String::new());
        event.record(&mut msg);
        let level = level_name(event.metadata().level());
        let time = crate::state::rfc3339_now();
        match self.0 {
            LogFormat::Json => {
                let line = serde_json::json!({"level": level, "msg": msg.0, "time": time});
                writeln!(w, "{line}")
            }
            LogFormat::Text => writeln!(w, "time={time:?} level={level} msg={:?}", msg.0),
        }
    }
}
