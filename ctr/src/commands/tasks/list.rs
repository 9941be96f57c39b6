//! `tasks ls`.

use myproto::containerd::services::tasks::v1::ListTasksRequest;
use myproto::containerd::v1::types::Status;

use crate::client::Client;
use crate::commands::containers::status_name;
use crate::error::Result;
use crate::table::Table;

pub async fn run(client: &Client, quiet: bool) -> Result<i32> {
    let tasks = client
        .tasks()
        .list(client.request(ListTasksRequest::default()))
        .await?
        .into_inner()
        .tasks;
    if quiet {
        for task in &tasks {
            println!("{}", task.id);
        }
        return Ok(0);
    }
    let mut table = Table::new(4, 4);
    table.line("TASK\tPID\tSTATUS\t");
    for task in &tasks {
        let status = Status::try_from(task.status).unwrap_or(Status::Unknown);
        table.line(&format!(
            "{}\t{}\t{}",
            task.id,
            task.pid,
            status_name(status)
        ));
    }
    print!("{}", table.render());
    Ok(0)
}
