//! Network namespaces and links, for real: namespaces bind-mounted in a temp dir, bridges and
//! veth pairs made through netlink, datagrams between two namespaces. Needs root; skipped
//! with a message otherwise.
//!
//! The link tests run in a sandbox: a network namespace of their own stands in for the
//! host, so they never add a link, address or route to the machine's own network, cannot
//! collide with its subnets, and are not at the mercy of its firewall (a dockerd sets the
//! host's FORWARD policy to DROP, and with br_netfilter that drops bridged traffic too).
//! Everything is undone by dropping the temp dir's guard, whose namespaces take their links
//! with them; the tests also delete what they made through the API under test.

use std::fs;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use myengined::network::link::{self, Attachment, LinkError, Links};
use myengined::network::netns;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader};
use rtnetlink::{LinkVeth, RouteMessageBuilder};

fn not_root() -> bool {
    let root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!("skipped: needs root to create network namespaces and links");
    }
    !root
}

/// A name no other test (or concurrent run) uses: `mytX<pid><tag>`, at most 15 bytes.
fn name(kind: char, tag: &str) -> String {
    let n = format!("myt{kind}{}{tag}", std::process::id() % 10000);
    assert!(n.len() <= 15, "{n}");
    n
}

/// A temp dir for namespace files; dropping it unmounts and removes every namespace in it,
/// even when the test failed halfway.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        remove_namespaces_under(self.dir.path());
    }
}

fn remove_namespaces_under(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_namespaces_under(&path);
        } else if let Err(e) = netns::remove(&path) {
            eprintln!("cleanup: removing {}: {e}", path.display());
        }
    }
}

/// Runs `test` on a multi-threaded runtime whose threads all live in a fresh network
/// namespace standing in for the host (see the module's doc). It gets the scratch dir.
fn in_sandbox<F, Fut>(scratch: &Scratch, test: F)
where
    F: FnOnce(PathBuf) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let host = scratch.path("sandbox-host");
    netns::create(&host).expect("creating the sandbox namespace");
    let dir = scratch.dir.path().to_path_buf();
    netns::run_in(&host, move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(test(dir))
    })
    .expect("entering the sandbox namespace");
}

#[derive(Debug)]
struct LinkView {
    index: u32,
    name: String,
    up: bool,
    mtu: u32,
    mac: Vec<u8>,
    controller: Option<u32>,
}

#[derive(Debug)]
struct RouteView {
    destination: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
    oif: Option<u32>,
}

/// Links, IPv4 addresses and main-table IPv4 routes of the calling thread's namespace,
/// read with a netlink socket of the test's own (not the code under test).
#[derive(Debug)]
struct View {
    links: Vec<LinkView>,
    addresses: Vec<(u32, Ipv4Addr, u8)>,
    routes: Vec<RouteView>,
}

impl View {
    fn link(&self, name: &str) -> Option<&LinkView> {
        self.links.iter().find(|l| l.name == name)
    }

    fn names(&self) -> Vec<&str> {
        self.links.iter().map(|l| l.name.as_str()).collect()
    }

    fn addresses_of(&self, index: u32) -> Vec<(Ipv4Addr, u8)> {
        self.addresses
            .iter()
            .filter(|a| a.0 == index)
            .map(|a| (a.1, a.2))
            .collect()
    }
}

async fn view() -> View {
    let (connection, handle, _) = rtnetlink::new_connection().expect("netlink socket");
    let task = tokio::spawn(connection);

    let mut links = Vec::new();
    let mut dump = handle.link().get().execute();
    while let Some(msg) = dump.try_next().await.expect("dumping links") {
        let mut link = LinkView {
            index: msg.header.index,
            name: String::new(),
            up: msg.header.flags.contains(LinkFlags::Up),
            mtu: 0,
            mac: Vec::new(),
            controller: None,
        };
        for attr in msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n,
                LinkAttribute::Mtu(m) => link.mtu = m,
                LinkAttribute::Address(a) => link.mac = a,
                LinkAttribute::Controller(c) => link.controller = Some(c),
                _ => {}
            }
        }
        links.push(link);
    }

    let mut addresses = Vec::new();
    let mut dump = handle.address().get().execute();
    while let Some(msg) = dump.try_next().await.expect("dumping addresses") {
        for attr in &msg.attributes {
            if let AddressAttribute::Local(IpAddr::V4(ip)) = attr {
                addresses.push((msg.header.index, *ip, msg.header.prefix_len));
            }
        }
    }

    let mut routes = Vec::new();
    let mut dump = handle
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute();
    while let Some(msg) = dump.try_next().await.expect("dumping routes") {
        if msg.header.address_family != AddressFamily::Inet
            || msg.header.table != RouteHeader::RT_TABLE_MAIN
        {
            continue;
        }
        let mut route = RouteView {
            destination: Ipv4Addr::UNSPECIFIED,
            prefix_len: msg.header.destination_prefix_length,
            gateway: None,
            oif: None,
        };
        for attr in msg.attributes {
            match attr {
                RouteAttribute::Destination(RouteAddress::Inet(d)) => route.destination = d,
                RouteAttribute::Gateway(RouteAddress::Inet(g)) => route.gateway = Some(g),
                RouteAttribute::Oif(o) => route.oif = Some(o),
                _ => {}
            }
        }
        routes.push(route);
    }
    task.abort();
    View {
        links,
        addresses,
        routes,
    }
}

/// [`view`] inside the namespace at `ns`.
fn view_in(ns: &Path) -> View {
    netns::run_in(ns, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(view())
    })
    .expect("entering the namespace to look at it")
}

/// A veth pair made by the test itself (not through the code under test), standing for a
/// link that someone else owns.
async fn make_foreign_veth(a: &str, b: &str) {
    let (connection, handle, _) = rtnetlink::new_connection().expect("netlink socket");
    let task = tokio::spawn(connection);
    handle
        .link()
        .add(LinkVeth::new(a, b).mtu(1500).build())
        .execute()
        .await
        .expect("creating a veth pair for the test");
    task.abort();
}

fn thread_netns_inode() -> u64 {
    fs::metadata("/proc/thread-self/ns/net")
        .expect("own netns")
        .ino()
}

#[test]
fn netns_create_brings_lo_up_and_remove_cleans_up() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    // Parent directories are created as needed.
    let ns = scratch.path("nested/dirs/ns1");
    let before = thread_netns_inode();

    netns::create(&ns).expect("create");
    assert!(netns::is_mounted_ns(&ns));
    assert_eq!(thread_netns_inode(), before, "the caller changed namespace");

    let again = netns::create(&ns).expect_err("creating over a live namespace");
    assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists, "{again}");

    // Inside: a namespace of its own (the file's inode), only lo, and lo is up.
    let ns_inode = fs::metadata(&ns).unwrap().ino();
    let inside_inode = netns::run_in(&ns, thread_netns_inode).expect("run_in");
    assert_eq!(inside_inode, ns_inode);
    assert_ne!(inside_inode, before);
    assert_eq!(
        thread_netns_inode(),
        before,
        "run_in changed the caller's namespace"
    );
    let inside = view_in(&ns);
    assert_eq!(inside.names(), ["lo"], "{inside:?}");
    assert!(inside.link("lo").unwrap().up, "lo is down: {inside:?}");

    // And loopback carries traffic (it would be "network unreachable" with lo down).
    let echoed = netns::run_in(&ns, || -> std::io::Result<Vec<u8>> {
        let rx = UdpSocket::bind("127.0.0.1:0")?;
        rx.set_read_timeout(Some(Duration::from_secs(5)))?;
        let tx = UdpSocket::bind("127.0.0.1:0")?;
        tx.send_to(b"ping", rx.local_addr()?)?;
        let mut buf = [0u8; 16];
        let (n, _) = rx.recv_from(&mut buf)?;
        Ok(buf[..n].to_vec())
    })
    .expect("run_in")
    .expect("loopback inside the namespace");
    assert_eq!(echoed, b"ping");

    netns::remove(&ns).expect("remove");
    assert!(!netns::is_mounted_ns(&ns));
    assert!(!ns.exists());
    // Removing again, or something that never existed, is fine.
    netns::remove(&ns).expect("second remove");
    netns::remove(&scratch.path("never-there")).expect("remove of a missing file");

    // A plain file (say, a mount point left by a crash) is just unlinked.
    let plain = scratch.path("plain");
    fs::write(&plain, b"").unwrap();
    assert!(!netns::is_mounted_ns(&plain));
    netns::remove(&plain).expect("remove of a plain file");
    assert!(!plain.exists());
}

#[test]
fn run_in_refuses_what_is_not_a_namespace() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    let missing = netns::run_in(&scratch.path("missing"), || ()).expect_err("missing file");
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");

    let plain = scratch.path("plain");
    fs::write(&plain, b"").unwrap();
    let err = netns::run_in(&plain, || ()).expect_err("a plain file");
    assert!(
        err.to_string().contains("entering network namespace"),
        "{err}"
    );
}

#[test]
fn create_over_an_existing_plain_file_reuses_it() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    let ns = scratch.path("left-by-a-crash");
    fs::write(&ns, b"").unwrap();
    netns::create(&ns).expect("create over an empty file");
    assert!(netns::is_mounted_ns(&ns));
    netns::remove(&ns).expect("remove");
    assert!(!ns.exists());
}

#[test]
fn ensure_bridge_is_idempotent_and_leaves_other_links_alone() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    in_sandbox(&scratch, |_dir| async move {
        let links = link::connect().await.expect("connect");
        // Really in the sandbox: nothing but its loopback.
        assert_eq!(links.links_with_prefix("").await.unwrap(), ["lo"]);

        let bridge = name('b', "i");
        let gateway = Ipv4Addr::new(10, 77, 0, 1);
        assert!(!links.link_exists(&bridge).await.unwrap());

        links
            .ensure_bridge(&bridge, gateway, 24, 1500)
            .await
            .expect("first");
        links
            .ensure_bridge(&bridge, gateway, 24, 1500)
            .await
            .expect("second");
        let v = view().await;
        let br = v.link(&bridge).expect("bridge exists");
        assert!(br.up, "{br:?}");
        assert_eq!(br.mtu, 1500);
        assert_eq!(br.mac, link::mac_for(gateway), "fixed MAC");
        assert_eq!(
            v.addresses_of(br.index),
            [(gateway, 24)],
            "exactly one address"
        );
        assert!(links.link_exists(&bridge).await.unwrap());
        assert_eq!(
            links.links_with_prefix("mytb").await.unwrap(),
            std::slice::from_ref(&bridge)
        );
        let routes = links.ipv4_routes().await.unwrap();
        assert!(
            routes.contains(&(Ipv4Addr::new(10, 77, 0, 0), 24)),
            "{routes:?}"
        );

        // Someone else's address on the bridge stays; a new MTU is applied.
        let (connection, handle, _) = rtnetlink::new_connection().unwrap();
        let task = tokio::spawn(connection);
        let other = Ipv4Addr::new(10, 78, 0, 1);
        handle
            .address()
            .add(br.index, other.into(), 16)
            .execute()
            .await
            .unwrap();
        links
            .ensure_bridge(&bridge, gateway, 24, 1400)
            .await
            .expect("third");
        let v = view().await;
        let br = v.link(&bridge).unwrap();
        assert_eq!(br.mtu, 1400);
        let mut addresses = v.addresses_of(br.index);
        addresses.sort();
        assert_eq!(addresses, [(gateway, 24), (other, 16)]);

        // The main table only, with the default route as (0.0.0.0, 0).
        handle
            .route()
            .add(
                RouteMessageBuilder::<Ipv4Addr>::new()
                    .gateway(Ipv4Addr::new(10, 77, 0, 254))
                    .build(),
            )
            .execute()
            .await
            .unwrap();
        handle
            .route()
            .add(
                RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(Ipv4Addr::new(192, 168, 50, 0), 24)
                    .gateway(Ipv4Addr::new(10, 77, 0, 254))
                    .table_id(100)
                    .build(),
            )
            .execute()
            .await
            .unwrap();
        let routes = links.ipv4_routes().await.unwrap();
        assert!(routes.contains(&(Ipv4Addr::UNSPECIFIED, 0)), "{routes:?}");
        assert!(
            routes.contains(&(Ipv4Addr::new(10, 78, 0, 0), 16)),
            "{routes:?}"
        );
        assert!(
            !routes.contains(&(Ipv4Addr::new(192, 168, 50, 0), 24)),
            "a route of table 100: {routes:?}"
        );
        task.abort();

        // A link of that name that is not a bridge is refused and left as it was.
        let veth = name('v', "i");
        let peer = name('p', "i");
        make_foreign_veth(&veth, &peer).await;
        let err = links
            .ensure_bridge(&veth, gateway, 24, 1400)
            .await
            .expect_err("a veth is not a bridge");
        assert!(matches!(err, LinkError::NotABridge { .. }), "{err}");
        let v = view().await;
        let foreign = v.link(&veth).unwrap();
        assert_eq!(foreign.mtu, 1500);
        assert!(v.addresses_of(foreign.index).is_empty());

        // Bad input is one clear error, before the kernel sees it.
        let err = links
            .ensure_bridge("averyveryverylongbridge", gateway, 24, 1500)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("longer than 15"), "{err}");
        let err = links
            .ensure_bridge(&bridge, gateway, 33, 1500)
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::InvalidPrefix(33)), "{err}");

        links.delete_link(&veth).await.expect("delete veth");
        links.delete_link(&bridge).await.expect("delete bridge");
        assert!(!links.link_exists(&bridge).await.unwrap());
        assert!(
            !links.link_exists(&peer).await.unwrap(),
            "the peer goes too"
        );
        links
            .delete_link(&bridge)
            .await
            .expect("deleting a missing link is ok");
        assert_eq!(links.links_with_prefix("").await.unwrap(), ["lo"]);
    });
}

#[test]
fn attach_connects_two_namespaces_through_the_bridge() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    in_sandbox(&scratch, |dir| async move {
        let links = link::connect().await.expect("connect");
        let bridge = name('b', "a");
        let gateway = Ipv4Addr::new(10, 77, 0, 1);
        links
            .ensure_bridge(&bridge, gateway, 24, 1400)
            .await
            .unwrap();

        let (ns_a, ns_b) = (dir.join("a"), dir.join("b"));
        netns::create(&ns_a).unwrap();
        netns::create(&ns_b).unwrap();
        let (ip_a, ip_b) = (Ipv4Addr::new(10, 77, 0, 2), Ipv4Addr::new(10, 77, 0, 3));
        let (host_a, host_b) = (name('v', "a0"), name('v', "a1"));
        let a = Attachment {
            bridge: &bridge,
            host_ifname: &host_a,
            netns: &ns_a,
            ifname: "eth0",
            address: ip_a,
            prefix_len: 24,
            gateway: Some(gateway),
            mac: link::mac_for(ip_a),
            mtu: 1400,
        };
        // B without a gateway: no default route, same subnet still reachable.
        let b = Attachment {
            host_ifname: &host_b,
            netns: &ns_b,
            address: ip_b,
            gateway: None,
            mac: link::mac_for(ip_b),
            ..a.clone()
        };
        // Two containers at once.
        let (ra, rb) = tokio::join!(links.attach(&a), links.attach(&b));
        ra.expect("attach a");
        rb.expect("attach b");

        // The host side: both ends on the bridge, up, at the MTU; no peer left behind.
        let host = view().await;
        let br = host.link(&bridge).unwrap().index;
        for name in [&host_a, &host_b] {
            let l = host
                .link(name)
                .unwrap_or_else(|| panic!("{name} missing: {host:?}"));
            assert_eq!(l.controller, Some(br), "{l:?}");
            assert!(l.up, "{l:?}");
            assert_eq!(l.mtu, 1400);
        }
        // The container ends were born in their namespaces (the sandbox standing in
        // for the host has no eth0 of its own).
        assert!(host.link("eth0").is_none(), "{host:?}");

        // Inside A: eth0 with the MAC, MTU, address, up, and the default route.
        let inside = view_in(&ns_a);
        let mut names = inside.names();
        names.sort();
        assert_eq!(names, ["eth0", "lo"]);
        let eth0 = inside.link("eth0").unwrap();
        assert_eq!(eth0.mac, [0x02, 0x4d, 10, 77, 0, 2]);
        assert_eq!(eth0.mtu, 1400);
        assert!(eth0.up);
        assert_eq!(inside.addresses_of(eth0.index), [(ip_a, 24)]);
        let default = inside
            .routes
            .iter()
            .find(|r| r.prefix_len == 0)
            .unwrap_or_else(|| panic!("no default route: {:?}", inside.routes));
        assert_eq!(default.destination, Ipv4Addr::UNSPECIFIED);
        assert_eq!(default.gateway, Some(gateway));
        assert_eq!(default.oif, Some(eth0.index));

        let inside_b = view_in(&ns_b);
        assert!(
            inside_b.routes.iter().all(|r| r.prefix_len != 0),
            "B asked for no default route: {:?}",
            inside_b.routes
        );
        assert_eq!(inside_b.link("eth0").unwrap().mac, link::mac_for(ip_b));

        // A datagram from B reaches A, across the bridge.
        let rx = netns::run_in(&ns_a, move || UdpSocket::bind((ip_a, 0)))
            .unwrap()
            .expect("bind in A");
        rx.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let to = rx.local_addr().unwrap();
        let tx = netns::run_in(&ns_b, move || UdpSocket::bind((ip_b, 0)))
            .unwrap()
            .expect("bind in B");
        let mut got = None;
        let mut buf = [0u8; 64];
        // A few tries: the first one waits for ARP (the kernel queues it meanwhile).
        for _ in 0..10 {
            tx.send_to(b"hello from b", to).expect("send from B");
            if let Ok((n, from)) = rx.recv_from(&mut buf) {
                got = Some((buf[..n].to_vec(), from));
                break;
            }
        }
        let (payload, from) = got.expect("no datagram from B reached A");
        assert_eq!(payload, b"hello from b");
        assert_eq!(
            from,
            SocketAddr::from((ip_b, tx.local_addr().unwrap().port()))
        );

        // Deleting the host end takes the container's end with it.
        links.delete_link(&host_a).await.unwrap();
        assert_eq!(view_in(&ns_a).names(), ["lo"]);
        assert!(!links.link_exists(&host_a).await.unwrap());
        links.delete_link(&host_b).await.unwrap();
        links.delete_link(&bridge).await.unwrap();
        netns::remove(&ns_a).unwrap();
        netns::remove(&ns_b).unwrap();
        assert_eq!(links.links_with_prefix("").await.unwrap(), ["lo"]);
    });
}

#[test]
fn a_failed_attach_leaves_no_veth_behind() {
    if not_root() {
        return;
    }
    let scratch = Scratch::new();
    in_sandbox(&scratch, |dir| async move {
        let links = link::connect().await.expect("connect");
        let bridge = name('b', "f");
        links
            .ensure_bridge(&bridge, Ipv4Addr::new(10, 77, 0, 1), 24, 1500)
            .await
            .unwrap();
        let ns = dir.join("c");
        netns::create(&ns).unwrap();
        let host = name('v', "f");
        let ok = Attachment {
            bridge: &bridge,
            host_ifname: &host,
            netns: &ns,
            ifname: "eth0",
            address: Ipv4Addr::new(10, 77, 0, 5),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 77, 0, 1)),
            mac: link::mac_for(Ipv4Addr::new(10, 77, 0, 5)),
            mtu: 1500,
        };
        let nothing_left = |what: &str, host_view: View| {
            assert!(
                host_view.link(&host).is_none() && host_view.link("eth0").is_none(),
                "{what}: a veth is left on the host: {:?}",
                host_view.names()
            );
            assert_eq!(
                view_in(&ns).names(),
                ["lo"],
                "{what}: a link is left inside"
            );
        };

        // Missing bridge: refused before anything is made.
        let missing = name('b', "x");
        let err = links
            .attach(&Attachment {
                bridge: &missing,
                ..ok.clone()
            })
            .await
            .expect_err("missing bridge");
        assert!(matches!(err, LinkError::NotFound { .. }), "{err}");
        nothing_left("missing bridge", view().await);

        // The container end's name is taken in the namespace ("lo"): the pair is never made.
        let err = links
            .attach(&Attachment {
                ifname: "lo",
                ..ok.clone()
            })
            .await
            .expect_err("a name taken inside");
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(err.to_string().contains("creating veth pair"), "{err}");
        nothing_left("name clash inside", view().await);

        // Fails at the last step: a gateway outside the container's subnet.
        let err = links
            .attach(&Attachment {
                gateway: Some(Ipv4Addr::new(10, 99, 0, 1)),
                ..ok.clone()
            })
            .await
            .expect_err("unreachable gateway");
        assert!(err.to_string().contains("default route"), "{err}");
        nothing_left("unreachable gateway", view().await);

        // Not a namespace.
        let plain = dir.join("plain");
        fs::write(&plain, b"").unwrap();
        let err = links
            .attach(&Attachment {
                netns: &plain,
                ..ok.clone()
            })
            .await
            .expect_err("not a namespace");
        assert!(matches!(err, LinkError::Namespace { .. }), "{err}");
        nothing_left("not a namespace", view().await);

        // A name the kernel cannot take.
        let err = links
            .attach(&Attachment {
                host_ifname: "averyveryverylongveth",
                ..ok.clone()
            })
            .await
            .expect_err("long name");
        assert!(matches!(err, LinkError::InvalidName { .. }), "{err}");
        nothing_left("long name", view().await);

        // A host name that is already someone else's link: refused, and that link stays.
        let (foreign, foreign_peer) = (name('v', "g"), name('p', "g"));
        make_foreign_veth(&foreign, &foreign_peer).await;
        let err = links
            .attach(&Attachment {
                host_ifname: &foreign,
                ..ok.clone()
            })
            .await
            .expect_err("host name taken");
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(
            links.link_exists(&foreign).await.unwrap(),
            "someone else's link was deleted"
        );
        nothing_left("host name taken", view().await);

        // And the same attachment, done right, works after all those failures.
        links.attach(&ok).await.expect("attach");
        assert!(links.link_exists(&host).await.unwrap());
        links.delete_link(&host).await.unwrap();
        links.delete_link(&foreign).await.unwrap();
        links.delete_link(&bridge).await.unwrap();
        netns::remove(&ns).unwrap();
    });
}

/// The real host namespace, read only: a connection opens and lookups work. Nothing is
/// created there.
#[tokio::test]
async fn host_namespace_lookups() {
    if not_root() {
        return;
    }
    let links: Links = link::connect()
        .await
        .expect("connect in the host namespace");
    assert!(links.link_exists("lo").await.unwrap());
    assert!(
        links
            .links_with_prefix("lo")
            .await
            .unwrap()
            .contains(&"lo".to_owned())
    );
    // Deleting a link that does not exist is fine (and touches nothing).
    let absent = name('x', "h");
    assert!(!links.link_exists(&absent).await.unwrap());
    links
        .delete_link(&absent)
        .await
        .expect("delete of a missing link");
    links.ipv4_routes().await.expect("routes");
}
