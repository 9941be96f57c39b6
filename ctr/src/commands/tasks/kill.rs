//! `tasks kill`: a signal to the task's init, one exec process, or all processes.

use myproto::containerd::services::tasks::v1::KillRequest;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::signals;

/// The container label an image's stop signal travels in.
const STOP_SIGNAL_LABEL: &str = "io.containerd.image.config.stop-signal";

pub async fn run(
    client: &Client,
    id: &str,
    signal: Option<&str>,
    exec_id: Option<&str>,
    all: bool,
) -> Result<i32> {
    let exec_id = exec_id.unwrap_or_default();
    if all && !exec_id.is_empty() {
        return Err(Error::Usage("specify an exec-id or all; not both"));
    }
    let given = signal
        .filter(|s| !s.is_empty())
        .map(signals::parse)
        .transpose()?;
    let container = client.container(id).await?;
    let signal = match given {
        Some(signal) => signal,
        None => match container.labels.get(STOP_SIGNAL_LABEL) {
            Some(name) => signals::parse(name)?,
            None => libc::SIGTERM as u32,
        },
    };
    client
        .tasks()
        .kill(client.request(KillRequest {
            container_id: id.to_owned(),
            exec_id: exec_id.to_owned(),
            signal,
            all,
        }))
        .await?;
    Ok(0)
}
