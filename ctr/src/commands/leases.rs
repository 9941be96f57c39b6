//! `leases ls`.

use std::collections::BTreeMap;

use crate::cli::LeasesCommand;
use crate::client::Client;
use crate::error::Result;
use crate::json;
use crate::table::Table;

pub async fn run(client: &Client, command: LeasesCommand) -> Result<i32> {
    let LeasesCommand::List { quiet, filters } = command;
    let mut leases = client.images(None).list_leases(&filters).await?;
    leases.sort_by(|a, b| a.id.cmp(&b.id));
    if quiet {
        for lease in &leases {
            println!("{}", lease.id);
        }
        return Ok(0);
    }
    let mut table = Table::new(1, 1);
    table.line("ID\tCREATED AT\tLABELS\t");
    for lease in &leases {
        let labels: BTreeMap<&String, &String> = lease.labels.iter().collect();
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let created = json::rfc3339_nano(lease.created_at.as_ref());
        // RFC 3339 to the second, as ctr prints it.
        let created = match created.split_once('.') {
            Some((seconds, _)) => format!("{seconds}Z"),
            None => created,
        };
        table.line(&format!("{}\t{created}\t{}\t", lease.id, labels.join(",")));
    }
    print!("{}", table.render());
    Ok(0)
}
