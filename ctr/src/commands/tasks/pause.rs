//! `tasks pause` and `tasks resume`.

use myproto::containerd::services::tasks::v1::{PauseTaskRequest, ResumeTaskRequest};

use crate::client::Client;
use crate::error::Result;

pub async fn pause(client: &Client, id: &str) -> Result<i32> {
    client.container(id).await?;
    client
        .tasks()
        .pause(client.request(PauseTaskRequest {
            container_id: id.to_owned(),
        }))
        .await?;
    Ok(0)
}

pub async fn resume(client: &Client, id: &str) -> Result<i32> {
    client.container(id).await?;
    client
        .tasks()
        .resume(client.request(ResumeTaskRequest {
            container_id: id.to_owned(),
        }))
        .await?;
    Ok(0)
}
