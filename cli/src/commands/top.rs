//! `top CONTAINER [ps OPTIONS]` (docker's container/top.go): the daemon runs `ps` and
//! keeps the container's rows; printed with docker's `tabwriter(20, 1, 3)` layout.

use clap::Args;
use engine_api::stats::TopResponse;

use super::Ctx;
use crate::client::{path_segment, query};
use crate::error::Result;

#[derive(Debug, Args)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// `ps` options, `-ef` when none.
    #[arg(
        value_name = "ps OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub ps_args: Vec<String>,
}

pub fn top(ctx: &Ctx, args: TopArgs) -> Result<i32> {
    let client = ctx.client()?;
    let params: Vec<(&str, String)> = if args.ps_args.is_empty() {
        Vec::new()
    } else {
        vec![("ps_args", args.ps_args.join(" "))]
    };
    let top: TopResponse = client.get_json(&format!(
        "/containers/{}/top{}",
        path_segment(&args.container),
        query(&params)
    ))?;
    crate::out!("{}", render(&top));
    Ok(0)
}

/// Columns at least 20 wide, three spaces of padding; the last one as it is.
fn render(top: &TopResponse) -> String {
    const MIN_WIDTH: usize = 20;
    const PADDING: usize = 3;
    let rows: Vec<&Vec<String>> = std::iter::once(&top.titles)
        .chain(top.processes.iter())
        .collect();
    let columns = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max((cell.chars().count() + PADDING).max(MIN_WIDTH));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Cli, Command};
    use clap::Parser;

    #[test]
    fn ps_options_after_the_container_are_not_our_flags() {
        let cli = Cli::try_parse_from(["mycli", "top", "web", "-o", "pid,comm"]).unwrap();
        let Some(Command::Top(a)) = cli.command else {
            panic!("not top")
        };
        assert_eq!(a.container, "web");
        assert_eq!(a.ps_args, ["-o", "pid,comm"]);
    }

    #[test]
    fn columns_like_dockers_tabwriter() {
        let top = TopResponse {
            titles: vec!["UID".into(), "PID".into(), "CMD".into()],
            processes: vec![vec!["root".into(), "42".into(), "sleep 100".into()]],
        };
        assert_eq!(
            render(&top),
            format!(
                "UID{}PID{}CMD\nroot{}42{}sleep 100\n",
                " ".repeat(17),
                " ".repeat(17),
                " ".repeat(16),
                " ".repeat(18)
            )
        );
    }
}
