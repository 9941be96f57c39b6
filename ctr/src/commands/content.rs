//! `content ls|get|fetch`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use tokio::io::AsyncWriteExt;

use crate::cli::ContentCommand;
use crate::client::Client;
use crate::error::Result;
use crate::table::Table;

pub async fn run(client: &Client, command: ContentCommand) -> Result<i32> {
    match command {
        ContentCommand::List { quiet, filters } => list(client, quiet, &filters).await,
        ContentCommand::Get { digests } => {
            let images = client.images(None);
            let mut out = tokio::io::stdout();
            for digest in &digests {
                images.read_content_to(digest, &mut out).await?;
            }
            let _ = out.flush().await;
            Ok(0)
        }
        ContentCommand::Fetch {
            registry,
            reference,
        } => {
            let images = client.images(None);
            super::images::pull(&images, &reference, &registry, false, false).await
        }
    }
}

async fn list(client: &Client, quiet: bool, filters: &[String]) -> Result<i32> {
    let images = client.images(None);
    let mut blobs = images.list_content(filters).await?;
    blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
    if quiet {
        for info in &blobs {
            println!("{}", info.digest);
        }
        return Ok(0);
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let mut table = Table::with_tabs(1, 1);
    table.line("DIGEST\tSIZE\tAGE\tLABELS");
    for info in &blobs {
        let created = info.created_at.as_ref().map(|t| t.seconds).unwrap_or(now);
        let labels: BTreeMap<&String, &String> = info.labels.iter().collect();
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        table.line(&format!(
            "{}\t{}\t{}\t{}",
            info.digest,
            human_size(info.size.max(0) as u64),
            human_duration((now - created).max(0) as u64),
            labels.join(",")
        ));
    }
    print!("{}", table.render());
    Ok(0)
}

/// docker/go-units `HumanSize`: decimal units, 4 significant digits (`1.032MB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let digits = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{}", UNITS[unit])
}

/// docker/go-units `HumanDuration`.
pub fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = (seconds as f64 / 3600.0 + 0.5) as u64;
    match seconds {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_print_like_ctr() {
        assert_eq!(human_size(1031884), "1.032MB");
        assert_eq!(human_size(395), "395B");
        assert_eq!(human_size(2000), "2kB");
        assert_eq!(human_size(12345), "12.35kB");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
    }
}
