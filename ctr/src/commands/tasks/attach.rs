//! `tasks attach`: the stdio of a running task, through the FIFOs it was created with;
//! when the task exits, its status is ours and the task is deleted (as with ctr).

use crate::client::Client;
use crate::error::Result;
use crate::session::{self, Follow, OUTPUT_GRACE, ProcessRef, Signals};
use crate::stdio::{FifoSet, Stdio};
use crate::task;
use crate::tty::Terminal;

pub async fn run(client: &Client, id: &str) -> Result<i32> {
    let signals = Signals::listen()?;
    let container = client.container(id).await?;
    let tty = task::spec_terminal(&container)?;
    let process = task::get_process(client, id, "").await?;
    let paths = task::process_paths(&process);
    let terminal = if tty { Some(Terminal::raw()?) } else { None };
    let stdio = Stdio::Fifos(FifoSet::existing(&paths));
    let mut copying = stdio.start(true, true)?;
    let process = ProcessRef {
        container_id: id.to_owned(),
        exec_id: String::new(),
    };
    let waiting = session::wait(client, &process);
    let follow = Follow {
        terminal: terminal.as_ref(),
        signals,
        close_stdin: false,
    };
    let status = session::follow(client, &process, waiting, &mut copying, follow).await;
    copying.wait_output(OUTPUT_GRACE).await;
    let deleted = task::delete_task(client, id, &paths).await;
    drop(terminal);
    let status = status?;
    deleted?;
    Ok(status as i32)
}
