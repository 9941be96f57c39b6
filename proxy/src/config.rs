//! docker-proxy's command line, parsed with the rules of Go's `flag` package, then
//! checked into a [`ProxyConfig`].
//!
//! Two stages, as docker-proxy fails in two ways: a malformed command line is a usage
//! error (message and usage on stderr, exit 2, nothing on fd 3), while a well-formed
//! but unusable one (unknown protocol, port out of range) is a start-up failure that
//! the parent reads on fd 3 (`1\n<error>`, exit 1).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::error::{Error, FlagError, Result};

/// docker-proxy's conntrack timeout for UDP flows.
pub(crate) const DEFAULT_UDP_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long in-flight TCP connections may take to finish after SIGTERM.
pub(crate) const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Flags),
    /// `-v` / `-version`.
    Version,
    /// `-h` / `-help`: usage on stderr, exit 0 (as Go's flag package does).
    Help,
}

/// The flags as given, before any check beyond their syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    pub(crate) proto: String,
    pub(crate) host_ip: IpAddr,
    pub(crate) host_port: i64,
    pub(crate) container_ip: IpAddr,
    pub(crate) container_port: i64,
    pub(crate) use_listen_fd: bool,
    pub(crate) dual_stack: bool,
    pub(crate) udp_idle_timeout: Duration,
    pub(crate) drain_timeout: Duration,
}

impl Default for Flags {
    /// docker-proxy's defaults.
    fn default() -> Self {
        Flags {
            proto: "tcp".into(),
            host_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            host_port: -1,
            container_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            container_port: -1,
            use_listen_fd: false,
            dual_stack: false,
            udp_idle_timeout: DEFAULT_UDP_IDLE_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// A checked configuration, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub(crate) proto: Proto,
    pub(crate) host_ip: IpAddr,
    pub(crate) host_port: u16,
    pub(crate) container_ip: IpAddr,
    pub(crate) container_port: u16,
    pub(crate) use_listen_fd: bool,
    pub(crate) dual_stack: bool,
    pub(crate) udp_idle_timeout: Duration,
    pub(crate) drain_timeout: Duration,
}

impl TryFrom<Flags> for ProxyConfig {
    type Error = Error;

    fn try_from(flags: Flags) -> Result<Self> {
        let proto = match flags.proto.as_str() {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            other => return Err(Error::UnsupportedProtocol(other.to_string())),
        };
        let port = |value: i64, flag: &'static str| {
            u16::try_from(value).map_err(|_| Error::InvalidPort { flag, value })
        };
        // Port 0 is fine for the host side (the kernel picks one, as with Go's
        // Listen), never for the container side.
        let host_port = if flags.use_listen_fd {
            // The listener comes bound; docker-proxy ignores -host-port then.
            u16::try_from(flags.host_port).unwrap_or(0)
        } else {
            port(flags.host_port, "host-port")?
        };
        let container_port = port(flags.container_port, "container-port")?;
        if container_port == 0 {
            return Err(Error::InvalidPort {
                flag: "container-port",
                value: 0,
            });
        }
        if flags.udp_idle_timeout.is_zero() {
            return Err(Error::ZeroIdleTimeout);
        }
        if flags.dual_stack && !flags.host_ip.is_unspecified() {
            return Err(Error::DualStackNeedsWildcard(flags.host_ip));
        }
        Ok(ProxyConfig {
            proto,
            host_ip: flags.host_ip,
            host_port,
            container_ip: flags.container_ip,
            container_port,
            use_listen_fd: flags.use_listen_fd,
            dual_stack: flags.dual_stack,
            udp_idle_timeout: flags.udp_idle_timeout,
            drain_timeout: flags.drain_timeout,
        })
    }
}

/// The kind of value a flag takes, for parsing and for the usage text.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Ip,
    Text,
    Duration,
}

struct FlagSpec {
    name: &'static str,
    kind: Kind,
    usage: &'static str,
    /// Shown as Go shows non-zero defaults.
    default: Option<&'static str>,
}

/// Sorted by name, as Go prints them.
const FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "container-ip",
        kind: Kind::Ip,
        usage: "container ip",
        default: Some("0.0.0.0"),
    },
    FlagSpec {
        name: "container-port",
        kind: Kind::Int,
        usage: "container port",
        default: Some("-1"),
    },
    FlagSpec {
        name: "drain-timeout",
        kind: Kind::Duration,
        usage: "after SIGTERM, how long open TCP connections may take to finish (myproxy)",
        default: Some("5s"),
    },
    FlagSpec {
        name: "dual-stack",
        kind: Kind::Bool,
        usage: "with -host-ip 0.0.0.0 or ::, serve IPv4 and IPv6 in this one process; with -use-listen-fd the second listener is fd 5 (myproxy)",
        default: None,
    },
    FlagSpec {
        name: "host-ip",
        kind: Kind::Ip,
        usage: "host ip",
        default: Some("0.0.0.0"),
    },
    FlagSpec {
        name: "host-port",
        kind: Kind::Int,
        usage: "host port",
        default: Some("-1"),
    },
    FlagSpec {
        name: "proto",
        kind: Kind::Text,
        usage: "proxy protocol",
        default: Some("tcp"),
    },
    FlagSpec {
        name: "udp-idle-timeout",
        kind: Kind::Duration,
        usage: "forget a UDP client after this long without traffic (myproxy)",
        default: Some("1m30s"),
    },
    FlagSpec {
        name: "use-listen-fd",
        kind: Kind::Bool,
        usage: "use a supplied listen fd",
        default: None,
    },
    FlagSpec {
        name: "v",
        kind: Kind::Bool,
        usage: "print version information and quit",
        default: None,
    },
    FlagSpec {
        name: "version",
        kind: Kind::Bool,
        usage: "print version information and quit",
        default: None,
    },
];

/// Parses `args` (without the program name) the way Go's `flag.Parse` does: `-name`
/// or `--name`, the value as `-name=value` or (except for booleans) as the next
/// word, parsing stops at `--` or at the first word that is not a flag.
/// Like docker-proxy, arguments left after the flags are ignored.
pub fn parse(args: &[String]) -> std::result::Result<Command, FlagError> {
    let mut flags = Flags::default();
    let mut version = false;
    let mut rest = args.iter();
    while let Some(word) = rest.next() {
        let Some(body) = word.strip_prefix('-') else {
            break;
        };
        if body.is_empty() {
            break; // "-" alone is an argument
        }
        let body = match body.strip_prefix('-') {
            Some("") => break, // "--" ends the flags
            Some(long) => long,
            None => body,
        };
        if body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::BadSyntax(word.clone()));
        }
        let (name, inline_value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        if name == "h" || name == "help" {
            return Ok(Command::Help);
        }
        let spec = FLAGS
            .iter()
            .find(|spec| spec.name == name)
            .ok_or_else(|| FlagError::Undefined(name.to_string()))?;

        let value = match (spec.kind, inline_value) {
            (Kind::Bool, Some(value)) => value,
            (Kind::Bool, None) => "true",
            (_, Some(value)) => value,
            (_, None) => rest
                .next()
                .ok_or_else(|| FlagError::MissingValue(name.to_string()))?,
        };
        let invalid = |reason: String| FlagError::InvalidValue {
            value: value.to_string(),
            flag: name.to_string(),
            reason,
        };

        match name {
            "proto" => flags.proto = value.to_string(),
            "host-ip" => flags.host_ip = parse_ip(value).map_err(invalid)?,
            "container-ip" => flags.container_ip = parse_ip(value).map_err(invalid)?,
            "host-port" => flags.host_port = parse_int(value).map_err(invalid)?,
            "container-port" => flags.container_port = parse_int(value).map_err(invalid)?,
            "use-listen-fd" => flags.use_listen_fd = parse_bool(value).map_err(invalid)?,
            "dual-stack" => flags.dual_stack = parse_bool(value).map_err(invalid)?,
            "udp-idle-timeout" => {
                flags.udp_idle_timeout = parse_duration(value).map_err(invalid)?
            }
            "drain-timeout" => flags.drain_timeout = parse_duration(value).map_err(invalid)?,
            "v" | "version" => version |= parse_bool(value).map_err(invalid)?,
            _ => unreachable!("every name in FLAGS is handled above"),
        }
    }
    Ok(if version {
        Command::Version
    } else {
        Command::Run(flags)
    })
}

/// Go's `flag` usage text: `Usage of NAME:` then one entry per flag.
pub fn usage(name: &str) -> String {
    let mut text = format!("Usage of {name}:\n");
    for spec in FLAGS {
        let kind = match spec.kind {
            Kind::Bool => "",
            Kind::Int => " int",
            Kind::Ip => " value",
            Kind::Text => " string",
            Kind::Duration => " duration",
        };
        let _ = write!(text, "  -{}{kind}\n    \t{}", spec.name, spec.usage);
        match (spec.kind, spec.default) {
            (Kind::Text, Some(default)) => {
                let _ = write!(text, " (default {default:?})");
            }
            (_, Some(default)) => {
                let _ = write!(text, " (default {default})");
            }
            (_, None) => {}
        }
        text.push('\n');
    }
    text
}

/// strconv.ParseBool.
fn parse_bool(value: &str) -> std::result::Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("parse error".into()),
    }
}

/// strconv.ParseInt(value, 0, 64): optional sign, then decimal, `0x` hex, `0o` or
/// leading-`0` octal, `0b` binary; `_` allowed between digits.
fn parse_int(value: &str) -> std::result::Result<i64, String> {
    let (negative, unsigned) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = lower.strip_prefix("0o") {
        (8, octal)
    } else if let Some(binary) = lower.strip_prefix("0b") {
        (2, binary)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let underscores_ok =
        !digits.starts_with('_') && !digits.ends_with('_') && !digits.contains("__");
    if digits.is_empty() || !underscores_ok {
        return Err("parse error".into());
    }
    let digits = digits.replace('_', "");
    let magnitude = u64::from_str_radix(&digits, radix).map_err(|_| "parse error".to_string())?;
    let out_of_range = || "value out of range".to_string();
    if negative {
        0i64.checked_sub_unsigned(magnitude)
            .ok_or_else(out_of_range)
    } else {
        i64::try_from(magnitude).map_err(|_| out_of_range())
    }
}

/// net.IP's text form; an IPv4-mapped IPv6 address counts as IPv4, as Go's To4 does.
fn parse_ip(value: &str) -> std::result::Result<IpAddr, String> {
    let ip: IpAddr = value
        .parse()
        .map_err(|_| format!("invalid IP address: {value}"))?;
    Ok(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// time.ParseDuration: `90s`, `1m30s`, `1.5h`, `300ms`, `0`; units ns us µs ms s m h.
fn parse_duration(value: &str) -> std::result::Result<Duration, String> {
    let invalid = || format!("time: invalid duration {value:?}");
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    let text = value.strip_prefix('+').unwrap_or(value);
    if text.starts_with('-') {
        return Err("negative duration".into());
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {value:?}"))?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("time: unknown unit {unit:?} in duration {value:?}")),
        };
        total_nanos += number * nanos_per_unit;
        rest = &rest[unit_end..];
    }
    if total_nanos > i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn run(words: &[&str]) -> Flags {
        let args: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        match parse(&args) {
            Ok(Command::Run(flags)) => flags,
            other => panic!("{words:?} parsed to {other:?}"),
        }
    }

    fn error(words: &[&str]) -> FlagError {
        let args: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        parse(&args).expect_err("should fail")
    }

    #[test]
    fn defaults_are_docker_proxys() {
        let flags = run(&[]);
        assert_eq!(flags, Flags::default());
        assert_eq!(flags.proto, "tcp");
        assert_eq!(flags.host_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!((flags.host_port, flags.container_port), (-1, -1));
        assert_eq!(flags.udp_idle_timeout, Duration::from_secs(90));
        assert!(!flags.use_listen_fd && !flags.dual_stack);
    }

    #[test]
    fn the_way_dockerd_calls_it() {
        let flags = run(&[
            "-proto",
            "udp",
            "-host-ip",
            "::",
            "-host-port",
            "8080",
            "-container-ip",
            "172.18.0.2",
            "-container-port",
            "80",
            "-use-listen-fd",
        ]);
        assert_eq!(flags.proto, "udp");
        assert_eq!(flags.host_ip, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(flags.host_port, 8080);
        assert_eq!(flags.container_ip, "172.18.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(flags.container_port, 80);
        assert!(flags.use_listen_fd);
    }

    #[test]
    fn double_dash_and_equals_forms() {
        let flags = run(&[
            "--proto=udp",
            "--host-port=0x50",
            "-container-port=010",
            "-dual-stack=true",
        ]);
        assert_eq!(flags.proto, "udp");
        assert_eq!(flags.host_port, 80);
        assert_eq!(flags.container_port, 8, "Go reads a leading 0 as octal");
        assert!(flags.dual_stack);
    }

    #[test]
    fn bool_flags_take_no_separate_value() {
        // Go: "-use-listen-fd false" sets true and stops at the argument "false".
        let flags = run(&["-use-listen-fd", "false", "-host-port", "1"]);
        assert!(flags.use_listen_fd);
        assert_eq!(flags.host_port, -1, "parsing stopped at the argument");
        assert!(!run(&["-use-listen-fd=false"]).use_listen_fd);
        assert!(run(&["-use-listen-fd=T"]).use_listen_fd);
    }

    #[test]
    fn parsing_stops_at_terminator_or_argument() {
        assert_eq!(run(&["--", "-host-port", "1"]).host_port, -1);
        assert_eq!(run(&["x", "-host-port", "1"]).host_port, -1);
        assert_eq!(run(&["-", "-host-port", "1"]).host_port, -1);
    }

    #[test]
    fn later_flags_override_earlier_ones() {
        assert_eq!(run(&["-host-port", "1", "-host-port", "2"]).host_port, 2);
    }

    #[test]
    fn version_and_help() {
        let args = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse(&args(&["-v"])).unwrap(), Command::Version);
        assert_eq!(parse(&args(&["--version"])).unwrap(), Command::Version);
        assert_eq!(
            parse(&args(&["-v=false"])).unwrap(),
            Command::Run(Flags::default())
        );
        assert_eq!(parse(&args(&["-h"])).unwrap(), Command::Help);
        assert_eq!(parse(&args(&["-help", "-nope"])).unwrap(), Command::Help);
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(
            error(&["-nope"]).to_string(),
            "flag provided but not defined: -nope"
        );
        assert_eq!(
            error(&["-host-port"]).to_string(),
            "flag needs an argument: -host-port"
        );
        assert_eq!(
            error(&["-host-port", "eighty"]).to_string(),
            "invalid value \"eighty\" for flag -host-port: parse error"
        );
        assert_eq!(
            error(&["-host-ip", "1.2.3"]).to_string(),
            "invalid value \"1.2.3\" for flag -host-ip: invalid IP address: 1.2.3"
        );
        assert_eq!(error(&["---x"]).to_string(), "bad flag syntax: ---x");
        assert_eq!(error(&["-=x"]).to_string(), "bad flag syntax: -=x");
        assert!(matches!(
            error(&["-use-listen-fd=maybe"]),
            FlagError::InvalidValue { .. }
        ));
    }

    #[test]
    fn ints_like_strconv() {
        assert_eq!(parse_int("80"), Ok(80));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("+8"), Ok(8));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            "",
            "-",
            "0x",
            "1_",
            "_1",
            "1__0",
            "08",
            "1.5",
            " 1",
            "9223372036854775808",
        ] {
            assert!(parse_int(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ipv4_mapped_counts_as_ipv4() {
        assert_eq!(
            parse_ip("::ffff:127.0.0.1"),
            Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(parse_ip("::1"), Ok(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(parse_ip("").is_err());
        assert!(parse_ip("localhost").is_err());
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "90", "1x", "-1s", "s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checks_turn_flags_into_a_config() {
        let flags = Flags {
            host_port: 8080,
            container_port: 80,
            container_ip: "10.0.0.2".parse().unwrap(),
            ..Flags::default()
        };
        let config = ProxyConfig::try_from(flags.clone()).unwrap();
        assert_eq!(
            (config.proto, config.host_port, config.container_port),
            (Proto::Tcp, 8080, 80)
        );

        let err = |f: Flags| ProxyConfig::try_from(f).unwrap_err().to_string();
        assert_eq!(
            err(Flags {
                proto: "sctp".into(),
                ..flags.clone()
            }),
            "unsupported protocol sctp"
        );
        assert_eq!(
            err(Flags {
                host_port: 65536,
                ..flags.clone()
            }),
            "invalid -host-port 65536: not a port number"
        );
        assert_eq!(
            err(Flags {
                container_port: -1,
                ..flags.clone()
            }),
            "invalid -container-port -1: not a port number"
        );
        assert_eq!(
            err(Flags {
                container_port: 0,
                ..flags.clone()
            }),
            "invalid -container-port 0: not a port number"
        );
        assert!(
            err(Flags {
                dual_stack: true,
                host_ip: "127.0.0.1".parse().unwrap(),
                ..flags.clone()
            })
            .contains("-dual-stack")
        );
        assert!(
            ProxyConfig::try_from(Flags {
                dual_stack: true,
                host_ip: "::".parse().unwrap(),
                ..flags.clone()
            })
            .is_ok()
        );
        // The listener comes from fd 4: -host-port does not matter.
        assert!(
            ProxyConfig::try_from(Flags {
                use_listen_fd: true,
                host_port: -1,
                ..flags
            })
            .is_ok()
        );
    }

    #[test]
    fn usage_lists_every_flag() {
        let text = usage("myproxy");
        assert!(text.starts_with("Usage of myproxy:\n"));
        for spec in FLAGS {
            assert!(text.contains(&format!("  -{}", spec.name)), "{}", spec.name);
        }
        assert!(text.contains("-proto string\n    \tproxy protocol (default \"tcp\")"));
    }
}
