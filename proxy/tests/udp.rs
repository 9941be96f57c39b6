//! UDP through myproxy on 127.0.0.1 and ::1, each case also run through Debian's
//! docker-proxy where it supports it, to check the tests themselves.

mod support;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use support::{BOTH, Impl, Proxy, UdpEcho, V4, V6, free_udp_port, udp_round_trip};

const CLIENTS: usize = 10;

fn round_trips_from_ten_clients(which: Impl, ip: IpAddr) {
    let server = UdpEcho::start(ip);
    let proxy = Proxy::forward(which, "udp", free_udp_port(ip), server.addr, &[]);
    let host = proxy.at(ip);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            thread::spawn(move || -> Result<SocketAddr, String> {
                let socket = UdpSocket::bind((ip, 0)).unwrap();
                socket.connect(host).unwrap();
                for round in 0..20usize {
                    // Sizes from 1 byte to near the 64 KiB datagram limit.
                    let len = 1 + (i * 7919 + round * 3301) % 60_000;
                    let payload: Vec<u8> = (0..len).map(|b| (b * 31 + i + round) as u8).collect();
                    udp_round_trip(&socket, None, &payload)
                        .map_err(|e| format!("client {i} round {round}: {e}"))?;
                }
                Ok(socket.local_addr().unwrap())
            })
        })
        .collect();
    for client in clients {
        client
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{which:?} {ip}: {e}"));
    }
    // One flow per client: the backend saw exactly ten distinct sources.
    let mut sources = server.sources.lock().unwrap().clone();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), CLIENTS, "{which:?} {ip}: {sources:?}");
}

#[test]
fn round_trips_from_ten_clients_ipv4() {
    for which in BOTH {
        round_trips_from_ten_clients(which, V4);
    }
}

#[test]
fn round_trips_from_ten_clients_ipv6() {
    for which in BOTH {
        round_trips_from_ten_clients(which, V6);
    }
}

#[test]
fn reply_comes_from_the_address_the_client_targeted() {
    // The proxy listens on 0.0.0.0; the client sends to 127.0.0.2 on a connected
    // socket, which drops datagrams from any other source. Left to itself the kernel
    // would answer from 127.0.0.1.
    //
    // Deliberate difference from Debian's docker-proxy (20.10), which replies with
    // WriteToUDP and no source address; newer docker-proxy sets it as myproxy does.
    // So myproxy only.
    let server = UdpEcho::start(V4);
    let port = free_udp_port(V4).port();
    let host = SocketAddr::new("0.0.0.0".parse().unwrap(), port);
    let _proxy = Proxy::forward(Impl::MyProxy, "udp", host, server.addr, &[]);
    let socket = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    socket.connect(("127.0.0.2", port)).unwrap();
    udp_round_trip(&socket, None, b"which address?").unwrap();
}

#[test]
fn idle_flows_are_forgotten_after_the_timeout() {
    let server = UdpEcho::start(V4);
    let proxy = Proxy::forward(
        Impl::MyProxy,
        "udp",
        free_udp_port(V4),
        server.addr,
        &["-udp-idle-timeout", "300ms"],
    );
    let socket = UdpSocket::bind((V4, 0)).unwrap();
    socket.connect(proxy.at(V4)).unwrap();
    let flow_source = || *server.sources.lock().unwrap().last().unwrap();

    udp_round_trip(&socket, None, b"one").unwrap();
    let first = flow_source();
    udp_round_trip(&socket, None, b"two").unwrap();
    assert_eq!(flow_source(), first, "a busy flow was replaced");

    // Well past the timeout: the next datagram needs a new flow (a new source port).
    thread::sleep(Duration::from_secs(2));
    udp_round_trip(&socket, None, b"three").unwrap();
    assert_ne!(flow_source(), first, "the idle flow was kept");
}

#[test]
fn dual_stack_serves_ipv4_and_ipv6_in_one_process() {
    let server = UdpEcho::start(V4);
    let port = free_udp_port(V6).port();
    let host = SocketAddr::new("::".parse().unwrap(), port);
    let _proxy = Proxy::forward(Impl::MyProxy, "udp", host, server.addr, &["-dual-stack"]);
    for ip in [V4, V6] {
        let socket = UdpSocket::bind((ip, 0)).unwrap();
        udp_round_trip(&socket, Some(SocketAddr::new(ip, port)), b"hello").unwrap();
    }
}

#[test]
fn use_listen_fd_takes_the_socket_from_fd_4() {
    // Debian's docker-proxy (20.10) predates -use-listen-fd, so myproxy only.
    let server = UdpEcho::start(V4);
    let listener = UdpSocket::bind((V4, 0)).unwrap();
    let host = listener.local_addr().unwrap();
    let mut args = support::forward_args("udp", host, server.addr);
    args.push("-use-listen-fd".into());
    let proxy = Proxy::start(Impl::MyProxy, &args, &[listener.as_raw_fd()]);
    assert_eq!(proxy.status, "0\n");
    drop(listener);
    let socket = UdpSocket::bind((V4, 0)).unwrap();
    udp_round_trip(&socket, Some(host), b"via fd 4").unwrap();
}

#[test]
fn port_in_use_is_reported_on_fd_3() {
    let taken = UdpSocket::bind((V4, 0)).unwrap();
    for which in BOTH {
        let args = support::forward_args("udp", taken.local_addr().unwrap(), free_udp_port(V4));
        let mut proxy = Proxy::start(which, &args, &[]);
        assert!(
            proxy.status.starts_with("1\n"),
            "{which:?}: {:?}",
            proxy.status
        );
        assert!(
            proxy.status.contains("address already in use"),
            "{which:?}: {:?}",
            proxy.status
        );
        assert!(!proxy.wait().success(), "{which:?}");
    }
}

#[test]
fn sigterm_exits_0() {
    let server = UdpEcho::start(V4);
    for which in BOTH {
        let mut proxy = Proxy::forward(which, "udp", free_udp_port(V4), server.addr, &[]);
        let socket = UdpSocket::bind((V4, 0)).unwrap();
        udp_round_trip(&socket, Some(proxy.at(V4)), b"ping").unwrap();
        if which == Impl::DockerProxy {
            // docker-proxy installs its handler in a goroutine started just before
            // it reports ready; give it a moment (myproxy blocks SIGTERM before).
            thread::sleep(Duration::from_millis(300));
        }
        proxy.signal(libc::SIGTERM);
        assert_eq!(proxy.wait().code(), Some(0), "{which:?}");
    }
}
