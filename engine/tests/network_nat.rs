//! The engine's iptables chains against the real iptables (root only; skipped with a
//! message otherwise). Each test uses chains with a prefix of its own and bridge names
//! that do not exist, never edits a built-in chain beyond our jumps, and tears its
//! chains down in a Drop guard: other tests, ours or other packages', touch iptables at
//! the same time.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use myengined::network::nat::{BridgeRule, Nat, NatError, PortRule, Proto};

static NEXT: AtomicUsize = AtomicUsize::new(0);

const GLOB: &str = "mytbr+";

/// One test's chains, torn down when the test ends, passed or not.
struct Chains {
    nat: Nat,
    prefix: String,
}

impl Drop for Chains {
    fn drop(&mut self) {
        if let Err(e) = self.nat.teardown() {
            eprintln!("tearing down {}: {e}", self.prefix);
        }
    }
}

impl Chains {
    fn forward(&self) -> String {
        format!("{}-FORWARD", self.prefix)
    }
    fn dnat(&self) -> String {
        format!("{}-DNAT", self.prefix)
    }
    fn postrouting(&self) -> String {
        format!("{}-POSTROUTING", self.prefix)
    }
}

/// Chains with a fresh prefix (`MYT<pid>-<n>`, unique across parallel test processes
/// and within one), or `None` when this machine cannot run the test.
fn chains() -> Option<Chains> {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: iptables needs root");
        return None;
    }
    match Command::new("iptables").arg("-V").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!("skipping: no working iptables on PATH (make deps installs it)");
            return None;
        }
    }
    let prefix = format!(
        "MYT{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    Some(Chains {
        nat: Nat::new(&prefix, GLOB),
        prefix,
    })
}

fn ipt(table: &str, args: &[&str]) -> String {
    let out = Command::new("iptables")
        .args(["-w", "-t", table])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "iptables -t {table} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rules of `chain`, each as the options after `-A CHAIN`, in order.
fn rules(table: &str, chain: &str) -> Vec<String> {
    let head = format!("-A {chain} ");
    ipt(table, &["-S", chain])
        .lines()
        .filter_map(|l| l.strip_prefix(&head).map(str::to_owned))
        .collect()
}

fn count(table: &str, chain: &str, spec: &str) -> usize {
    rules(table, chain).iter().filter(|r| *r == spec).count()
}

fn position(rules: &[String], spec: &str) -> usize {
    rules
        .iter()
        .position(|r| r == spec)
        .unwrap_or_else(|| panic!("no rule {spec:?} in {rules:#?}"))
}

fn port(proto: Proto, host_ip: Option<Ipv4Addr>, host_port: u16, last: u8, cport: u16) -> PortRule {
    PortRule {
        proto,
        host_ip,
        host_port,
        container_ip: Ipv4Addr::new(10, 210, 0, last),
        container_port: cport,
        bridge: "mytbr0".into(),
    }
}

fn bridge(name: &str, subnet: &str) -> BridgeRule {
    BridgeRule {
        bridge: name.into(),
        subnet: subnet.into(),
    }
}

/// Whether `iptables-save` (every table) still names one of `prefix`'s chains.
fn traces(prefix: &str) -> Vec<String> {
    let out = Command::new("iptables-save").output().unwrap();
    assert!(out.status.success());
    let ours = format!("{prefix}-");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .any(|w| w.trim_start_matches(':').starts_with(&ours))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn setup_twice_installs_each_chain_and_jump_once() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    c.nat.setup().unwrap();
    let dnat = c.dnat();
    assert_eq!(
        count("filter", "FORWARD", &format!("-j {}", c.forward())),
        1
    );
    assert_eq!(
        count(
            "nat",
            "PREROUTING",
            &format!("-m addrtype --dst-type LOCAL -j {dnat}")
        ),
        1
    );
    assert_eq!(
        count(
            "nat",
            "OUTPUT",
            &format!("! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j {dnat}")
        ),
        1
    );
    assert_eq!(
        count("nat", "POSTROUTING", &format!("-j {}", c.postrouting())),
        1
    );
    for (table, chain) in [
        ("filter", c.forward()),
        ("nat", c.dnat()),
        ("nat", c.postrouting()),
    ] {
        assert!(rules(table, &chain).is_empty(), "{chain} not empty");
    }
    let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(forwarding.trim(), "1");
}

#[test]
fn forward_jump_moves_back_in_front_of_later_inserts() {
    let (Some(a), Some(b)) = (chains(), chains()) else {
        return;
    };
    let jump_a = format!("-j {}", a.forward());
    let jump_b = format!("-j {}", b.forward());
    a.nat.setup().unwrap();
    // b's jump goes to position 1, in front of a's, as a Docker started later would.
    b.nat.setup().unwrap();
    let forward = rules("filter", "FORWARD");
    assert!(position(&forward, &jump_b) < position(&forward, &jump_a));
    // Other tests may insert their own jumps meanwhile, so compare a with b only.
    a.nat.setup().unwrap();
    let forward = rules("filter", "FORWARD");
    assert!(
        position(&forward, &jump_a) < position(&forward, &jump_b),
        "{forward:#?}"
    );
    assert_eq!(forward.iter().filter(|r| **r == jump_a).count(), 1);
    assert_eq!(forward.iter().filter(|r| **r == jump_b).count(), 1);
}

#[test]
fn adding_twice_installs_one_copy_and_listing_gives_back_what_was_added() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    let net = bridge("mytbr0", "10.210.0.0/16");
    let ports = vec![
        port(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), 8080, 2, 80),
        port(Proto::Udp, None, 5353, 3, 53),
        port(Proto::Tcp, None, 2222, 4, 22),
        port(Proto::Udp, Some(Ipv4Addr::new(192, 0, 2, 7)), 6000, 4, 6000),
    ];
    for _ in 0..2 {
        c.nat.add_bridge(&net).unwrap();
        for p in &ports {
            c.nat.add_port(p).unwrap();
        }
    }
    assert_eq!(c.nat.bridge_rules().unwrap(), vec![net.clone()]);
    assert_eq!(c.nat.port_rules().unwrap(), ports);

    assert_eq!(
        rules("nat", &c.postrouting()),
        ["-s 10.210.0.0/16 ! -o mytbr0 -j MASQUERADE"]
    );
    assert_eq!(
        rules("nat", &c.dnat()),
        [
            "-d 127.0.0.1/32 ! -i mytbr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.210.0.2:80",
            "! -i mytbr0 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.210.0.3:53",
            "! -i mytbr0 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.210.0.4:22",
            "-d 192.0.2.7/32 ! -i mytbr0 -p udp -m udp --dport 6000 -j DNAT --to-destination 10.210.0.4:6000",
        ]
    );
    let forward = rules("filter", &c.forward());
    assert_eq!(forward.len(), 4 + 4, "{forward:#?}");
    for spec in [
        "-d 10.210.0.2/32 ! -i mytbr0 -o mytbr0 -p tcp -m tcp --dport 80 -j ACCEPT",
        "-d 10.210.0.3/32 ! -i mytbr0 -o mytbr0 -p udp -m udp --dport 53 -j ACCEPT",
        "-d 10.210.0.4/32 ! -i mytbr0 -o mytbr0 -p tcp -m tcp --dport 22 -j ACCEPT",
        "-d 10.210.0.4/32 ! -i mytbr0 -o mytbr0 -p udp -m udp --dport 6000 -j ACCEPT",
        "-o mytbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-i mytbr0 -o mytbr0 -j ACCEPT",
        "-i mytbr0 -o mytbr+ -j DROP",
        "-i mytbr0 -j ACCEPT",
    ] {
        assert_eq!(forward.iter().filter(|r| *r == spec).count(), 1, "{spec}");
    }

    // A restart's setup keeps what is installed.
    c.nat.setup().unwrap();
    assert_eq!(c.nat.port_rules().unwrap(), ports);
    assert_eq!(c.nat.bridge_rules().unwrap(), vec![net]);
}

#[test]
fn accepts_that_must_beat_a_drop_come_before_every_drop() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    let p0 = port(Proto::Tcp, None, 8080, 2, 80);
    c.nat.add_port(&p0).unwrap();
    c.nat
        .add_bridge(&bridge("mytbr0", "10.210.0.0/16"))
        .unwrap();
    c.nat
        .add_bridge(&bridge("mytbr1", "10.211.0.0/16"))
        .unwrap();
    let p1 = PortRule {
        bridge: "mytbr1".into(),
        container_ip: Ipv4Addr::new(10, 211, 0, 2),
        ..port(Proto::Udp, None, 9090, 0, 90)
    };
    c.nat.add_port(&p1).unwrap();

    let forward = rules("filter", &c.forward());
    let drops: Vec<usize> = ["mytbr0", "mytbr1"]
        .iter()
        .map(|b| position(&forward, &format!("-i {b} -o mytbr+ -j DROP")))
        .collect();
    let first_drop = *drops.iter().min().unwrap();
    for spec in [
        "-d 10.210.0.2/32 ! -i mytbr0 -o mytbr0 -p tcp -m tcp --dport 80 -j ACCEPT",
        "-d 10.211.0.2/32 ! -i mytbr1 -o mytbr1 -p udp -m udp --dport 90 -j ACCEPT",
        "-o mytbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-o mytbr1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-i mytbr0 -o mytbr0 -j ACCEPT",
        "-i mytbr1 -o mytbr1 -j ACCEPT",
    ] {
        assert!(
            position(&forward, spec) < first_drop,
            "{spec}: {forward:#?}"
        );
    }
    for (b, drop) in ["mytbr0", "mytbr1"].iter().zip(drops) {
        assert!(
            drop < position(&forward, &format!("-i {b} -j ACCEPT")),
            "{forward:#?}"
        );
    }
}

#[test]
fn a_deleted_drop_is_restored_in_front_of_the_catch_all_accept() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    let net = bridge("mytbr0", "10.210.0.0/16");
    c.nat.add_bridge(&net).unwrap();
    // Our own chain: deleting one of its rules disturbs nobody else.
    ipt(
        "filter",
        &["-D", &c.forward(), "-i", "mytbr0", "-o", GLOB, "-j", "DROP"],
    );
    c.nat.add_bridge(&net).unwrap();
    let forward = rules("filter", &c.forward());
    assert_eq!(forward.len(), 4, "{forward:#?}");
    assert!(
        position(&forward, "-i mytbr0 -o mytbr+ -j DROP")
            < position(&forward, "-i mytbr0 -j ACCEPT")
    );
}

#[test]
fn removing_what_is_missing_is_fine() {
    let Some(c) = chains() else { return };
    let p = port(Proto::Tcp, None, 8080, 2, 80);
    let net = bridge("mytbr0", "10.210.0.0/16");
    // Before setup: no chains at all.
    c.nat.remove_port(&p).unwrap();
    c.nat.remove_bridge(&net).unwrap();
    assert_eq!(c.nat.port_rules().unwrap(), []);
    assert_eq!(c.nat.bridge_rules().unwrap(), []);
    c.nat.teardown().unwrap();
    // Chains, but not these rules.
    c.nat.setup().unwrap();
    c.nat.remove_port(&p).unwrap();
    c.nat.remove_bridge(&net).unwrap();
    // Removed twice.
    c.nat.add_port(&p).unwrap();
    c.nat.add_bridge(&net).unwrap();
    for _ in 0..2 {
        c.nat.remove_port(&p).unwrap();
        c.nat.remove_bridge(&net).unwrap();
    }
    assert_eq!(c.nat.port_rules().unwrap(), []);
    assert_eq!(c.nat.bridge_rules().unwrap(), []);
    assert!(rules("filter", &c.forward()).is_empty());
}

#[test]
fn remove_takes_exactly_its_own_rules() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    let net0 = bridge("mytbr0", "10.210.0.0/16");
    let net1 = bridge("mytbr1", "10.211.0.0/16");
    c.nat.add_bridge(&net0).unwrap();
    c.nat.add_bridge(&net1).unwrap();
    // Two host ports lead to the same container port: they share one filter ACCEPT.
    let a = port(Proto::Tcp, None, 8080, 2, 80);
    let b = port(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), 8081, 2, 80);
    let other = port(Proto::Udp, None, 8080, 2, 80);
    for p in [&a, &b, &other] {
        c.nat.add_port(p).unwrap();
    }
    let accept = "-d 10.210.0.2/32 ! -i mytbr0 -o mytbr0 -p tcp -m tcp --dport 80 -j ACCEPT";
    assert_eq!(count("filter", &c.forward(), accept), 1);

    c.nat.remove_port(&a).unwrap();
    assert_eq!(c.nat.port_rules().unwrap(), [b.clone(), other.clone()]);
    assert_eq!(
        count("filter", &c.forward(), accept),
        1,
        "still used by {b:?}"
    );
    c.nat.remove_port(&b).unwrap();
    assert_eq!(c.nat.port_rules().unwrap(), [other]);
    assert_eq!(count("filter", &c.forward(), accept), 0);

    c.nat.remove_bridge(&net0).unwrap();
    assert_eq!(c.nat.bridge_rules().unwrap(), [net1]);
    let forward = rules("filter", &c.forward());
    assert_eq!(
        forward,
        [
            "-d 10.210.0.2/32 ! -i mytbr0 -o mytbr0 -p udp -m udp --dport 80 -j ACCEPT",
            "-i mytbr1 -o mytbr1 -j ACCEPT",
            "-o mytbr1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "-i mytbr1 -o mytbr+ -j DROP",
            "-i mytbr1 -j ACCEPT",
        ]
    );
}

#[test]
fn teardown_leaves_no_trace() {
    let Some(c) = chains() else { return };
    c.nat.setup().unwrap();
    c.nat
        .add_bridge(&bridge("mytbr0", "10.210.0.0/16"))
        .unwrap();
    c.nat
        .add_port(&port(Proto::Tcp, None, 8080, 2, 80))
        .unwrap();
    assert!(
        !traces(&c.prefix).is_empty(),
        "the check must see our chains"
    );
    c.nat.teardown().unwrap();
    assert_eq!(traces(&c.prefix), Vec::<String>::new());
    // Already gone: fine, and listing answers empty.
    c.nat.teardown().unwrap();
    assert_eq!(c.nat.port_rules().unwrap(), []);
    assert_eq!(c.nat.bridge_rules().unwrap(), []);
}

#[test]
fn bad_names_are_one_clear_error_before_iptables_runs() {
    // No root needed: nothing reaches iptables.
    let nat = Nat::new("MYT-BAD", GLOB).with_binary("/nonexistent/iptables");
    let bad_bridge = PortRule {
        bridge: "-j ACCEPT".into(),
        ..port(Proto::Tcp, None, 80, 2, 80)
    };
    let e = nat.add_port(&bad_bridge).unwrap_err();
    assert!(matches!(e, NatError::Invalid { .. }), "{e}");
    let e = nat
        .add_bridge(&bridge("mytbr0", "10.210.0.1/16"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid subnet \"10.210.0.1/16\": host bits set; the network is 10.210.0.0/16"
    );
    let e = Nat::new("A-PREFIX-FAR-TOO-LONG", GLOB).setup().unwrap_err();
    assert!(e.to_string().contains("at most 16 characters"), "{e}");
    // A valid request with a missing binary names the command.
    let e = nat.port_rules().unwrap_err().to_string();
    assert!(
        e.starts_with("running /nonexistent/iptables -w -t nat "),
        "{e}"
    );
}

#[test]
fn iptables_errors_carry_the_command_and_its_message() {
    let Some(c) = chains() else { return };
    // No setup: adding to a chain that does not exist fails, and says so.
    let e = c
        .nat
        .add_port(&port(Proto::Tcp, None, 8080, 2, 80))
        .unwrap_err();
    let NatError::Failed { command, stderr } = &e else {
        panic!("{e:?}")
    };
    assert!(
        command.starts_with(&format!("iptables -w -t nat -A {}-DNAT ", c.prefix)),
        "{command}"
    );
    assert!(!stderr.is_empty() && !stderr.contains('\n'), "{stderr:?}");
}
