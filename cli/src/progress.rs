//! Shows the JSON message stream of pulls and loads: on a terminal one live line per
//! layer with a progress bar (indicatif), elsewhere docker's plain lines
//! (`ID: Pull complete`), leaving out the byte-by-byte progress updates.

use std::collections::HashMap;
use std::io::{Read, Write};

use engine_api::images::JsonMessage;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Error, Result};

/// Where the messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stdout,
    Stderr,
    /// Read the stream for its errors, show nothing (`pull -q`).
    Quiet,
}

impl Target {
    fn fd(self) -> i32 {
        match self {
            Target::Stdout => 1,
            Target::Stderr => 2,
            Target::Quiet => -1,
        }
    }

    fn write(self, text: &str) {
        let _ = match self {
            Target::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(text.as_bytes()).and_then(|_| o.flush())
            }
            Target::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
            Target::Quiet => Ok(()),
        };
    }
}

/// Renders every message of `body` until the stream ends. A message carrying an error
/// ends the display with that error, as docker's `DisplayJSONMessagesStream` does.
pub fn display(body: impl Read, target: Target) -> Result<()> {
    let terminal = crate::tty::is_terminal(target.fd());
    let mut view: Box<dyn View> = if terminal {
        Box::new(Bars::new(target))
    } else {
        Box::new(Lines { target })
    };
    let stream = serde_json::Deserializer::from_reader(body).into_iter::<JsonMessage>();
    let mut result = Ok(());
    for msg in stream {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                result = Err(Error::json("reading the progress stream", e));
                break;
            }
        };
        if let Some(err) = msg
            .error_detail
            .as_ref()
            .map(|d| d.message.clone())
            .or(msg.error.clone())
        {
            result = Err(Error::Stream(err));
            break;
        }
        view.show(&msg);
    }
    view.finish();
    result
}

trait View {
    fn show(&mut self, msg: &JsonMessage);
    fn finish(&mut self);
}

/// Bytes done and expected, when the message carries real progress.
fn progress_of(msg: &JsonMessage) -> Option<(u64, u64)> {
    let d = msg.progress_detail.as_ref()?;
    let current = d.current.unwrap_or(0);
    let total = d.total.unwrap_or(0);
    (current > 0 || total > 0).then_some((current.max(0) as u64, total.max(0) as u64))
}

/// docker's non-terminal output.
struct Lines {
    target: Target,
}

impl View for Lines {
    fn show(&mut self, msg: &JsonMessage) {
        if progress_of(msg).is_some() {
            return;
        }
        let mut line = String::new();
        if let Some(id) = &msg.id {
            line.push_str(id);
            line.push_str(": ");
        }
        if let Some(stream) = &msg.stream {
            line.push_str(stream);
        } else if let Some(status) = &msg.status {
            line.push_str(status);
            line.push('\n');
        } else if msg.aux.is_some() {
            return;
        } else {
            line.push('\n');
        }
        self.target.write(&line);
    }

    fn finish(&mut self) {}
}

/// One live line per layer ID; lines without an ID print above them.
struct Bars {
    target: Target,
    multi: MultiProgress,
    /// Each layer's line, and whether it shows a bar now (or only a status).
    bars: HashMap<String, (ProgressBar, bool)>,
    status_style: ProgressStyle,
    bar_style: ProgressStyle,
}

impl Bars {
    fn new(target: Target) -> Bars {
        let draw = match target {
            Target::Stdout => ProgressDrawTarget::stdout(),
            Target::Stderr => ProgressDrawTarget::stderr(),
            Target::Quiet => ProgressDrawTarget::hidden(),
        };
        let status_style = ProgressStyle::with_template("{prefix}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar_style = ProgressStyle::with_template(
            "{prefix}: {msg} [{bar:50}] {decimal_bytes}/{decimal_total_bytes}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        Bars {
            target,
            multi: MultiProgress::with_draw_target(draw),
            bars: HashMap::new(),
            status_style,
            bar_style,
        }
    }
}

impl Bars {
    fn print_line(&self, line: &str) {
        if self.bars.is_empty() {
            self.target.write(&format!("{line}\n"));
        } else {
            let _ = self.multi.println(line);
        }
    }
}

impl View for Bars {
    fn show(&mut self, msg: &JsonMessage) {
        let text = msg
            .stream
            .clone()
            .or_else(|| msg.status.clone())
            .unwrap_or_default();
        let id = msg.id.clone().filter(|i| !i.is_empty());
        // Only messages carrying progress details update a line in place (docker keys
        // them by ID); the rest ("latest: Pulling from x", "Digest: ...") print in order.
        let (Some(id), Some(_)) = (id.clone(), msg.progress_detail.as_ref()) else {
            if msg.aux.is_some() && text.is_empty() {
                return;
            }
            let text = text.trim_end_matches('\n');
            match id {
                Some(id) => self.print_line(&format!("{id}: {text}")),
                None => self.print_line(text),
            }
            return;
        };
        let (bar, has_bar) = self.bars.entry(id.clone()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new(0));
            b.set_style(self.status_style.clone());
            b.set_prefix(id);
            (b, false)
        });
        match progress_of(msg) {
            Some((current, total)) if total > 0 => {
                bar.set_length(total);
                bar.set_position(current.min(total));
                if !*has_bar {
                    bar.set_style(self.bar_style.clone());
                    *has_bar = true;
                }
            }
            _ => {
                if *has_bar {
                    bar.set_style(self.status_style.clone());
                    *has_bar = false;
                }
            }
        }
        bar.set_message(text.trim_end().to_owned());
    }

    fn finish(&mut self) {
        for (bar, _) in self.bars.values() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_the_stream_end_it() {
        let body = br#"{"status":"Pulling from library/x","id":"latest"}
{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}
"#;
        let err = display(&body[..], Target::Stderr).unwrap_err();
        assert_eq!(err.to_string(), "manifest unknown");
    }

    #[test]
    fn byte_progress_is_recognised() {
        let m: JsonMessage = serde_json::from_str(
            r#"{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"a"}"#,
        )
        .unwrap();
        assert_eq!(progress_of(&m), Some((10, 100)));
        let m: JsonMessage =
            serde_json::from_str(r#"{"status":"Pulling fs layer","progressDetail":{},"id":"a"}"#)
                .unwrap();
        assert_eq!(progress_of(&m), None);
    }
}
