//! `daemon.json`: the same settings as the flags, under the flags' long names (dockerd's
//! plural spellings `hosts`, `log-opts` and `default-address-pools` too). The file's
//! entries become command-line arguments after the real ones and go through the same
//! parser, so a value is checked once, one way. As dockerd: a setting given both as a
//! flag and in the file, or a key no flag has, is an error.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde_json::Value;

use crate::config::Flags;

/// Read when `--config-file` is not given; its absence is fine.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/myengine/daemon.json";

/// The flags of `args` (argv, program name first) merged with the configuration file.
/// `--help` and `--version` print and exit here, as clap does.
pub fn parse(args: &[String]) -> Result<Flags, String> {
    let matches = Flags::command()
        .try_get_matches_from(args)
        .unwrap_or_else(|e| e.exit());
    let flags = Flags::from_arg_matches(&matches).map_err(|e| first_line(&e.to_string()))?;
    let (path, explicit) = match &flags.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let Some(text) = read(&path, explicit)? else {
        return Ok(flags);
    };
    let extra = file_args(&text, &matches).map_err(|e| {
        format!(
            "unable to configure the daemon with file {}: {e}",
            path.display()
        )
    })?;
    let all: Vec<String> = args.iter().cloned().chain(extra).collect();
    Flags::try_parse_from(all).map_err(|e| {
        format!(
            "unable to configure the daemon with file {}: {}",
            path.display(),
            first_line(&e.to_string())
        )
    })
}

/// The file's text; None when the default file does not exist.
pub fn read(path: &Path, explicit: bool) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) => Err(format!(
            "unable to configure the daemon with file {}: {e}",
            path.display()
        )),
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The file's long name for the flag `key`.
fn flag_name(key: &str) -> &str {
    match key {
        "hosts" => "host",
        "log-opts" => "log-opt",
        "default-address-pools" => "default-address-pool",
        other => other,
    }
}

/// The file's settings as `--name=value` arguments. `matches` (the command line) finds
/// settings given twice.
pub fn file_args(text: &str, matches: &ArgMatches) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("invalid JSON: want an object".into());
    };
    let command = Flags::command();
    let (mut unknown, mut twice, mut out) = (Vec::new(), Vec::new(), Vec::new());
    for (key, value) in &map {
        let long = flag_name(key);
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long) && long != "config-file")
        else {
            unknown.push(key.clone());
            continue;
        };
        if matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
            twice.push(key.clone());
            continue;
        }
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value {
                Value::Bool(true) => out.push(format!("--{long}")),
                Value::Bool(false) => {}
                _ => return Err(format!("{key}: want true or false")),
            }
            continue;
        }
        for v in values(key, value)? {
            out.push(format!("--{long}={v}"));
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "the following directives don't match any configuration option: {}",
            unknown.join(", ")
        ));
    }
    if !twice.is_empty() {
        return Err(format!(
            "the following directives are specified both as a flag and in the configuration file: {}",
            twice.join(", ")
        ));
    }
    Ok(out)
}

/// One setting's values as flag values: lists give several, `log-opts` maps give
/// `KEY=VALUE`s, address pools `base=…,size=…`.
fn values(key: &str, value: &Value) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{key}: unexpected value {v}")),
    };
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o
                    .iter()
                    .map(|(k, v)| scalar(v).map(|v| format!("{k}={v}")))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(",")),
                v => scalar(v),
            })
            .collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| scalar(v).map(|v| format!("{k}={v}")))
            .collect(),
        Value::Null => Ok(Vec::new()),
        v => Ok(vec![scalar(v)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(extra: &[&str]) -> Vec<String> {
        std::iter::once("myengined")
            .chain(extra.iter().copied())
            .map(String::from)
            .collect()
    }

    fn with_file(text: &str, extra: &[&str]) -> Result<Flags, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, text).unwrap();
        let mut args = argv(&["--config-file", path.to_str().unwrap()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        parse(&args)
    }

    #[test]
    fn settings_from_the_file() {
        let f = with_file(
            r#"{
              "hosts": ["unix:///tmp/a.sock", "tcp://127.0.0.1:2376"],
              "data-root": "/tmp/data",
              "log-level": "debug",
              "tlsverify": true,
              "tls": false,
              "iptables": false,
              "mtu": 1400,
              "log-opts": {"max-size": "5m", "max-file": "2"},
              "default-address-pools": [{"base": "10.99.0.0/16", "size": 24}]
            }"#,
            &[],
        )
        .unwrap();
        assert_eq!(f.hosts, ["unix:///tmp/a.sock", "tcp://127.0.0.1:2376"]);
        assert_eq!(f.data_root, PathBuf::from("/tmp/data"));
        assert_eq!(f.log_level, "debug");
        assert!(f.tlsverify && !f.tls && !f.iptables);
        assert_eq!(f.mtu, 1400);
        assert_eq!(f.log_opts, ["max-file=2", "max-size=5m"]);
        assert_eq!(f.default_address_pool, "base=10.99.0.0/16,size=24");
    }

    #[test]
    fn flags_and_file_together_but_never_the_same_setting() {
        let f = with_file(r#"{"mtu": 1400}"#, &["--data-root", "/tmp/x"]).unwrap();
        assert_eq!((f.mtu, f.data_root), (1400, PathBuf::from("/tmp/x")));
        let e = with_file(r#"{"data-root": "/tmp/y"}"#, &["--data-root", "/tmp/x"]).unwrap_err();
        assert!(
            e.contains("specified both as a flag and in the configuration file: data-root"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        for (text, needle) in [
            ("{", "invalid JSON"),
            ("[]", "want an object"),
            (
                r#"{"no-such-thing": 1, "debugg": true}"#,
                "don't match any configuration option: debugg, no-such-thing",
            ),
            (r#"{"mtu": "big"}"#, "invalid value 'big'"),
            (r#"{"tlsverify": "yes"}"#, "want true or false"),
            (r#"{"hosts": [{"a": [1]}]}"#, "unexpected value"),
        ] {
            let e = with_file(text, &[]).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = parse(&argv(&["--config-file", "/nonexistent/daemon.json"])).unwrap_err();
        assert!(e.contains("/nonexistent/daemon.json"), "{e}");
    }
}
