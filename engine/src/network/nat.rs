//! The engine's packet filter: its own iptables chains for forwarding between our
//! bridges and the world, outbound masquerade, and published-port DNAT.
//!
//! We drive Debian's `iptables` binary (nft backend) with `std::process::Command`, as
//! dockerd does, and keep every rule in chains of our own, named after a prefix:
//!
//! | table  | chain            | entered from                                             |
//! |--------|------------------|----------------------------------------------------------|
//! | filter | `<P>-FORWARD`    | `FORWARD`, always as its first rule                      |
//! | nat    | `<P>-DNAT`       | `PREROUTING` and `OUTPUT` for local destination addresses |
//! | nat    | `<P>-POSTROUTING`| `POSTROUTING`                                            |
//!
//! The jumps are the only edits we ever make to built-in chains, and we never touch
//! Docker's chains or any rule we did not write, so a real Docker can run beside us.
//!
//! The nat rules are the record of what is installed: a port's DNAT rule and a bridge's
//! MASQUERADE rule are added before, and removed after, their filter rules. An engine
//! that crashes half-way therefore leaves a nat rule that [`Nat::port_rules`] or
//! [`Nat::bridge_rules`] reports at the next start, and removing (or re-adding) it
//! completes the job.
//!
//! Every method runs iptables synchronously (call it from `spawn_blocking` in async
//! code). Calls on one prefix must not race each other (the engine's network manager
//! serialises them); different prefixes are independent.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

/// Where the kernel's IPv4 forwarding switch lives: containers behind a bridge reach
/// nothing without it.
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// The longest chain name iptables accepts (`XT_EXTENSION_MAXNAMELEN` minus the NUL).
const MAX_CHAIN_NAME: usize = 28;

/// The longest suffix we append to the prefix: the prefix must leave room for it.
const LONGEST_SUFFIX: &str = "-POSTROUTING";

/// The longest interface name the kernel accepts (`IFNAMSIZ` minus the NUL).
const MAX_IFNAME: usize = 15;

/// Something iptables (or the kernel) refused, with what we asked.
#[derive(Debug, thiserror::Error)]
pub enum NatError {
    /// iptables ran and failed; `stderr` is its message on one line.
    #[error("{command}: {stderr}")]
    Failed { command: String, stderr: String },
    /// The iptables binary could not be started (not installed, not on PATH).
    #[error("running {command}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// IPv4 forwarding could not be switched on.
    #[error("enabling IPv4 forwarding ({IP_FORWARD}): {0}")]
    IpForward(#[source] std::io::Error),
    /// A name or address that would make a wrong or unparsable rule; caught before
    /// iptables sees it.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
}

/// This module's result.
pub type Result<T, E = NatError> = std::result::Result<T, E>;

/// A published port's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// The name iptables (and Docker's `80/tcp` port keys) use.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = NatError;

    fn from_str(s: &str) -> Result<Proto> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            _ => Err(invalid("protocol", s, "expected tcp or udp")),
        }
    }
}

/// One published port: traffic to `host_ip:host_port` (any local address when `None`)
/// goes to `container_ip:container_port` behind `bridge`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortRule {
    pub proto: Proto,
    /// `None`: every address of the host.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    /// The bridge the container sits behind.
    pub bridge: String,
}

/// One of our networks: a bridge and the subnet its containers' addresses come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BridgeRule {
    pub bridge: String,
    /// In CIDR form with the host bits clear, e.g. `10.210.0.0/16`: the form iptables
    /// stores and lists back, so what we add is what [`Nat::bridge_rules`] returns.
    pub subnet: String,
}

/// The iptables tables we use.
#[derive(Debug, Clone, Copy)]
enum Table {
    Filter,
    Nat,
}

impl Table {
    fn as_str(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
        }
    }
}

/// The engine's iptables chains, named after one prefix.
#[derive(Debug, Clone)]
pub struct Nat {
    /// Names our chains (`<prefix>-FORWARD`, ...), so that two engines, or tests, with
    /// different prefixes never see each other's rules.
    prefix: String,
    /// An iptables interface wildcard (`mybr+`) matching every bridge of ours: the
    /// isolation rules drop traffic from one of our networks to another.
    bridge_glob: String,
    /// The iptables binary; `<binary>-restore` is used for the one atomic edit.
    binary: PathBuf,
}

impl Nat {
    /// Chains named `<chain_prefix>-...` for bridges matching `bridge_glob`, driven by
    /// `iptables` from PATH. Names are checked by each call (a bad one is an error
    /// there), so that building a `Nat` cannot fail.
    pub fn new(chain_prefix: &str, bridge_glob: &str) -> Nat {
        Nat {
            prefix: chain_prefix.to_owned(),
            bridge_glob: bridge_glob.to_owned(),
            binary: PathBuf::from("iptables"),
        }
    }

    /// Use another iptables binary (`iptables-legacy`, a full path). Its `-restore`
    /// sibling (`<binary>-restore`) must exist too: Debian ships them in pairs.
    pub fn with_binary(mut self, binary: impl Into<PathBuf>) -> Nat {
        self.binary = binary.into();
        self
    }

    /// Idempotent: net.ipv4.ip_forward=1 (write /proc/sys/net/ipv4/ip_forward), chains
    /// filter `<P>-FORWARD` (jump inserted at FORWARD position 1 if absent),
    /// nat `<P>-DNAT` (jumps: PREROUTING `-m addrtype --dst-type LOCAL -j <P>-DNAT`;
    /// OUTPUT `! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j <P>-DNAT`),
    /// nat `<P>-POSTROUTING` (jump from POSTROUTING). Existing chains and rules are kept:
    /// an engine restart keeps its running containers' rules.
    ///
    /// The FORWARD jump must be the first rule: a Docker beside us sets FORWARD's policy
    /// to DROP and, when it (re)starts after us, inserts its own jumps at the top, where
    /// they would drop our containers' traffic before our accepts see it. So a jump found
    /// lower down is moved back to position 1, in one iptables-restore transaction so
    /// that no packet ever sees FORWARD without it.
    ///
    /// OUTPUT excludes 127.0.0.0/8: loopback connections to a published port are served
    /// by the userland proxy, as with Docker's userland proxy.
    pub fn setup(&self) -> Result<()> {
        self.validate()?;
        enable_ip_forward()?;
        self.ensure_chain(Table::Filter, &self.forward_chain())?;
        self.ensure_chain(Table::Nat, &self.dnat_chain())?;
        self.ensure_chain(Table::Nat, &self.postrouting_chain())?;
        self.ensure_forward_jump_first()?;
        for (table, chain, spec) in self.nat_jumps() {
            if !self.check(table, chain, &spec)? {
                self.edit(table, "-A", chain, &spec)?;
            }
        }
        Ok(())
    }

    /// Removes our jumps and chains entirely, with every rule in them (tests; a full
    /// clean-up). What is already gone is fine. IPv4 forwarding stays on: other things on
    /// the host (a Docker) may rely on it.
    pub fn teardown(&self) -> Result<()> {
        self.validate()?;
        let mut ours = Vec::new();
        for (table, chain) in [
            (Table::Filter, self.forward_chain()),
            (Table::Nat, self.dnat_chain()),
            (Table::Nat, self.postrouting_chain()),
        ] {
            if self.chain_exists(table, &chain)? {
                ours.push((table, chain));
            }
        }
        let mut jumps = vec![(Table::Filter, "FORWARD", self.forward_jump())];
        jumps.extend(self.nat_jumps());
        for (table, chain, spec) in jumps {
            // No jump can lead to a chain that is gone, and `-C` naming a missing target
            // is an error rather than "no such rule".
            let target = spec.last().map(String::as_str);
            if !ours.iter().any(|(_, c)| Some(c.as_str()) == target) {
                continue;
            }
            // `-D` removes one copy; a hand-edited FORWARD may hold several. The bound
            // only guards against an iptables that claims success without deleting.
            for _ in 0..64 {
                if !self.check(table, chain, &spec)? {
                    break;
                }
                self.edit(table, "-D", chain, &spec)?;
            }
        }
        for (table, chain) in ours {
            self.run(table, &["-F", &chain])?;
            self.run(table, &["-X", &chain])?;
        }
        Ok(())
    }

    /// Idempotent (each rule checked with `-C` before it is added). In filter
    /// `<P>-FORWARD`:
    /// - `-o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` (replies) and
    ///   `-i BR -o BR -j ACCEPT` (within the network) are inserted at the top;
    /// - `-i BR -o <glob> -j DROP` (isolation between our networks) then
    ///   `-i BR -j ACCEPT` (out to anywhere else) are appended.
    ///
    /// and in nat `<P>-POSTROUTING`: `-s SUBNET ! -o BR -j MASQUERADE`.
    ///
    /// Why this order: the glob matches BR itself, so BR's own ACCEPT must precede its
    /// DROP, and the catch-all `-i BR` ACCEPT must follow it. Replies must pass every
    /// DROP: a container on another network that reached a published port here (through
    /// the host's address) gets its answers from BR to its own bridge, which that
    /// bridge's DROP would otherwise catch; published ports' ACCEPTs sit at the top for
    /// the same reason. So rules that must beat a DROP are inserted at the top and the
    /// DROP / catch-all pair is appended: rules of different bridges never disagree about
    /// a packet otherwise, as they name different input interfaces.
    pub fn add_bridge(&self, r: &BridgeRule) -> Result<()> {
        self.validate()?;
        validate_bridge(&r.bridge)?;
        validate_subnet(&r.subnet)?;
        let masquerade = masquerade_spec(r);
        let post = self.postrouting_chain();
        // The record first (see the module's doc).
        if !self.check(Table::Nat, &post, &masquerade)? {
            self.edit(Table::Nat, "-A", &post, &masquerade)?;
        }
        let fwd = self.forward_chain();
        for spec in [reply_spec(&r.bridge), intra_spec(&r.bridge)] {
            self.insert_first_if_absent(&fwd, &spec)?;
        }
        let drop = self.isolation_spec(&r.bridge);
        let out = outbound_spec(&r.bridge);
        let has_drop = self.check(Table::Filter, &fwd, &drop)?;
        let has_out = self.check(Table::Filter, &fwd, &out)?;
        if !has_drop {
            // A catch-all ACCEPT without the DROP before it (someone deleted the DROP)
            // would let this network reach the others: rebuild the pair in order.
            if has_out {
                self.edit(Table::Filter, "-D", &fwd, &out)?;
            }
            self.edit(Table::Filter, "-A", &fwd, &drop)?;
            self.edit(Table::Filter, "-A", &fwd, &out)?;
        } else if !has_out {
            self.edit(Table::Filter, "-A", &fwd, &out)?;
        }
        Ok(())
    }

    /// Removes what [`Nat::add_bridge`] added; rules already gone (or never added) are
    /// fine. The filter rules name only the bridge, so they stay while another
    /// [`BridgeRule`] for the same bridge (another subnet) is still installed.
    pub fn remove_bridge(&self, r: &BridgeRule) -> Result<()> {
        self.validate()?;
        validate_bridge(&r.bridge)?;
        validate_subnet(&r.subnet)?;
        let shared = self
            .bridge_rules()?
            .iter()
            .any(|other| other.bridge == r.bridge && other != r);
        if !shared {
            let fwd = self.forward_chain();
            // Most permissive first, so that no moment is more open than before or after.
            for spec in [
                outbound_spec(&r.bridge),
                self.isolation_spec(&r.bridge),
                intra_spec(&r.bridge),
                reply_spec(&r.bridge),
            ] {
                self.delete_if_present(Table::Filter, &fwd, &spec)?;
            }
        }
        // The record last (see the module's doc).
        self.delete_if_present(Table::Nat, &self.postrouting_chain(), &masquerade_spec(r))
    }

    /// Idempotent. nat `<P>-DNAT`:
    /// `[-d HOSTIP/32] ! -i BR -p PROTO -m PROTO --dport HP -j DNAT --to-destination CIP:CP`;
    /// filter `<P>-FORWARD`: `-d CIP/32 ! -i BR -o BR -p PROTO -m PROTO --dport CP -j ACCEPT`,
    /// inserted at the top, before every bridge's DROP.
    ///
    /// `! -i BR`: a container reaching its own network's published port through the host
    /// (hairpin) is served by the userland proxy, as with Docker's userland proxy.
    ///
    /// Above the DROPs, the ACCEPT lets containers of our other networks use the port
    /// through the host's address: a published port is open to everyone who can reach
    /// the host, so isolation has nothing left to protect there (and it also lets them
    /// reach `CIP:CP` directly, which gives them nothing the host address does not).
    pub fn add_port(&self, r: &PortRule) -> Result<()> {
        self.validate()?;
        validate_port(r)?;
        let dnat = dnat_spec(r);
        let dnat_chain = self.dnat_chain();
        // The record first (see the module's doc).
        if !self.check(Table::Nat, &dnat_chain, &dnat)? {
            self.edit(Table::Nat, "-A", &dnat_chain, &dnat)?;
        }
        self.insert_first_if_absent(&self.forward_chain(), &port_accept_spec(r))
    }

    /// Removes what [`Nat::add_port`] added; rules already gone are fine. The filter
    /// ACCEPT names only the container's side, so it stays while another published port
    /// (another host port or address) still leads to the same container port.
    pub fn remove_port(&self, r: &PortRule) -> Result<()> {
        self.validate()?;
        validate_port(r)?;
        let shared = self.port_rules()?.iter().any(|other| {
            other != r
                && other.proto == r.proto
                && other.container_ip == r.container_ip
                && other.container_port == r.container_port
                && other.bridge == r.bridge
        });
        if !shared {
            self.delete_if_present(Table::Filter, &self.forward_chain(), &port_accept_spec(r))?;
        }
        // The record last (see the module's doc).
        self.delete_if_present(Table::Nat, &self.dnat_chain(), &dnat_spec(r))
    }

    /// The published ports installed now, read back from `iptables -t nat -S <P>-DNAT`,
    /// so that at start the engine removes those of containers that no longer exist.
    /// No chain (never set up): an empty list. Rules of a shape we never write (someone
    /// else's, in our chain) are left out, with a warning.
    pub fn port_rules(&self) -> Result<Vec<PortRule>> {
        self.validate()?;
        let chain = self.dnat_chain();
        let Some(listing) = self.list_chain(Table::Nat, &chain)? else {
            return Ok(Vec::new());
        };
        Ok(parse_rules(&listing, &chain, parse_port_rule))
    }

    /// The networks installed now, read back from `iptables -t nat -S <P>-POSTROUTING`
    /// (the MASQUERADE rules carry both bridge and subnet; the filter rules only the
    /// bridge), so that at start the engine removes those of networks that no longer
    /// exist. No chain: an empty list.
    pub fn bridge_rules(&self) -> Result<Vec<BridgeRule>> {
        self.validate()?;
        let chain = self.postrouting_chain();
        let Some(listing) = self.list_chain(Table::Nat, &chain)? else {
            return Ok(Vec::new());
        };
        Ok(parse_rules(&listing, &chain, parse_bridge_rule))
    }

    fn forward_chain(&self) -> String {
        format!("{}-FORWARD", self.prefix)
    }

    fn dnat_chain(&self) -> String {
        format!("{}-DNAT", self.prefix)
    }

    fn postrouting_chain(&self) -> String {
        format!("{}-POSTROUTING", self.prefix)
    }

    fn forward_jump(&self) -> Vec<String> {
        args(&["-j", &self.forward_chain()])
    }

    /// The jumps into our nat chains, each appended to its built-in chain; the target
    /// is each spec's last word.
    fn nat_jumps(&self) -> Vec<(Table, &'static str, Vec<String>)> {
        let dnat = self.dnat_chain();
        vec![
            (
                Table::Nat,
                "PREROUTING",
                args(&["-m", "addrtype", "--dst-type", "LOCAL", "-j", &dnat]),
            ),
            (
                Table::Nat,
                "OUTPUT",
                args(&[
                    "!",
                    "-d",
                    "127.0.0.0/8",
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    "-j",
                    &dnat,
                ]),
            ),
            (
                Table::Nat,
                "POSTROUTING",
                args(&["-j", &self.postrouting_chain()]),
            ),
        ]
    }

    fn isolation_spec(&self, bridge: &str) -> Vec<String> {
        args(&["-i", bridge, "-o", &self.bridge_glob, "-j", "DROP"])
    }

    /// Names that would make other chains than ours, or rules iptables reads
    /// differently from what we meant, are refused before any command runs.
    fn validate(&self) -> Result<()> {
        let p = &self.prefix;
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "chain prefix",
                p,
                "use letters, digits, '-' and '_'",
            ));
        }
        if p.len() + LONGEST_SUFFIX.len() > MAX_CHAIN_NAME {
            return Err(invalid(
                "chain prefix",
                p,
                format!(
                    "at most {} characters (iptables chain names are at most {MAX_CHAIN_NAME})",
                    MAX_CHAIN_NAME - LONGEST_SUFFIX.len()
                ),
            ));
        }
        if p.to_ascii_uppercase().starts_with("DOCKER") {
            return Err(invalid(
                "chain prefix",
                p,
                "chains named DOCKER* belong to Docker",
            ));
        }
        let stem = self
            .bridge_glob
            .strip_suffix('+')
            .unwrap_or(&self.bridge_glob);
        // A bare `+` would match every interface: the isolation DROP would cut our
        // networks off from the world.
        check_ifname("bridge glob", &self.bridge_glob, stem)
    }

    /// Creates `chain` unless it exists. Listing first rather than reading `-N`'s error
    /// text: the nft backend's messages are not stable enough to match.
    fn ensure_chain(&self, table: Table, chain: &str) -> Result<()> {
        if self.chain_exists(table, chain)? {
            return Ok(());
        }
        match self.run(table, &["-N", chain]) {
            Ok(_) => Ok(()),
            // Created meanwhile by another engine start with the same prefix.
            Err(e) if self.chain_exists(table, chain)? => {
                tracing::debug!(chain, error = %e, "chain appeared while creating it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Puts exactly one jump to our chain at FORWARD's position 1 (see [`Nat::setup`]).
    fn ensure_forward_jump_first(&self) -> Result<()> {
        let listing = self.run(Table::Filter, &["-S", "FORWARD"])?;
        let ours = format!("-A FORWARD -j {}", self.forward_chain());
        let rules: Vec<&str> = listing
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("-A FORWARD "))
            .collect();
        let copies = rules.iter().filter(|l| **l == ours).count();
        if copies == 1 && rules.first() == Some(&ours.as_str()) {
            return Ok(());
        }
        if copies == 0 {
            return self.edit(Table::Filter, "-I", "FORWARD", &self.forward_jump());
        }
        // Delete every copy (each `-D` takes the first) and insert one at the top, in one
        // transaction: FORWARD is never without our jump.
        let mut script = String::from("*filter\n");
        for _ in 0..copies {
            script.push_str(&format!("-D FORWARD -j {}\n", self.forward_chain()));
        }
        script.push_str(&format!(
            "-I FORWARD 1 -j {}\nCOMMIT\n",
            self.forward_chain()
        ));
        tracing::info!(
            chain = %self.forward_chain(),
            "moving our FORWARD jump back to position 1"
        );
        self.restore(&script)
    }

    fn insert_first_if_absent(&self, chain: &str, spec: &[String]) -> Result<()> {
        if !self.check(Table::Filter, chain, spec)? {
            self.edit(Table::Filter, "-I", chain, spec)?;
        }
        Ok(())
    }

    fn delete_if_present(&self, table: Table, chain: &str, spec: &[String]) -> Result<()> {
        if self.check(table, chain, spec)? {
            self.edit(table, "-D", chain, spec)?;
        }
        Ok(())
    }

    /// `iptables -C`: whether the rule exists. Exit status 1 means "no such rule" and
    /// also "no such chain", both an absence to us; other statuses are real errors.
    fn check(&self, table: Table, chain: &str, spec: &[String]) -> Result<bool> {
        let mut argv = vec!["-C", chain];
        argv.extend(spec.iter().map(String::as_str));
        let (command, output) = self.exec(table, &argv)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failed(command, &output)),
        }
    }

    /// `-A`/`-I`/`-D` of one rule (`-I` without a number inserts at position 1).
    fn edit(&self, table: Table, op: &str, chain: &str, spec: &[String]) -> Result<()> {
        let mut argv = vec![op, chain];
        argv.extend(spec.iter().map(String::as_str));
        self.run(table, &argv).map(drop)
    }

    fn chain_exists(&self, table: Table, chain: &str) -> Result<bool> {
        let listing = self.run(table, &["-S"])?;
        Ok(listing.lines().any(|l| {
            let mut words = l.split_whitespace();
            matches!(words.next(), Some("-N" | "-P")) && words.next() == Some(chain)
        }))
    }

    /// `-S chain`, or `None` when the chain does not exist.
    fn list_chain(&self, table: Table, chain: &str) -> Result<Option<String>> {
        match self.run(table, &["-S", chain]) {
            Ok(listing) => Ok(Some(listing)),
            Err(e) => {
                if self.chain_exists(table, chain)? {
                    Err(e)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Runs iptables; its stdout when it succeeded.
    fn run(&self, table: Table, argv: &[&str]) -> Result<String> {
        let (command, output) = self.exec(table, argv)?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(failed(command, &output))
        }
    }

    /// `iptables -w -t TABLE ARGV...`: `-w` waits for the xtables lock, which other
    /// tools (a Docker beside us, parallel tests) take too.
    fn exec(&self, table: Table, argv: &[&str]) -> Result<(String, Output)> {
        let mut full = vec!["-w", "-t", table.as_str()];
        full.extend_from_slice(argv);
        let command = command_line(&self.binary, &full);
        tracing::debug!(%command, "iptables");
        let output = Command::new(&self.binary)
            .args(&full)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| NatError::Spawn {
                command: command.clone(),
                source,
            })?;
        Ok((command, output))
    }

    /// Feeds `script` to `<binary>-restore --noflush`, which commits it as one
    /// transaction.
    fn restore(&self, script: &str) -> Result<()> {
        let mut binary = self.binary.clone().into_os_string();
        binary.push("-restore");
        let binary = PathBuf::from(binary);
        let argv = ["-w", "--noflush"];
        let command = format!(
            "{} <<< {:?}",
            command_line(&binary, &argv),
            script.replace('\n', "; ")
        );
        tracing::debug!(%command, "iptables-restore");
        let spawn_error = |source| NatError::Spawn {
            command: command.clone(),
            source,
        };
        let mut child = Command::new(&binary)
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let written = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(script.as_bytes()));
        let output = child.wait_with_output().map_err(spawn_error)?;
        match (output.status.success(), written) {
            // It did not read the whole script, yet committed something: say so.
            (true, Some(Err(source))) => Err(spawn_error(source)),
            (true, _) => Ok(()),
            (false, _) => Err(failed(command, &output)),
        }
    }
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

fn reply_spec(bridge: &str) -> Vec<String> {
    args(&[
        "-o",
        bridge,
        "-m",
        "conntrack",
        "--ctstate",
        "RELATED,ESTABLISHED",
        "-j",
        "ACCEPT",
    ])
}

fn intra_spec(bridge: &str) -> Vec<String> {
    args(&["-i", bridge, "-o", bridge, "-j", "ACCEPT"])
}

fn outbound_spec(bridge: &str) -> Vec<String> {
    args(&["-i", bridge, "-j", "ACCEPT"])
}

fn masquerade_spec(r: &BridgeRule) -> Vec<String> {
    args(&["-s", &r.subnet, "!", "-o", &r.bridge, "-j", "MASQUERADE"])
}

/// In the order `iptables -S` prints its options, so that a listed rule can be compared
/// with the spec we would write for it (see [`parse_port_rule`]).
fn dnat_spec(r: &PortRule) -> Vec<String> {
    let mut spec = Vec::new();
    if let Some(ip) = r.host_ip {
        spec.extend(args(&["-d", &format!("{ip}/32")]));
    }
    spec.extend(args(&[
        "!",
        "-i",
        &r.bridge,
        "-p",
        r.proto.as_str(),
        "-m",
        r.proto.as_str(),
        "--dport",
        &r.host_port.to_string(),
        "-j",
        "DNAT",
        "--to-destination",
        &format!("{}:{}", r.container_ip, r.container_port),
    ]));
    spec
}

fn port_accept_spec(r: &PortRule) -> Vec<String> {
    args(&[
        "-d",
        &format!("{}/32", r.container_ip),
        "!",
        "-i",
        &r.bridge,
        "-o",
        &r.bridge,
        "-p",
        r.proto.as_str(),
        "-m",
        r.proto.as_str(),
        "--dport",
        &r.container_port.to_string(),
        "-j",
        "ACCEPT",
    ])
}

/// The rules of `chain` in an `iptables -S` listing that `parse` recognises, in order,
/// without duplicates.
fn parse_rules<T: Clone + Eq + std::hash::Hash>(
    listing: &str,
    chain: &str,
    parse: fn(&[&str]) -> Option<T>,
) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["-A", c, rest @ ..] = words.as_slice() else {
            continue; // -N, -P, blank lines
        };
        if *c != chain {
            continue;
        }
        match parse(rest) {
            Some(rule) => {
                if seen.insert(rule.clone()) {
                    rules.push(rule);
                }
            }
            None => tracing::warn!(chain, rule = line, "not a rule of ours; left alone"),
        }
    }
    rules
}

/// The value after the option `opt`, which must (`negated`) or must not be preceded
/// by `!`.
fn option<'a>(words: &[&'a str], opt: &str, negated: bool) -> Option<&'a str> {
    let i = words.iter().position(|w| *w == opt)?;
    let is_negated = i > 0 && words[i - 1] == "!";
    if is_negated != negated {
        return None;
    }
    words.get(i + 1).copied()
}

/// A rule's options (after `-A CHAIN`) as a [`PortRule`], if they are exactly what
/// [`dnat_spec`] writes for it: anything more or less is not ours.
fn parse_port_rule(words: &[&str]) -> Option<PortRule> {
    let host_ip = match option(words, "-d", false) {
        Some(d) => Some(d.strip_suffix("/32")?.parse().ok()?),
        None => None,
    };
    let (container_ip, container_port) =
        option(words, "--to-destination", false)?.split_once(':')?;
    let rule = PortRule {
        proto: option(words, "-p", false)?.parse().ok()?,
        host_ip,
        host_port: option(words, "--dport", false)?.parse().ok()?,
        container_ip: container_ip.parse().ok()?,
        container_port: container_port.parse().ok()?,
        bridge: option(words, "-i", true)?.to_owned(),
    };
    (dnat_spec(&rule) == words && validate_port(&rule).is_ok()).then_some(rule)
}

/// A rule's options as a [`BridgeRule`], if they are exactly [`masquerade_spec`]'s.
fn parse_bridge_rule(words: &[&str]) -> Option<BridgeRule> {
    let rule = BridgeRule {
        bridge: option(words, "-o", true)?.to_owned(),
        subnet: option(words, "-s", false)?.to_owned(),
    };
    let valid = validate_bridge(&rule.bridge).is_ok() && validate_subnet(&rule.subnet).is_ok();
    (masquerade_spec(&rule) == words && valid).then_some(rule)
}

fn enable_ip_forward() -> Result<()> {
    // Read first: writing needs a writable /proc/sys, which a host that already forwards
    // (or a container with a read-only /proc/sys) does not have to give us.
    let current = std::fs::read_to_string(IP_FORWARD).map_err(NatError::IpForward)?;
    if current.trim() == "1" {
        return Ok(());
    }
    tracing::info!("enabling IPv4 forwarding");
    std::fs::write(IP_FORWARD, "1\n").map_err(NatError::IpForward)
}

/// What [`Nat::add_port`] accepts, and what listing gives back (so that every listed
/// rule can be removed).
fn validate_port(r: &PortRule) -> Result<()> {
    validate_bridge(&r.bridge)?;
    if let Some(ip) = r.host_ip
        && ip.is_unspecified()
    {
        // `-d 0.0.0.0/32` matches nothing; "every address" has its own spelling.
        return Err(invalid(
            "host address",
            &ip.to_string(),
            "use no address (None) for every address of the host",
        ));
    }
    if r.host_port == 0 || r.container_port == 0 {
        let value = format!("{}:{}", r.host_port, r.container_port);
        return Err(invalid("ports", &value, "port 0 cannot be published"));
    }
    Ok(())
}

fn validate_bridge(bridge: &str) -> Result<()> {
    check_ifname("bridge name", bridge, bridge)
}

/// Interface names as rules carry them: what the kernel accepts, minus what iptables
/// or our `-S` parser would read as something else (`+` is iptables' wildcard, `!` and
/// a leading `-` look like options, spaces split words).
fn check_ifname(what: &'static str, value: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_IFNAME {
        return Err(invalid(
            what,
            value,
            format!("1 to {MAX_IFNAME} characters"),
        ));
    }
    if name.starts_with('-')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            what,
            value,
            "use letters, digits, '-', '_' and '.', not starting with '-'",
        ));
    }
    Ok(())
}

/// `a.b.c.d/n` with the host bits clear: iptables would store another form and our
/// listing would not give back what was added.
fn validate_subnet(subnet: &str) -> Result<()> {
    let bad = |reason: String| invalid("subnet", subnet, reason);
    let (addr, len) = subnet
        .split_once('/')
        .ok_or_else(|| bad("expected address/prefix-length, e.g. 10.210.0.0/16".into()))?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| bad("not an IPv4 address".into()))?;
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32 && !len.starts_with('+'))
        .ok_or_else(|| bad("prefix length must be 0 to 32".into()))?;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    let network = Ipv4Addr::from(u32::from(addr) & mask);
    if network != addr || format!("{addr}/{len}") != subnet {
        return Err(bad(format!(
            "host bits set; the network is {network}/{len}"
        )));
    }
    Ok(())
}

fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> NatError {
    NatError::Invalid {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn command_line(binary: &Path, argv: &[&str]) -> String {
    let mut line = binary.display().to_string();
    for a in argv {
        line.push(' ');
        line.push_str(a);
    }
    line
}

/// iptables' complaint on one line, without its "Try `iptables -h'" advice.
fn failed(command: String, output: &Output) -> NatError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut message: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Try `"))
        .collect();
    let status = output.status.to_string();
    if message.is_empty() {
        message.push(&status);
    }
    NatError::Failed {
        command,
        stderr: message.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DNAT_LISTING: &str = "\
-N MYENGINE-DNAT
-A MYENGINE-DNAT -d 127.0.0.1/32 ! -i mybr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.210.0.2:80
-A MYENGINE-DNAT ! -i mybr1 -p udp -m udp --dport 53 -j DNAT --to-destination 10.211.0.3:5353
-A MYENGINE-DNAT -d 127.0.0.1/32 ! -i mybr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.210.0.2:80
-A MYENGINE-DNAT -p tcp -m tcp --dport 9 -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT ! -i mybr0 -p tcp -m tcp --dport 9 -m comment --comment x -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT -d 10.0.0.0/8 ! -i mybr0 -p tcp -m tcp --dport 9 -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT ! -i mybr0 -p sctp -m sctp --dport 9 -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT -d 0.0.0.0/32 ! -i mybr0 -p tcp -m tcp --dport 9 -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT ! -i mybr0 -p tcp -m tcp --dport 0 -j DNAT --to-destination 10.210.0.2:9
-A MYENGINE-DNAT ! -i mybr+ -p tcp -m tcp --dport 9 -j DNAT --to-destination 10.210.0.2:9
-A OTHER ! -i mybr0 -p tcp -m tcp --dport 1 -j DNAT --to-destination 10.210.0.2:1
";

    #[test]
    fn port_rules_parse_from_listing_and_skip_foreign_shapes() {
        let rules = parse_rules(DNAT_LISTING, "MYENGINE-DNAT", parse_port_rule);
        assert_eq!(
            rules,
            vec![
                PortRule {
                    proto: Proto::Tcp,
                    host_ip: Some(Ipv4Addr::LOCALHOST),
                    host_port: 8080,
                    container_ip: Ipv4Addr::new(10, 210, 0, 2),
                    container_port: 80,
                    bridge: "mybr0".into(),
                },
                PortRule {
                    proto: Proto::Udp,
                    host_ip: None,
                    host_port: 53,
                    container_ip: Ipv4Addr::new(10, 211, 0, 3),
                    container_port: 5353,
                    bridge: "mybr1".into(),
                },
            ]
        );
    }

    #[test]
    fn parsed_rules_give_back_the_spec_they_came_from() {
        for line in DNAT_LISTING.lines().skip(1).take(2) {
            let words: Vec<&str> = line.split_whitespace().skip(2).collect();
            let rule = parse_port_rule(&words).unwrap();
            assert_eq!(dnat_spec(&rule), words);
        }
    }

    #[test]
    fn bridge_rules_parse_from_listing() {
        let listing = "\
-N MYENGINE-POSTROUTING
-A MYENGINE-POSTROUTING -s 10.210.0.0/16 ! -o mybr0 -j MASQUERADE
-A MYENGINE-POSTROUTING -s 10.211.0.0/24 ! -o mybr1 -j MASQUERADE
-A MYENGINE-POSTROUTING -s 10.212.0.0/24 -o mybr2 -j MASQUERADE
-A MYENGINE-POSTROUTING -s 10.213.0.0/24 ! -o mybr3 -j SNAT --to-source 1.2.3.4
";
        let rules = parse_rules(listing, "MYENGINE-POSTROUTING", parse_bridge_rule);
        assert_eq!(
            rules,
            vec![
                BridgeRule {
                    bridge: "mybr0".into(),
                    subnet: "10.210.0.0/16".into()
                },
                BridgeRule {
                    bridge: "mybr1".into(),
                    subnet: "10.211.0.0/24".into()
                },
            ]
        );
    }

    #[test]
    fn specs_follow_iptables_listing_order() {
        let r = PortRule {
            proto: Proto::Udp,
            host_ip: Some(Ipv4Addr::new(192, 168, 1, 5)),
            host_port: 5000,
            container_ip: Ipv4Addr::new(10, 210, 0, 9),
            container_port: 53,
            bridge: "mybr0".into(),
        };
        assert_eq!(
            dnat_spec(&r).join(" "),
            "-d 192.168.1.5/32 ! -i mybr0 -p udp -m udp --dport 5000 -j DNAT --to-destination 10.210.0.9:53"
        );
        assert_eq!(
            port_accept_spec(&r).join(" "),
            "-d 10.210.0.9/32 ! -i mybr0 -o mybr0 -p udp -m udp --dport 53 -j ACCEPT"
        );
    }

    #[test]
    fn subnets_must_be_networks() {
        validate_subnet("10.210.0.0/16").unwrap();
        validate_subnet("0.0.0.0/0").unwrap();
        validate_subnet("10.210.0.7/32").unwrap();
        for bad in [
            "10.210.0.5/16",
            "10.210.0.0",
            "10.210.0.0/33",
            "10.210.0.0/+8",
            "10.210.0.0/016",
            "x/8",
            "",
        ] {
            let e = validate_subnet(bad).unwrap_err();
            assert!(matches!(e, NatError::Invalid { .. }), "{bad}: {e}");
        }
        let e = validate_subnet("10.210.0.5/16").unwrap_err().to_string();
        assert!(e.contains("10.210.0.0/16"), "{e}");
    }

    #[test]
    fn ports_that_would_match_nothing_are_refused() {
        let good = PortRule {
            proto: Proto::Tcp,
            host_ip: None,
            host_port: 8080,
            container_ip: Ipv4Addr::new(10, 210, 0, 2),
            container_port: 80,
            bridge: "mybr0".into(),
        };
        validate_port(&good).unwrap();
        for bad in [
            PortRule {
                host_ip: Some(Ipv4Addr::UNSPECIFIED),
                ..good.clone()
            },
            PortRule {
                host_port: 0,
                ..good.clone()
            },
            PortRule {
                container_port: 0,
                ..good.clone()
            },
            PortRule {
                bridge: "mybr+".into(),
                ..good.clone()
            },
        ] {
            assert!(validate_port(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_that_would_misread_are_refused() {
        for bad in ["", "a b", "-i", "br!", "br+", "sixteen-chars-xx", "a/b"] {
            assert!(validate_bridge(bad).is_err(), "{bad:?}");
        }
        validate_bridge("mybr0").unwrap();
        validate_bridge("br-1a2b.3_c").unwrap();
        assert!(Nat::new("MYENGINE", "mybr+").validate().is_ok());
        assert!(Nat::new("MYENGINE", "mybr0").validate().is_ok());
        for (prefix, glob) in [
            ("", "mybr+"),
            ("TOO-LONG-A-PREFIX", "mybr+"),
            ("MY ENGINE", "mybr+"),
            ("DOCKER", "mybr+"),
            ("MYENGINE", "+"),
            ("MYENGINE", ""),
            ("MYENGINE", "my br+"),
        ] {
            assert!(
                Nat::new(prefix, glob).validate().is_err(),
                "{prefix:?} {glob:?}"
            );
        }
    }

    #[test]
    fn failure_message_is_one_line_without_help() {
        use std::os::unix::process::ExitStatusExt;
        let output = Output {
            status: std::process::ExitStatus::from_raw(2 << 8),
            stdout: Vec::new(),
            stderr: b"iptables v1.8.9 (nf_tables): Chain 'X' does not exist\nTry `iptables -h' or 'iptables --help' for more information.\n".to_vec(),
        };
        let e = failed("iptables -w -t filter -A X -j ACCEPT".into(), &output);
        assert_eq!(
            e.to_string(),
            "iptables -w -t filter -A X -j ACCEPT: iptables v1.8.9 (nf_tables): Chain 'X' does not exist"
        );
    }
}
