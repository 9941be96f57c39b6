//! `mycli volume create|ls|inspect|rm|prune`: the Engine API's `/volumes` endpoints with
//! docker's flags, output and exit codes (docker CLI 28's cli/command/volume).

use clap::{Args, Subcommand};
use engine_api::volumes::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};

use super::{Ctx, key_values, natural_cmp, parse_filters};
use crate::client::{Body, path_segment, query};
use crate::error::{Error, Result};
use crate::template::{Doc, InspectFormat, Inspector, ListFormat, Value};

#[derive(Debug, Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: VolumeCommand,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, Args, Default)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = "local")]
    pub driver: String,
    /// Specify volume name
    #[arg(long = "name", hide = true)]
    pub name_flag: Option<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// Set metadata for a volume
    #[arg(long = "label", value_parser = super::label)]
    pub labels: Vec<String>,
    #[arg(value_name = "VOLUME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

pub fn volume(ctx: &Ctx, args: VolumeArgs) -> Result<i32> {
    match args.command {
        VolumeCommand::Create(a) => create(ctx, a),
        VolumeCommand::Inspect(a) => inspect(ctx, a),
        VolumeCommand::Ls(a) => ls(ctx, a),
        VolumeCommand::Prune(a) => prune(ctx, a),
        VolumeCommand::Rm(a) => rm(ctx, a),
    }
}

// ---------------------------------------------------------------------------- create

fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let req = create_request(&args)?;
    let client = ctx.client()?;
    let v: Volume = client.post_json("/volumes/create", &req)?;
    crate::outln!("{}", v.name);
    Ok(0)
}

/// The body docker 28 sends: empty maps are left out (`omitempty`).
fn create_request(args: &CreateArgs) -> Result<VolumeCreateRequest> {
    let name = match (&args.name, &args.name_flag) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidArgument(
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg".into(),
            ));
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    let opts = key_values(&args.opts);
    let labels = key_values(&args.labels);
    Ok(VolumeCreateRequest {
        name,
        driver: args.driver.clone(),
        driver_opts: (!opts.is_empty()).then_some(opts),
        labels: (!labels.is_empty()).then_some(labels),
    })
}

// ---------------------------------------------------------------------------- ls

fn ls(ctx: &Ctx, args: LsArgs) -> Result<i32> {
    let filters = parse_filters(&args.filter)?;
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let client = ctx.client()?;
    let list: VolumeListResponse = client.get_json(&format!("/volumes{}", query(&params)))?;
    crate::out!(
        "{}",
        render_list(list.volumes, args.format.as_deref(), args.quiet)?
    );
    Ok(0)
}

/// `ls` output: docker's volume formatter, sorted by name as docker sorts.
fn render_list(mut list: Vec<Volume>, format: Option<&str>, quiet: bool) -> Result<String> {
    list.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let format = match format.unwrap_or("") {
        "" | "table" if quiet => "{{.Name}}",
        "" | "table" => "table {{.Driver}}\t{{.Name}}",
        "raw" if quiet => "name: {{.Name}}",
        "raw" => r"name: {{.Name}}\ndriver: {{.Driver}}\n",
        other => other,
    };
    let format = ListFormat::parse(format)?;
    let rows: Vec<Value> = list.iter().map(list_row).collect();
    format.render(&header_row(), &rows)
}

/// The fields a `ls --format` template can name (docker's `volumeContext`), in the
/// sorted order its JSON shows them.
fn list_row(v: &Volume) -> Value {
    let mut labels: Vec<String> = v
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.sort();
    let fields = [
        ("Availability", "N/A".to_owned()),
        ("Driver", v.driver.clone()),
        ("Group", "N/A".to_owned()),
        ("Labels", labels.join(",")),
        ("Links", usage(v, |u| u.ref_count.to_string())),
        ("Mountpoint", v.mountpoint.clone()),
        ("Name", v.name.clone()),
        ("Scope", v.scope.clone()),
        ("Size", usage(v, |u| human_size(u.size as f64))),
        ("Status", "N/A".to_owned()),
    ];
    Value::context(
        "formatter.volumeContext",
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::string(v)))
            .collect(),
    )
}

fn usage(v: &Volume, f: impl Fn(&engine_api::volumes::UsageData) -> String) -> String {
    v.usage_data.as_ref().map_or_else(|| "N/A".to_owned(), f)
}

/// The column titles of a `table` format.
fn header_row() -> Value {
    Value::string_map(
        [
            ("Availability", "AVAILABILITY"),
            ("Driver", "DRIVER"),
            ("Group", "GROUP"),
            ("ID", "ID"),
            ("Labels", "LABELS"),
            ("Links", "LINKS"),
            ("Mountpoint", "MOUNTPOINT"),
            ("Name", "VOLUME NAME"),
            ("Scope", "SCOPE"),
            ("Size", "SIZE"),
            ("Status", "STATUS"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    )
}

/// docker's `units.HumanSize`: decimal units, four significant digits ("2kB", "1.234MB").
fn human_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if v == 0.0 {
        return format!("0{}", UNITS[i]);
    }
    // Go's %.4g for 0 < v < 1000: four significant digits, trailing zeros dropped.
    let digits_before = (v.abs().log10().floor() as i32 + 1).max(1);
    let decimals = (4 - digits_before).max(0) as usize;
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{text}{}", UNITS[i])
}

// ---------------------------------------------------------------------------- inspect

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let format = InspectFormat::parse(args.format.as_deref())?;
    let client = ctx.client()?;
    let mut inspector = Inspector::new(&format);
    for name in &args.names {
        let got = client
            .request(
                "GET",
                &format!("/volumes/{}", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.bytes());
        match got {
            Ok(raw) => inspector.add(Doc::Volume, &raw),
            Err(e) => inspector.error(e.to_string()),
        }
    }
    inspector.print()
}

// ---------------------------------------------------------------------------- rm

fn rm(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let client = ctx.client()?;
    let q = if args.force { "?force=1" } else { "" };
    let mut errors = Vec::new();
    for name in &args.names {
        let removed = client
            .request(
                "DELETE",
                &format!("/volumes/{}{q}", path_segment(name)),
                Body::Empty,
            )
            .and_then(|r| r.drain());
        match removed {
            Ok(()) => crate::outln!("{name}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        return Ok(0);
    }
    // docker joins the errors into one, printed after the names that went.
    Err(Error::Reported {
        message: errors.join("\n"),
        code: 1,
    })
}

// ---------------------------------------------------------------------------- prune

const UNUSED_WARNING: &str = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?";

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let mut filters = parse_filters(&args.filter)?;
    let client = ctx.client()?;
    let warning = if client.at_least("1.42") {
        if args.all {
            if filters.contains("all") {
                return Err(Error::InvalidArgument(
                    "conflicting options: cannot specify both --all and --filter all=1".into(),
                ));
            }
            filters.add("all", "true");
            ALL_WARNING
        } else {
            UNUSED_WARNING
        }
    } else {
        // Before API 1.42 the daemon prunes named volumes too.
        ALL_WARNING
    };
    if !args.force && !super::confirm(warning, &mut std::io::stdin().lock()) {
        // docker treats a refusal as a cancelled command: nothing more, exit 0.
        return Ok(0);
    }
    let mut params = Vec::new();
    if !filters.is_empty() {
        params.push(("filters", filters.to_query()));
    }
    let report: VolumePruneResponse = client
        .request(
            "POST",
            &format!("/volumes/prune{}", query(&params)),
            Body::Empty,
        )?
        .json()?;
    crate::out!("{}", prune_output(&report));
    Ok(0)
}

/// `Deleted Volumes:` and one name a line plus the blank line of docker's `Fprintln`
/// (only when something went), then the space reclaimed.
fn prune_output(report: &VolumePruneResponse) -> String {
    let mut out = String::new();
    let mut reclaimed = 0;
    if !report.volumes_deleted.is_empty() {
        out.push_str("Deleted Volumes:\n");
        for n in &report.volumes_deleted {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
        reclaimed = report.space_reclaimed;
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed as f64)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> VolumeCommand {
        let mut full = vec!["mycli", "volume"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Some(Command::Volume(v)) => v.command,
            _ => panic!("not a volume command"),
        }
    }

    fn create_args(argv: &[&str]) -> CreateArgs {
        let mut full = vec!["create"];
        full.extend_from_slice(argv);
        match parse(&full) {
            VolumeCommand::Create(a) => a,
            _ => panic!(),
        }
    }

    #[test]
    fn create_body_like_dockers() {
        let v = serde_json::to_value(create_request(&create_args(&[])).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"Driver": "local"}));
        let v = serde_json::to_value(
            create_request(&create_args(&[
                "--label",
                "a=b",
                "--label",
                "c",
                "-o",
                "type=tmpfs",
                "-d",
                "local",
                "data",
            ]))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Name": "data", "Driver": "local",
                "DriverOpts": {"type": "tmpfs"}, "Labels": {"a": "b", "c": ""}})
        );
        let a = create_args(&["--name", "n"]);
        assert_eq!(create_request(&a).unwrap().name, "n");
        let a = create_args(&["--name", "n", "m"]);
        assert_eq!(
            create_request(&a).unwrap_err().to_string(),
            "conflicting options: cannot specify a volume-name through both --name and as a positional arg"
        );
        let cli = |argv: &[&str]| {
            let mut full = vec!["mycli", "volume"];
            full.extend_from_slice(argv);
            Cli::try_parse_from(full)
        };
        assert!(cli(&["create", "a", "b"]).is_err());
        let e = cli(&["create", "--label", "=x"]).unwrap_err().to_string();
        assert!(e.contains("invalid label '=x': empty name"), "{e}");
        assert!(matches!(parse(&["list"]), VolumeCommand::Ls(_)));
        assert!(matches!(parse(&["remove", "x"]), VolumeCommand::Rm(_)));
        assert!(cli(&["rm"]).is_err());
        assert!(cli(&["inspect"]).is_err());
        let VolumeCommand::Prune(p) = parse(&["prune", "-af", "--filter", "label=x"]) else {
            panic!()
        };
        assert!(p.all && p.force);
        assert_eq!(p.filter, ["label=x"]);
    }

    /// `GET /volumes` of docker (abridged), in the daemon's order.
    const LIST: &str = r#"{"Volumes":[
        {"CreatedAt":"2026-11-28T15:07:09Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/docker/volumes/volume-10-foo/_data","Name":"volume-10-foo","Options":null,"Scope":"local"},
        {"CreatedAt":"2026-11-28T15:07:09Z","Driver":"local","Labels":{"foo":"bar","a":"1"},"Mountpoint":"/var/lib/docker/volumes/volume-2-foo/_data","Name":"volume-2-foo","Options":null,"Scope":"local"},
        {"CreatedAt":"2026-11-28T15:07:09Z","Driver":"local","Labels":{},"Mountpoint":"/var/lib/docker/volumes/volume-1-foo/_data","Name":"volume-1-foo","Options":{},"Scope":"local"}
    ],"Warnings":null}"#;

    fn list() -> Vec<Volume> {
        serde_json::from_str::<VolumeListResponse>(LIST)
            .unwrap()
            .volumes
    }

    #[test]
    fn ls_table_sorted_naturally() {
        assert_eq!(
            render_list(list(), None, false).unwrap(),
            "DRIVER    VOLUME NAME\n\
             local     volume-1-foo\n\
             local     volume-2-foo\n\
             local     volume-10-foo\n"
        );
        // docker's volume-list-sort.golden.
        assert_eq!(
            render_list(list(), None, true).unwrap(),
            "volume-1-foo\nvolume-2-foo\nvolume-10-foo\n"
        );
        assert_eq!(
            render_list(list(), Some("{{.Name}} {{.Driver}} {{.Labels}}"), false).unwrap(),
            "volume-1-foo local \nvolume-2-foo local a=1,foo=bar\nvolume-10-foo local \n"
        );
        assert_eq!(
            render_list(
                list(),
                Some(r"table {{.Name}}\t{{.Links}}\t{{.Size}}"),
                false
            )
            .unwrap(),
            "VOLUME NAME     LINKS     SIZE\n\
             volume-1-foo    N/A       N/A\n\
             volume-2-foo    N/A       N/A\n\
             volume-10-foo   N/A       N/A\n"
        );
        let json = render_list(list(), Some("json"), false).unwrap();
        assert_eq!(
            json.lines().next().unwrap(),
            r#"{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A","Mountpoint":"/var/lib/docker/volumes/volume-1-foo/_data","Name":"volume-1-foo","Scope":"local","Size":"N/A","Status":"N/A"}"#
        );
        let raw = render_list(list(), Some("raw"), false).unwrap();
        assert!(
            raw.starts_with("name: volume-1-foo\ndriver: local\n\nname: volume-2-foo"),
            "{raw}"
        );
    }

    #[test]
    fn prune_reports_like_docker() {
        // docker's volume-prune.deletedVolumes.golden and volume-prune.empty.golden.
        let report = VolumePruneResponse {
            volumes_deleted: vec!["foo".into(), "bar".into(), "baz".into()],
            space_reclaimed: 2000,
        };
        assert_eq!(
            prune_output(&report),
            "Deleted Volumes:\nfoo\nbar\nbaz\n\nTotal reclaimed space: 2kB\n"
        );
        assert_eq!(
            prune_output(&VolumePruneResponse::default()),
            "Total reclaimed space: 0B\n"
        );
    }

    #[test]
    fn sizes_print_like_go_units() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(2000.0), "2kB");
        assert_eq!(human_size(1234.0), "1.234kB");
        assert_eq!(human_size(12_346.0), "12.35kB");
        assert_eq!(human_size(123_456_789.0), "123.5MB");
        assert_eq!(human_size(4096.0), "4.096kB");
    }
}
