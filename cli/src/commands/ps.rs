//! `mycli ps`: the container table (docker's columns and widths) or IDs with `-q`.

use clap::Args;
use engine_api::containers::{Port, Summary};

use super::{Ctx, parse_filters};
use crate::client::query;
use crate::error::Result;
use crate::{table, units};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
}

pub fn ps(ctx: &Ctx, args: PsArgs) -> Result<i32> {
    let filters = parse_filters(&args.filter)?;
    let mut params = Vec::new();
    if args.all {
        params.push(("all", "1".to_owned()));
    }
    let limit = if args.latest { 1 } else { args.last };
    if limit > 0 {
        params.push(("limit", limit.to_string()));
    }
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let client = ctx.client()?;
    let list: Vec<Summary> = client.get_json(&format!("/containers/json{}", query(&params)))?;
    let mut out = String::new();
    if args.quiet {
        for c in &list {
            out.push_str(&short_id(&c.id, args.no_trunc));
            out.push('\n');
        }
    } else {
        let mut rows = vec![
            [
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &list {
            rows.push(row(c, args.no_trunc));
        }
        out = table::render(&rows);
    }
    crate::out!("{out}");
    Ok(0)
}

fn short_id(id: &str, no_trunc: bool) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    if no_trunc {
        id.to_owned()
    } else {
        id.chars().take(12).collect()
    }
}

fn row(c: &Summary, no_trunc: bool) -> Vec<String> {
    let command = if no_trunc {
        c.command.clone()
    } else {
        ellipsis(&c.command, 20)
    };
    let image = if no_trunc || !c.image.starts_with("sha256:") {
        c.image.clone()
    } else {
        short_id(&c.image, false)
    };
    vec![
        short_id(&c.id, no_trunc),
        image,
        quote(&command),
        units::ago(c.created),
        c.status.clone(),
        ports(&c.ports),
        names(&c.names),
    ]
}

/// Names without the leading `/`; names of links (`/other/alias`) are left out.
fn names(list: &[String]) -> String {
    list.iter()
        .map(|n| n.strip_prefix('/').unwrap_or(n))
        .filter(|n| !n.contains('/'))
        .collect::<Vec<_>>()
        .join(",")
}

/// docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote` for the printable text commands are made of.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `0.0.0.0:8080->80/tcp, 443/tcp`
fn ports(list: &[Port]) -> String {
    let mut items: Vec<(u16, String)> = list
        .iter()
        .map(|p| {
            let kind = if p.kind.is_empty() { "tcp" } else { &p.kind };
            let text = match p.public_port {
                Some(public) if public != 0 => {
                    let ip = if p.ip.contains(':') {
                        format!("[{}]", p.ip)
                    } else {
                        p.ip.clone()
                    };
                    format!("{ip}:{public}->{}/{kind}", p.private_port)
                }
                _ => format!("{}/{kind}", p.private_port),
            };
            (p.private_port, text)
        })
        .collect();
    items.sort();
    items.dedup_by(|a, b| a.1 == b.1);
    items
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_and_cut() {
        assert_eq!(quote(&ellipsis("sleep 100", 20)), "\"sleep 100\"");
        assert_eq!(
            quote(&ellipsis("sh -c 'while true; do echo hi; done'", 20)),
            "\"sh -c 'while true; …\""
        );
        assert_eq!(quote("echo \"x\""), "\"echo \\\"x\\\"\"");
    }

    #[test]
    fn names_and_ports() {
        assert_eq!(names(&["/web".into(), "/app/db".into()]), "web");
        let p = vec![
            Port {
                ip: "0.0.0.0".into(),
                private_port: 80,
                public_port: Some(8080),
                kind: "tcp".into(),
            },
            Port {
                private_port: 53,
                kind: "udp".into(),
                ..Default::default()
            },
        ];
        assert_eq!(ports(&p), "53/udp, 0.0.0.0:8080->80/tcp");
    }
}
