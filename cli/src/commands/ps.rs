//! `mycli ps`: the container table (docker's columns and widths), IDs with `-q`, or
//! docker's `--format` (`table ...`, `raw`, `json`, a Go template) through `template.rs`.

use clap::Args;
use engine_api::containers::{Port, Summary};

use super::{Ctx, parse_filters};
use crate::client::query;
use crate::error::{Error, Result};
use crate::table::ellipsis;
use crate::template::{self, ListFormat, Value};
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
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'raw', 'json',
    /// or a Go template
    #[arg(long)]
    pub format: Option<String>,
}

/// docker's `raw` format for containers.
const RAW_FORMAT: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";

pub fn ps(ctx: &Ctx, args: PsArgs) -> Result<i32> {
    let format = args.format.clone().unwrap_or_default();
    if !format.is_empty() && args.quiet {
        eprintln!("WARNING: Ignoring custom format, because both --format and --quiet are set.");
    }
    // Parsed before anything is fetched, so a bad template fails fast.
    let custom = match format.as_str() {
        _ if args.quiet => None,
        "" | "table" => None,
        "raw" => Some(ListFormat::parse(RAW_FORMAT)?),
        f if f.contains(".Size") => {
            return Err(Error::NotImplemented(
                "ps --format with .Size (container sizes are not fetched)".into(),
            ));
        }
        f => {
            validate(f)?;
            Some(ListFormat::parse(f)?)
        }
    };
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
    if let Some(f) = custom {
        let rows: Vec<Value> = list.iter().map(|c| context(c, !args.no_trunc)).collect();
        crate::out!("{}", f.render(&header(), &rows)?);
        return Ok(0);
    }
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

/// docker 28's `ps` first runs its format, as given, on an empty container, and
/// reports a failure in its own words.
fn validate(format: &str) -> Result<()> {
    let fail = |prefix: &str, e: String| match e.strip_prefix("not implemented: ") {
        Some(what) => Error::NotImplemented(what.to_owned()),
        None => Error::Reported {
            message: format!("{prefix}: {e}"),
            code: 1,
        },
    };
    let t = template::Template::parse(format).map_err(|e| fail(template::PS_PARSE_ERROR, e))?;
    t.execute(
        &context(&Summary::default(), true),
        template::FuncSet::Basic,
        false,
    )
    .map_err(|e| fail(template::PS_EXEC_ERROR, e))?;
    Ok(())
}

/// docker's `ContainerContext`: what a `--format` template sees for one container.
fn context(c: &Summary, trunc: bool) -> Value {
    let cells = row(c, !trunc);
    let s = |v: &str| Value::string(v);
    let mounts = c
        .mounts
        .iter()
        .map(|m| {
            let name = if m.name.is_empty() {
                &m.source
            } else {
                &m.name
            };
            if trunc {
                ellipsis(name, 15)
            } else {
                name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let labels = c
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let local_volumes = c.mounts.iter().filter(|m| m.driver == "local").count();
    let networks = c
        .network_settings
        .networks
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    let created = chrono::DateTime::from_timestamp(c.created, 0)
        .map(|t| template::go_time(&t.to_rfc3339()))
        .unwrap_or_default();
    template::row(
        "*formatter.ContainerContext",
        vec![
            ("ID", s(&cells[0])),
            ("Image", s(&cells[1])),
            ("Command", s(&cells[2])),
            ("RunningFor", s(&cells[3])),
            ("Status", s(&cells[4])),
            ("Ports", s(&cells[5])),
            ("Names", s(&cells[6])),
            ("CreatedAt", s(&created)),
            ("State", s(&c.state)),
            ("Labels", s(&labels)),
            ("Mounts", s(&mounts)),
            ("LocalVolumes", s(&local_volumes.to_string())),
            ("Networks", s(&networks)),
            // The API gives no platform in lists; docker's context holds a nil pointer.
            ("Platform", Value::NilPtr("*v1.Platform", None)),
        ],
        c.labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The column titles of a `table` format.
fn header() -> Value {
    template::header(&[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Names", "NAMES"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
        ("Platform", "PLATFORM"),
    ])
}

/// Names without the leading `/`; names of links (`/other/alias`) are left out.
fn names(list: &[String]) -> String {
    list.iter()
        .map(|n| n.strip_prefix('/').unwrap_or(n))
        .filter(|n| !n.contains('/'))
        .collect::<Vec<_>>()
        .join(",")
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

/// The PORTS column, as docker's `DisplayablePorts` writes it: ports published on the
/// same number (or not published) grouped into ranges per address and protocol
/// (`0.0.0.0:8000-8001->8000-8001/tcp`, `53/udp`), then every other mapping
/// (`127.0.0.1:8080->80/tcp`), all in order of container port.
fn ports(list: &[Port]) -> String {
    let mut sorted: Vec<&Port> = list.iter().collect();
    let public = |p: &Port| p.public_port.unwrap_or(0);
    sorted.sort_by(|a, b| {
        (a.private_port, &a.ip, public(a), &a.kind).cmp(&(
            b.private_port,
            &b.ip,
            public(b),
            &b.kind,
        ))
    });
    // Groups in the order their keys first appeared: (key, first, last).
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in sorted {
        let current = p.private_port;
        let mut key = p.kind.clone();
        if !p.ip.is_empty() {
            if public(p) != current {
                mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.ip, &public(p).to_string()),
                    current,
                    p.kind
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.kind);
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, current, current)),
            Some(g) if u32::from(current) == u32::from(g.2) + 1 => g.2 = current,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                (g.1, g.2) = (current, current);
            }
        }
    }
    result.extend(
        groups
            .iter()
            .map(|(k, first, last)| form_group(k, *first, *last)),
    );
    result.extend(mappings);
    result.join(", ")
}

/// One group: `80/tcp`, `80-81/tcp`, or with an address `0.0.0.0:80-81->80-81/tcp`.
fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, kind) = match key.split_once('/') {
        Some((ip, kind)) => (ip, kind),
        None => ("", key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{kind}")
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /containers/json` entry of dockerd 20.10, and what docker 28's
    /// `ps --format` printed for it.
    fn web() -> Summary {
        serde_json::from_str(
            r#"{"Id":"0b9a1d53babd7255a1cfa426be825bf3e70d32ca7214fe810c71995030aecbef",
            "Names":["/web"],"Image":"busybox","ImageID":"sha256:b1de","Command":"sleep 100000",
            "Created":1795880052,"Ports":[],"Labels":{"b":"2","a":"1","com.x.y":"z w"},
            "State":"running","Status":"Up 23 minutes","HostConfig":{"NetworkMode":"none"},
            "NetworkSettings":{"Networks":{"none":{}}},
            "Mounts":[{"Type":"bind","Source":"/tmp/tplref/vol","Destination":"/data","Mode":"","RW":true,"Propagation":"rprivate"},
            {"Type":"volume","Name":"named","Source":"/v/_data","Destination":"/named","Driver":"local","Mode":"z","RW":true,"Propagation":""}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn format_fields_like_dockers_container_context() {
        let f = ListFormat::parse(
            r"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedAt}}\t{{.State}}\t{{.Names}}\t{{.Labels}}\t{{.Mounts}}\t{{.LocalVolumes}}\t{{.Networks}}\t{{.Platform}}",
        )
        .unwrap();
        assert_eq!(
            f.render(&header(), &[context(&web(), true)]).unwrap(),
            "CONTAINER ID   IMAGE     COMMAND          CREATED AT                      STATE     NAMES     LABELS                MOUNTS                  LOCAL VOLUMES   NETWORKS   PLATFORM\n\
             0b9a1d53babd   busybox   \"sleep 100000\"   2026-11-28 15:34:12 +0000 UTC   running   web       a=1,b=2,com.x.y=z w   /tmp/tplref/vol,named   1               none       <nil>\n"
        );
        let f = ListFormat::parse(r#"{{.Label "com.x.y"}}|{{.Label "none"}}|{{json .Platform}}"#)
            .unwrap();
        assert_eq!(
            f.render(&header(), &[context(&web(), true)]).unwrap(),
            "z w||null\n"
        );
        let f = ListFormat::parse(RAW_FORMAT).unwrap();
        assert!(
            f.render(&header(), &[context(&web(), true)])
                .unwrap()
                .starts_with(
                    "container_id: 0b9a1d53babd\nimage: busybox\ncommand: \"sleep 100000\"\n"
                )
        );
    }

    #[test]
    fn format_is_checked_on_an_empty_container_first() {
        let e = |f: &str| match validate(f) {
            Err(Error::Reported { message, code: 1 }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            e("{{.Foo"),
            "failed to parse template: template: :1: unclosed action"
        );
        // The format as given: `table ` and the two-character `\t` count in the position.
        assert_eq!(
            e(r"table {{.ID}}\t{{.Nope}}"),
            r#"failed to execute template: template: :1:17: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"#
        );
        assert!(validate(r"table {{.ID}}\t{{.Names}}").is_ok());
    }

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

    fn port(ip: &str, private: u16, public: Option<u16>, kind: &str) -> Port {
        Port {
            ip: ip.into(),
            private_port: private,
            public_port: public,
            kind: kind.into(),
        }
    }

    /// `Ports` of `GET /containers/json` from dockerd 20.10 for a container run with
    /// `-p 127.0.0.1:8080:80 -p 9000:90/udp -p 10:10 -p 8081:100 -p [::1]:8082:82 -P
    /// --expose 7 --expose 53/udp`, and the column docker 28's `ps` printed for it.
    #[test]
    fn ports_column_like_docker() {
        let list: Vec<Port> = serde_json::from_str(
            r#"[{"IP":"0.0.0.0","PrivatePort":10,"PublicPort":10,"Type":"tcp"},
            {"IP":"0.0.0.0","PrivatePort":100,"PublicPort":8081,"Type":"tcp"},
            {"IP":"0.0.0.0","PrivatePort":53,"PublicPort":32768,"Type":"udp"},
            {"IP":"0.0.0.0","PrivatePort":7,"PublicPort":32768,"Type":"tcp"},
            {"IP":"127.0.0.1","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},
            {"PrivatePort":82,"Type":"tcp"},
            {"IP":"0.0.0.0","PrivatePort":90,"PublicPort":9000,"Type":"udp"}]"#,
        )
        .unwrap();
        assert_eq!(
            ports(&list),
            "0.0.0.0:10->10/tcp, 82/tcp, 0.0.0.0:32768->7/tcp, 0.0.0.0:32768->53/udp, \
             127.0.0.1:8080->80/tcp, 0.0.0.0:9000->90/udp, 0.0.0.0:8081->100/tcp"
        );
    }

    #[test]
    fn consecutive_ports_group_into_ranges() {
        let list = vec![
            port("0.0.0.0", 8001, Some(8001), "tcp"),
            port("0.0.0.0", 8000, Some(8000), "tcp"),
            port("::", 8000, Some(8000), "tcp"),
            port("::", 8001, Some(8001), "tcp"),
            port("", 7000, None, "udp"),
            port("", 7001, None, "udp"),
            port("", 7003, None, "udp"),
        ];
        assert_eq!(
            ports(&list),
            "7000-7001/udp, 7003/udp, 0.0.0.0:8000-8001->8000-8001/tcp, [::]:8000-8001->8000-8001/tcp"
        );
    }
}
