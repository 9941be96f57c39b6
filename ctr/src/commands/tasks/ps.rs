//! `tasks ps`: the processes of a task, with the exec ID of those that are execs.

use myproto::containerd::runc::v1::ProcessDetails;
use myproto::containerd::services::tasks::v1::ListPidsRequest;

use crate::client::Client;
use crate::error::Result;
use crate::table::Table;
use crate::task;

pub async fn run(client: &Client, id: &str) -> Result<i32> {
    client.container(id).await?;
    // As ctr: the task must exist (a clearer error than an empty list).
    task::get_process(client, id, "").await?;
    let processes = client
        .tasks()
        .list_pids(client.request(ListPidsRequest {
            container_id: id.to_owned(),
        }))
        .await?
        .into_inner()
        .processes;
    let mut table = Table::new(1, 4);
    table.line("PID\tINFO");
    for process in &processes {
        // ctr prints the Go value with %+v.
        let info = match &process.info {
            None => "-".to_owned(),
            Some(any) => match myproto::type_url::unpack::<ProcessDetails>(any) {
                Ok(details) => format!(
                    "&ProcessDetails{{ExecID:{},XXX_unrecognized:[],}}",
                    details.exec_id
                ),
                Err(_) => any.type_url.clone(),
            },
        };
        table.line(&format!("{}\t{}", process.pid, info));
    }
    print!("{}", table.render());
    Ok(0)
}
