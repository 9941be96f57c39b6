//! Device access rules (`linux.resources.devices`), with the defaults every container gets.

use crate::spec::{Device, DeviceRule};

/// Devices every container may use, appended after the spec's own rules as runc does,
/// so a spec that starts with "deny all" still has a working /dev.
fn defaults() -> Vec<DeviceRule> {
    let rule = |typ: &str, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        typ: Some(typ.into()),
        major,
        minor,
        access: Some(access.into()),
    };
    vec![
        // mknod of any device; using one still needs its own rule.
        rule("c", None, None, "m"),
        rule("b", None, None, "m"),
        rule("c", Some(1), Some(3), "rwm"), // /dev/null
        rule("c", Some(1), Some(8), "rwm"), // /dev/random
        rule("c", Some(1), Some(7), "rwm"), // /dev/full
        rule("c", Some(5), Some(0), "rwm"), // /dev/tty
        rule("c", Some(1), Some(5), "rwm"), // /dev/zero
        rule("c", Some(1), Some(9), "rwm"), // /dev/urandom
        rule("c", Some(136), None, "rwm"),  // /dev/pts/*
        rule("c", Some(5), Some(2), "rwm"), // /dev/ptmx
        rule("c", Some(5), Some(1), "rwm"), // /dev/console
    ]
}

/// The full ordered rule list for a container: spec rules, then the spec's device
/// nodes, then the defaults.
pub fn effective_rules(spec_rules: &[DeviceRule], nodes: &[Device]) -> Vec<DeviceRule> {
    let mut rules = spec_rules.to_vec();
    for d in nodes {
        if d.typ == "p" {
            continue;
        }
        rules.push(DeviceRule {
            allow: true,
            typ: Some(if d.typ == "u" {
                "c".into()
            } else {
                d.typ.clone()
            }),
            major: Some(d.major),
            minor: Some(d.minor),
            access: Some("rwm".into()),
        });
    }
    rules.extend(defaults());
    rules
}

/// Renders a rule as the v1 devices controller wants it: `c 1:3 rwm`, `a *:* rwm`.
pub fn v1_line(rule: &DeviceRule) -> String {
    let typ = rule.typ.as_deref().unwrap_or("a");
    let num = |n: Option<i64>| match n {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".into(),
    };
    let access = rule.access.as_deref().unwrap_or("rwm");
    if typ == "a" {
        return format!("a *:* {access}");
    }
    format!("{typ} {}:{} {access}", num(rule.major), num(rule.minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_v1_lines() {
        let deny_all = DeviceRule {
            allow: false,
            access: Some("rwm".into()),
            ..DeviceRule::default()
        };
        assert_eq!(v1_line(&deny_all), "a *:* rwm");
        let rules = effective_rules(
            &[deny_all],
            &[Device {
                typ: "c".into(),
                path: "/dev/fuse".into(),
                major: 10,
                minor: 229,
                file_mode: None,
                uid: None,
                gid: None,
            }],
        );
        assert!(!rules[0].allow);
        assert_eq!(v1_line(&rules[1]), "c 10:229 rwm");
        assert!(rules.iter().any(|r| v1_line(r) == "c 136:* rwm"));
        assert!(rules.iter().any(|r| v1_line(r) == "c *:* m"));
    }
}
