//! `mycli port`: a container's published ports, from `NetworkSettings.Ports` of its
//! inspect document, printed and sorted the way docker's `port` command does.

use std::collections::BTreeMap;

use clap::Args;
use engine_api::containers::{NetworkSettings, PortBinding};
use serde::Deserialize;

use super::{Ctx, natural_cmp};
use crate::client::path_segment;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// The part of `GET /containers/{id}/json` this command reads; the rest of the document
/// is ignored, so its shape elsewhere cannot break `port`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PortView {
    #[serde(rename = "NetworkSettings")]
    network_settings: NetworkSettings,
}

pub fn port(ctx: &Ctx, args: PortArgs) -> Result<i32> {
    let client = ctx.client()?;
    let view: PortView = client.get_json(&format!(
        "/containers/{}/json",
        path_segment(&args.container)
    ))?;
    let lines = port_lines(
        &view.network_settings.ports,
        args.port.as_deref(),
        &args.container,
    )?;
    if !lines.is_empty() {
        crate::outln!("{}", lines.join("\n"));
    }
    Ok(0)
}

/// The lines docker prints: `80/tcp -> 0.0.0.0:8080` for every binding, or only the
/// host addresses of `wanted` (`80` means `80/tcp`), in natural order.
fn port_lines(
    ports: &BTreeMap<String, Option<Vec<PortBinding>>>,
    wanted: Option<&str>,
    container: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match wanted {
        Some(spec) => {
            let (port, proto) = spec.split_once('/').unwrap_or((spec, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if let Err(e) = go_parse_u16(port) {
                return Err(Error::InvalidArgument(format!(
                    "Error: invalid port ({port}): {e}"
                )));
            }
            let bindings = ports
                .get(&format!("{port}/{proto}"))
                .and_then(Option::as_ref)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "Error: No public port '{spec}' published for {container}"
                    ))
                })?;
            out.extend(bindings.iter().map(host_port));
        }
        None => {
            for (private, bindings) in ports {
                for b in bindings.iter().flatten() {
                    out.push(format!("{private} -> {}", host_port(b)));
                }
            }
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

/// Go's `net.JoinHostPort`: an IPv6 host goes in brackets.
fn host_port(b: &PortBinding) -> String {
    if b.host_ip.contains(':') {
        format!("[{}]:{}", b.host_ip, b.host_port)
    } else {
        format!("{}:{}", b.host_ip, b.host_port)
    }
}

/// Go's `strconv.ParseUint(s, 10, 16)`, with its error text (which docker prints as is).
pub(crate) fn go_parse_u16(s: &str) -> std::result::Result<u16, String> {
    let syntax = || format!("strconv.ParseUint: parsing {s:?}: invalid syntax");
    if s.is_empty() {
        return Err(syntax());
    }
    let mut n: u32 = 0;
    // Go stops at the first problem: an overflow before a bad character is a range error.
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return Err(syntax());
        }
        n = n * 10 + u32::from(c - b'0');
        if n > u32::from(u16::MAX) {
            return Err(format!(
                "strconv.ParseUint: parsing {s:?}: value out of range"
            ));
        }
    }
    Ok(n as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `NetworkSettings` of `docker run -d --network web2 -p 127.0.0.1:8080:80
    /// -p 9000:90/udp -p 10:10 -p 8081:100 -p [::1]:8082:82 -P --expose 7
    /// --expose 53/udp busybox sleep 1000` on dockerd 20.10 (no IPv6, so 82 is unbound).
    const P1: &str = r#"{"Id":"ac59588ea43e","NetworkSettings":{"Bridge":"",
        "SandboxID":"0c6be757cb01","HairpinMode":false,"LinkLocalIPv6Address":"",
        "Ports":{"10/tcp":[{"HostIp":"0.0.0.0","HostPort":"10"}],
        "100/tcp":[{"HostIp":"0.0.0.0","HostPort":"8081"}],
        "53/udp":[{"HostIp":"0.0.0.0","HostPort":"32768"}],
        "7/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"}],
        "80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"82/tcp":null,
        "90/udp":[{"HostIp":"0.0.0.0","HostPort":"9000"}]},
        "SecondaryIPAddresses":null,"Networks":{"web2":{"IPAMConfig":null,"Links":null,
        "Aliases":["ac59588ea43e"],"IPAddress":"10.1.1.2","IPPrefixLen":24}}}}"#;

    fn ports() -> BTreeMap<String, Option<Vec<PortBinding>>> {
        let v: PortView = serde_json::from_str(P1).unwrap();
        v.network_settings.ports
    }

    #[test]
    fn every_binding_in_dockers_order() {
        // What docker 28's `docker port p1` printed for this container.
        assert_eq!(
            port_lines(&ports(), None, "p1").unwrap(),
            [
                "7/tcp -> 0.0.0.0:32768",
                "10/tcp -> 0.0.0.0:10",
                "53/udp -> 0.0.0.0:32768",
                "80/tcp -> 127.0.0.1:8080",
                "90/udp -> 0.0.0.0:9000",
                "100/tcp -> 0.0.0.0:8081",
            ]
        );
    }

    #[test]
    fn one_port_prints_host_addresses() {
        assert_eq!(
            port_lines(&ports(), Some("80"), "p1").unwrap(),
            ["127.0.0.1:8080"]
        );
        assert_eq!(
            port_lines(&ports(), Some("53/udp"), "p1").unwrap(),
            ["0.0.0.0:32768"]
        );
        let mut v6 = BTreeMap::new();
        v6.insert(
            "80/tcp".to_owned(),
            Some(vec![
                PortBinding {
                    host_ip: "::".into(),
                    host_port: "8080".into(),
                },
                PortBinding {
                    host_ip: "0.0.0.0".into(),
                    host_port: "8080".into(),
                },
            ]),
        );
        assert_eq!(
            port_lines(&v6, Some("80/tcp"), "c").unwrap(),
            ["0.0.0.0:8080", "[::]:8080"]
        );
    }

    #[test]
    fn unpublished_and_bad_ports_fail_like_docker() {
        let msg = |spec| {
            port_lines(&ports(), Some(spec), "p1")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(msg("81"), "Error: No public port '81' published for p1");
        // Exposed but not bound.
        assert_eq!(msg("82"), "Error: No public port '82' published for p1");
        assert_eq!(
            msg("80/udp"),
            "Error: No public port '80/udp' published for p1"
        );
        assert_eq!(
            msg("80/tcp/x"),
            "Error: No public port '80/tcp/x' published for p1"
        );
        assert_eq!(
            msg("x"),
            r#"Error: invalid port (x): strconv.ParseUint: parsing "x": invalid syntax"#
        );
        assert_eq!(
            msg("70000"),
            r#"Error: invalid port (70000): strconv.ParseUint: parsing "70000": value out of range"#
        );
    }

    #[test]
    fn no_ports_print_nothing() {
        assert!(port_lines(&BTreeMap::new(), None, "c").unwrap().is_empty());
    }
}
