//! myengined's networking end to end: published TCP and UDP ports (DNAT plus myproxy for
//! loopback and hairpin), name resolution and isolation on user-defined networks, the
//! `none`, `host` and `container:` modes, fixed addresses, live restore of published
//! ports, Docker's error messages, the real docker CLI, and that everything the engine
//! made (veths, bridges, rules, proxies, namespace files) is gone when its owner goes.
//!
//! Each test has its own engine, bridge, 10.X.0.0/16 block and chain prefix (see
//! `NetSlot`), so the tests run in parallel. Traffic goes only to loopback and to the
//! namespaces these tests create.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integration_tests::engine::Engine;
use integration_tests::{pid_alive, wait_until};

/// busybox's httpd serving `page` on port 80 in the foreground.
const HTTPD: &[&str] = &[
    "sh",
    "-c",
    "mkdir -p /www && echo page > /www/index.html && exec httpd -f -p 80 -h /www",
];

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mycli(e: &Engine, args: &[&str]) -> Output {
    e.mycli(args)
}

fn ok(e: &Engine, args: &[&str]) -> String {
    e.mycli_ok(args)
}

fn fails(e: &Engine, args: &[&str], code: i32, needle: &str) -> Output {
    e.mycli_fails(args, code, needle)
}

/// `run -d` with `opts` before the image and `cmd` after it; the container's ID.
fn run_d(e: &Engine, opts: &[&str], cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(opts);
    args.push("busybox");
    args.extend_from_slice(cmd);
    ok(e, &args).trim().to_owned()
}

/// `run --rm` of a shell script with `opts`; (exit code, stdout, stderr).
fn run_sh(e: &Engine, opts: &[&str], script: &str) -> (i32, String, String) {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    let out = mycli(e, &args);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

fn inspect(e: &Engine, container: &str, template: &str) -> String {
    ok(e, &["inspect", "-f", template, container])
        .trim()
        .to_owned()
}

fn ip_of(e: &Engine, container: &str) -> String {
    inspect(e, container, "{{.NetworkSettings.IPAddress}}")
}

/// The address of `container` on the user-defined network `net`.
fn ip_on(e: &Engine, container: &str, net: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&ok(e, &["inspect", container])).unwrap();
    v[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn network_json(e: &Engine, net: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&ok(e, &["network", "inspect", net])).unwrap();
    v[0].clone()
}

/// The bridge link of a network, as `network inspect` names it.
fn bridge_of(e: &Engine, net: &str) -> String {
    network_json(e, net)["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The default bridge's gateway, 10.X.255.1.
fn gateway(e: &Engine) -> String {
    format!("10.{}.255.1", e.net.octet)
}

fn in_block(e: &Engine, ip: &str) -> bool {
    ip.parse::<Ipv4Addr>()
        .is_ok_and(|a| a.octets()[0] == 10 && a.octets()[1] == e.net.octet)
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// A host port in 20000..30000 (below the ephemeral range the engine and the kernel
/// pick from) that is free for TCP and UDP on every address right now.
fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 20000 + (random_u64() % 10000) as u16;
        let tcp = TcpListener::bind(("0.0.0.0", port));
        let udp = UdpSocket::bind(("0.0.0.0", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..30000");
}

/// One HTTP/1.0 GET of `/` on `addr`; the body, or None on any failure.
fn http_get(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    if !text.starts_with("HTTP/1.") {
        return None;
    }
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// Polls a GET of 127.0.0.1:`port` until it returns `page\n` (httpd needs a moment).
fn wait_for_page(e: &Engine, port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut last = None;
    while Instant::now() < deadline {
        last = http_get(addr);
        if last.as_deref() == Some("page\n") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "GET http://{addr}/ never returned the page (last: {last:?})\n--- engine log ---\n{}",
        e.log_tail()
    );
}

/// Polls until nothing accepts on 127.0.0.1:`port`.
fn wait_port_closed(port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_until(5, &format!("{addr} to refuse connections"), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err()
    });
}

/// A shell loop that fetches `url` until it answers (at most ~5 s) and prints it.
fn fetch_script(url: &str) -> String {
    format!(
        "for i in $(seq 50); do out=$(wget -qO- {url} 2>/dev/null) && {{ echo \"$out\"; exit 0; }}; sleep 0.1; done; exit 1"
    )
}

/// A single, bounded attempt at `url` (for what must NOT answer). busybox wget may
/// crash on a timeout or a failed lookup, so the caller judges by the output only.
fn one_try_script(url: &str) -> String {
    format!("timeout 5 wget -qO- -T 2 {url} 2>/dev/null; true")
}

/// Live myproxy processes (not zombies) publishing host port `port`.
fn proxies_for(port: u16) -> Vec<i32> {
    let port = port.to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_proxy = args
            .first()
            .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "myproxy"));
        let has_port = args
            .windows(2)
            .any(|w| w[0] == "-host-port" && w[1] == port);
        if is_proxy && has_port && pid_alive(pid) {
            out.push(pid);
        }
    }
    out
}

fn netns_dir(e: &Engine) -> PathBuf {
    e.dir().join("exec").join("netns")
}

fn netns_files(e: &Engine) -> Vec<String> {
    std::fs::read_dir(netns_dir(e))
        .map(|d| {
            d.flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The links enslaved to `bridge` (the host ends of its containers' veths).
fn bridge_ports(bridge: &str) -> BTreeSet<String> {
    std::fs::read_dir(Path::new("/sys/class/net").join(bridge).join("brif"))
        .map(|d| {
            d.flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The links of the test process's (the host's) network namespace.
fn host_links() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn command_text(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of `text` naming `ip` as a whole address (10.1.2.3, not 10.1.2.30).
fn lines_with_ip<'a>(text: &'a str, ip: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            l.match_indices(ip).any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + ip.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
                    && !after.is_some_and(|c| c.is_ascii_digit())
            })
        })
        .collect()
}

/// Interface names in a /proc/net/dev listing.
fn proc_net_dev_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_owned()))
        .collect()
}

/// A UDP echo server on `port` inside the network namespace at `netns`, run by a thread
/// of this test (busybox's `nc` has no UDP mode and it has no other UDP server applet).
/// The thread joins that namespace only (`setns` is per thread) and stops when `stop` is
/// set.
fn udp_echo_in(netns: &Path, port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let file =
        std::fs::File::open(netns).unwrap_or_else(|e| panic!("opening {}: {e}", netns.display()));
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: joins this thread (only) to the namespace of an open nsfs file.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            let _ = tx.send(Err(std::io::Error::last_os_error().to_string()));
            return;
        }
        let sock = match UdpSocket::bind(("0.0.0.0", port)) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let _ = tx.send(Ok(()));
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::SeqCst) {
            if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..n], peer);
            }
        }
    });
    rx.recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("UDP echo in {}: {e}", netns.display()));
    handle
}

#[test]
fn published_tcp_ports_serve_the_page_on_loopback() {
    let e = Engine::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = run_d(&e, &["--name", "web", "-p", &publish], HTTPD);
    wait_for_page(&e, port);
    assert_eq!(
        ok(&e, &["port", "web"]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    let ip = ip_of(&e, &id);
    assert!(in_block(&e, &ip), "{ip} is not in {}", e.net.block());
    assert_eq!(
        inspect(&e, "web", "{{.NetworkSettings.Gateway}}"),
        gateway(&e)
    );

    // An ephemeral host port on every address, read back with `port`.
    run_d(&e, &["--name", "eph", "-p", "80"], HTTPD);
    let lines = ok(&e, &["port", "eph", "80"]);
    let host = lines
        .lines()
        .find_map(|l| l.strip_prefix("0.0.0.0:"))
        .unwrap_or_else(|| panic!("no 0.0.0.0 binding in {lines:?}"));
    let eph: u16 = host.trim().parse().unwrap();
    assert_ne!(eph, 0);
    wait_for_page(&e, eph);
    let ip2 = ip_of(&e, "eph");
    assert!(in_block(&e, &ip2) && ip2 != ip, "{ip2} vs {ip}");

    // A port nobody published.
    fails(
        &e,
        &["port", "web", "81"],
        1,
        "No public port '81' published for web",
    );
}

#[test]
fn published_udp_port_round_trips_a_datagram() {
    let e = Engine::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:5000/udp");
    let id = run_d(&e, &["-p", &publish], &["sleep", "60"]);
    assert_eq!(
        ok(&e, &["port", &id]).trim(),
        format!("5000/udp -> 127.0.0.1:{port}")
    );
    let sandbox = inspect(&e, &id, "{{.NetworkSettings.SandboxKey}}");
    assert!(
        sandbox.starts_with(&netns_dir(&e).display().to_string()),
        "{sandbox}"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let echo = udp_echo_in(Path::new(&sandbox), 5000, stop.clone());

    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut got = None;
    for i in 0..15 {
        let msg = format!("ping {i}");
        client.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        if let Ok((n, from)) = client.recv_from(&mut buf) {
            got = Some((String::from_utf8_lossy(&buf[..n]).into_owned(), msg, from));
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    echo.join().unwrap();
    let (reply, sent, from) = got.unwrap_or_else(|| {
        panic!(
            "no UDP reply through 127.0.0.1:{port}\n--- engine log ---\n{}",
            e.log_tail()
        )
    });
    assert_eq!(reply, sent);
    assert_eq!(from, SocketAddr::from(([127, 0, 0, 1], port)));
}

#[test]
fn containers_reach_published_ports_through_the_host_hairpin() {
    let e = Engine::start();
    let port = free_port();
    let publish = format!("{port}:80");
    run_d(&e, &["--name", "web", "-p", &publish], HTTPD);
    wait_for_page(&e, port);
    let url = format!("http://{}:{port}/", gateway(&e));

    // Another container on the default bridge, through the host's address.
    let (code, out, err) = run_sh(&e, &[], &fetch_script(&url));
    assert_eq!(
        (code, out.as_str()),
        (0, "page\n"),
        "{err}\n{}",
        e.log_tail()
    );

    // The container itself, through its own published port.
    let o = mycli(&e, &["exec", "web", "sh", "-c", &fetch_script(&url)]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "page\n"),
        "{}\n{}",
        stderr(&o),
        e.log_tail()
    );
}

#[test]
fn user_networks_resolve_names_and_aliases_and_are_isolated() {
    let e = Engine::start();
    ok(&e, &["network", "create", "front"]);
    ok(&e, &["network", "create", "back"]);
    run_d(
        &e,
        &[
            "--name",
            "web",
            "--network",
            "front",
            "--network-alias",
            "www",
        ],
        HTTPD,
    );
    let web_ip = ip_on(&e, "web", "front");
    assert!(in_block(&e, &web_ip), "{web_ip}");
    // Lookups that /etc/hosts cannot answer go to the container's own loopback.
    let front = ["--network", "front", "--dns", "127.0.0.1"];

    for url in ["http://web/", "http://www/", &format!("http://{web_ip}/")] {
        let (code, out, err) = run_sh(&e, &front, &fetch_script(url));
        assert_eq!(
            (code, out.as_str()),
            (0, "page\n"),
            "{url}: {err}\n{}",
            e.log_tail()
        );
    }

    // The hosts file names every member and alias; a container that joins later is seen
    // by the ones already running.
    let (_, hosts, _) = run_sh(&e, &front, "cat /etc/hosts");
    let names: BTreeSet<&str> = lines_with_ip(&hosts, &web_ip)
        .iter()
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect();
    assert!(
        names.contains("web") && names.contains("www"),
        "{web_ip} is not web and www in {hosts}"
    );
    run_d(
        &e,
        &["--name", "late", "--network", "front"],
        &["sleep", "60"],
    );
    let late_ip = ip_on(&e, "late", "front");
    let o = mycli(&e, &["exec", "web", "cat", "/etc/hosts"]);
    assert!(
        lines_with_ip(&stdout(&o), &late_ip)
            .iter()
            .any(|l| l.split_whitespace().any(|w| w == "late")),
        "web's hosts file does not name late ({late_ip}): {}",
        stdout(&o)
    );

    // The default bridge has no name resolution (Docker's behaviour).
    let (_, out, _) = run_sh(
        &e,
        &["--dns", "127.0.0.1"],
        &format!("{}; echo; cat /etc/hosts", one_try_script("http://web/")),
    );
    assert!(!out.contains("page"), "{out}");
    assert!(
        !out.lines().any(|l| l
            .split_whitespace()
            .skip(1)
            .any(|w| w == "web" || w == "www")),
        "{out}"
    );

    // Another user network cannot reach web, by address or by name.
    let back = ["--network", "back", "--dns", "127.0.0.1"];
    let url = format!("http://{web_ip}/");
    let (_, out, _) = run_sh(&e, &back, &one_try_script(&url));
    assert!(!out.contains("page"), "isolation broken: {out}");
    let (_, out, _) = run_sh(&e, &back, &one_try_script("http://web/"));
    assert!(!out.contains("page"), "{out}");
    // Nor can the default bridge.
    let (_, out, _) = run_sh(&e, &["--dns", "127.0.0.1"], &one_try_script(&url));
    assert!(!out.contains("page"), "isolation broken: {out}");
}

#[test]
fn none_host_and_container_network_modes() {
    let e = Engine::start();

    let (code, out, err) = run_sh(&e, &["--network", "none"], "cat /proc/net/dev");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        proc_net_dev_names(&out),
        BTreeSet::from(["lo".to_owned()]),
        "{out}"
    );
    let (_, out, _) = run_sh(&e, &["--network", "none"], "ip -o link");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(": lo:"), "{out}");

    // The host's namespace: the engine's bridge and the host's other links are there.
    // Links of other tests come and go meanwhile: only those there before and after
    // the run count.
    let before = host_links();
    let (code, out, err) = run_sh(&e, &["--network", "host"], "cat /proc/net/dev");
    assert_eq!(code, 0, "{err}");
    let stable: BTreeSet<String> = before.intersection(&host_links()).cloned().collect();
    let seen = proc_net_dev_names(&out);
    assert!(seen.contains(&e.net.bridge), "{out}");
    assert!(stable.contains("lo") && stable.len() > 2, "{stable:?}");
    assert!(
        stable.is_subset(&seen),
        "host links {stable:?} not all in {seen:?}"
    );

    // Another container's namespace: its address, and its loopback.
    run_d(&e, &["--name", "web"], HTTPD);
    let web_ip = ip_of(&e, "web");
    let (code, out, err) = run_sh(
        &e,
        &["--network", "container:web"],
        &format!(
            "ip -o -4 addr show eth0; {}",
            fetch_script("http://127.0.0.1:80/")
        ),
    );
    assert_eq!(code, 0, "{err}\n{}", e.log_tail());
    assert!(!lines_with_ip(&out, &web_ip).is_empty(), "{out}");
    assert!(out.ends_with("page\n"), "{out}");
}

#[test]
fn fixed_addresses_only_on_user_networks() {
    let e = Engine::start();
    let o = e.net.octet;
    let subnet = format!("10.{o}.7.0/24");
    let fixed = format!("10.{o}.7.42");
    ok(&e, &["network", "create", "--subnet", &subnet, "fixed"]);
    let n = network_json(&e, "fixed");
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], subnet.as_str(), "{n}");
    assert_eq!(
        n["IPAM"]["Config"][0]["Gateway"],
        format!("10.{o}.7.1"),
        "{n}"
    );

    let (code, out, err) = run_sh(
        &e,
        &["--network", "fixed", "--ip", &fixed],
        "ip -o -4 addr show eth0; ip route",
    );
    assert_eq!(code, 0, "{err}\n{}", e.log_tail());
    assert!(out.contains(&format!("inet {fixed}/24")), "{out}");
    assert!(out.contains(&format!("default via 10.{o}.7.1")), "{out}");

    // The address is taken while its container runs.
    run_d(
        &e,
        &["--name", "holder", "--network", "fixed", "--ip", &fixed],
        &["sleep", "60"],
    );
    assert_eq!(ip_on(&e, "holder", "fixed"), fixed);
    fails(
        &e,
        &[
            "run",
            "-d",
            "--name",
            "dup",
            "--network",
            "fixed",
            "--ip",
            &fixed,
            "busybox",
            "true",
        ],
        125,
        "Address already in use",
    );
    assert_eq!(inspect(&e, "dup", "{{.State.Status}}"), "created");
    // Another address of the subnet is still free.
    run_d(
        &e,
        &[
            "--name",
            "other",
            "--network",
            "fixed",
            "--ip",
            &format!("10.{o}.7.43"),
        ],
        &["sleep", "60"],
    );

    fails(
        &e,
        &[
            "run",
            "--rm",
            "--ip",
            &format!("10.{o}.255.42"),
            "busybox",
            "true",
        ],
        125,
        "user specified IP address is supported on user defined networks only",
    );
}

#[test]
fn published_port_survives_an_engine_sigkill() {
    let mut e = Engine::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = run_d(&e, &["--name", "web", "-p", &publish], HTTPD);
    wait_for_page(&e, port);
    let proxies = proxies_for(port);
    assert_eq!(proxies.len(), 1, "{proxies:?}");

    e.signal_and_wait(libc::SIGKILL);
    // The proxy outlives the engine and keeps serving.
    wait_for_page(&e, port);
    e.restart();
    wait_for_page(&e, port);
    assert_eq!(
        proxies_for(port),
        proxies,
        "the proxy was adopted, not replaced"
    );
    assert_eq!(
        ok(&e, &["port", "web"]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );

    ok(&e, &["rm", "-f", &id]);
    wait_port_closed(port);
    assert!(proxies_for(port).is_empty());
    assert!(netns_files(&e).is_empty(), "{:?}", netns_files(&e));
}

#[test]
fn everything_is_removed_with_its_container_and_network() {
    let e = Engine::start();
    let net = e.net.clone();
    ok(&e, &["network", "create", "app"]);
    let user_bridge = bridge_of(&e, "app");
    assert!(user_bridge.starts_with("mybr-"), "{user_bridge}");
    assert!(link_exists(&user_bridge));

    let (p1, p2) = (free_port(), free_port());
    let pub1 = format!("127.0.0.1:{p1}:80");
    let pub2 = format!("127.0.0.1:{p2}:80");
    let a = run_d(&e, &["--name", "ca", "-p", &pub1], HTTPD);
    let b = run_d(
        &e,
        &["--name", "cb", "--network", "app", "-p", &pub2],
        HTTPD,
    );
    ok(&e, &["network", "connect", "app", "ca"]);
    wait_for_page(&e, p1);
    wait_for_page(&e, p2);

    let ips = [
        ip_of(&e, "ca"),
        ip_on(&e, "ca", "app"),
        ip_on(&e, "cb", "app"),
    ];
    let veths: BTreeSet<String> = bridge_ports(&net.bridge)
        .into_iter()
        .chain(bridge_ports(&user_bridge))
        .collect();
    assert_eq!(veths.len(), 3, "{veths:?}");
    assert!(veths.iter().all(|v| v.starts_with("myv")), "{veths:?}");
    assert_eq!(netns_files(&e).len(), 2);
    let rules = command_text("iptables-save", &[]);
    for ip in &ips[..1] {
        assert!(!lines_with_ip(&rules, ip).is_empty(), "no rule names {ip}");
    }
    assert!(!lines_with_ip(&rules, &ips[2]).is_empty());

    // `network rm` refuses while b runs on it.
    fails(&e, &["network", "rm", "app"], 1, "has active endpoints");

    ok(&e, &["rm", "-f", &a, &b]);
    ok(&e, &["network", "rm", "app"]);

    // The engine deletes veths off the exit path (the kernel's part takes an RCU grace
    // period), so they may take a moment.
    wait_until(5, "the containers' veths to go", || {
        veths.iter().all(|v| !link_exists(v)) && bridge_ports(&net.bridge).is_empty()
    });
    assert!(!link_exists(&user_bridge), "{user_bridge} is left");
    let rules = command_text("iptables-save", &[]);
    let ruleset = command_text("nft", &["list", "ruleset"]);
    for ip in &ips {
        assert_eq!(
            lines_with_ip(&rules, ip),
            Vec::<&str>::new(),
            "iptables: {ip}"
        );
        assert_eq!(lines_with_ip(&ruleset, ip), Vec::<&str>::new(), "nft: {ip}");
    }
    for p in [p1, p2] {
        let dport = format!("--dport {p} ");
        assert!(
            !rules
                .lines()
                .any(|l| l.contains(&net.chain_prefix) && l.contains(&dport)),
            "a rule for port {p} is left"
        );
        assert_eq!(proxies_for(p), Vec::<i32>::new(), "proxy of {p}");
        wait_port_closed(p);
    }
    assert_eq!(netns_files(&e), Vec::<String>::new());
    assert!(
        link_exists(&net.bridge),
        "the default bridge stays while the engine runs"
    );

    // A clean stop with nothing running takes the default bridge and our chains too.
    drop(e);
    let chain = format!("{}-", net.chain_prefix);
    let rules = command_text("iptables-save", &[]);
    let left: Vec<&str> = rules.lines().filter(|l| l.contains(&chain)).collect();
    assert!(left.is_empty(), "{left:?}");
    let ruleset = command_text("nft", &["list", "ruleset"]);
    assert!(!ruleset.contains(&chain), "nft still names {chain}");
    assert!(!link_exists(&net.bridge), "{} is left", net.bridge);
}

#[test]
fn docker_cli_publishes_and_manages_networks() {
    let e = Engine::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let mut args = vec!["run", "-d", "--name", "web", "-p", &publish, "busybox"];
    args.extend_from_slice(HTTPD);
    e.docker_ok(&args);
    wait_for_page(&e, port);
    assert_eq!(
        e.docker_ok(&["port", "web"]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    assert_eq!(
        e.docker_ok(&["port", "web", "80/tcp"]).trim(),
        format!("127.0.0.1:{port}")
    );
    let ip = e.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"]);
    assert!(in_block(&e, ip.trim()), "{ip}");

    let id = e
        .docker_ok(&["network", "create", "dnet"])
        .trim()
        .to_owned();
    assert_eq!(id.len(), 64, "{id}");
    let ls = e.docker_ok(&["network", "ls"]);
    for name in ["bridge", "host", "none", "dnet"] {
        assert!(
            ls.lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(1) == Some(name)),
            "{name} not in {ls}"
        );
    }
    assert!(ls.contains(&id[..12]), "{ls}");
    let subnet = e.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        "dnet",
    ]);
    let subnet = subnet.trim();
    assert!(
        subnet.ends_with("/24") && in_block(&e, subnet.trim_end_matches("/24")),
        "{subnet}"
    );
    assert_eq!(
        e.docker_ok(&["network", "inspect", "-f", "{{.Driver}}", "dnet"])
            .trim(),
        "bridge"
    );
    // The docker CLI's own run path onto the network, with name resolution.
    e.docker_ok(&["network", "connect", "dnet", "web"]);
    let script = fetch_script("http://web/");
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "dnet",
        "--dns",
        "127.0.0.1",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out, "page\n");
    e.docker_ok(&["network", "disconnect", "dnet", "web"]);
    assert_eq!(e.docker_ok(&["network", "rm", "dnet"]).trim(), "dnet");
    let ls = e.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!ls.lines().any(|l| l == "dnet"), "{ls}");
}

#[test]
fn network_errors_read_like_dockers_and_leave_nothing_behind() {
    let e = Engine::start();
    ok(&e, &["network", "create", "dup"]);
    fails(&e, &["network", "create", "dup"], 1, "already exists");
    fails(&e, &["network", "rm", "bridge"], 1, "pre-defined");
    fails(&e, &["network", "rm", "nosuch"], 1, "nosuch");
    fails(
        &e,
        &["run", "--rm", "--network", "nosuch", "busybox", "true"],
        125,
        "network nosuch not found",
    );
    assert!(
        e.container_ids().is_empty(),
        "a failed create left a container"
    );

    // A host port that is taken fails the second start, which leaves no namespace and no
    // proxy behind.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    run_d(&e, &["--name", "first", "-p", &publish], HTTPD);
    wait_for_page(&e, port);
    let before = netns_files(&e);
    assert_eq!(before.len(), 1);
    let proxies = proxies_for(port);
    assert_eq!(proxies.len(), 1);
    let mut args = vec!["run", "-d", "--name", "second", "-p", &publish, "busybox"];
    args.extend_from_slice(HTTPD);
    fails(&e, &args, 125, "port is already allocated");
    assert_eq!(netns_files(&e), before);
    assert_eq!(proxies_for(port), proxies);
    assert_eq!(
        inspect(&e, "second", "{{.State.Status}}"),
        "created",
        "the container stays, as Docker's"
    );
    assert_eq!(
        inspect(&e, "second", "{{.NetworkSettings.IPAddress}}"),
        "",
        "no address is held"
    );
    wait_for_page(&e, port);
    // The address the failed start took was given back: the next container gets one.
    ok(&e, &["rm", "-f", "first"]);
    wait_port_closed(port);
    ok(&e, &["start", "second"]);
    wait_for_page(&e, port);
}

/// Runs `cmd` with its output captured; None (after killing it) when it is still
/// running after `secs`.
fn output_within(mut cmd: Command, secs: u64) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(child.wait_with_output().unwrap())
}

#[test]
fn auto_remove_container_whose_start_fails_on_a_taken_port_is_removed() {
    let e = Engine::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    run_d(&e, &["--name", "first", "-p", &publish], HTTPD);
    wait_for_page(&e, port);

    fails(
        &e,
        &["run", "--rm", "-p", &publish, "busybox", "true"],
        125,
        "port is already allocated",
    );
    assert_eq!(
        e.container_ids().len(),
        1,
        "the --rm container stayed after its failed start"
    );

    // docker waits for the removal with no time limit of its own.
    let out = output_within(
        e.docker_cmd(&["run", "--rm", "-p", &publish, "busybox", "true"]),
        15,
    )
    .expect("docker run --rm still waiting for the removal after 15 s");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("port is already allocated"),
        "{}",
        stderr(&out)
    );
    assert_eq!(e.container_ids().len(), 1);
}
