//! Load generator for bench/proxy.sh: a backend server and the clients that measure
//! throughput and connection rate through a proxy (or directly).
//!
//! ```text
//! loadgen server ADDR                    backend: answers each connection by its first byte
//! loadgen upload ADDR SECONDS STREAMS    client to server for SECONDS, prints MiB/s received
//! loadgen download ADDR SECONDS STREAMS  server to client for SECONDS, prints MiB/s received
//! loadgen connect ADDR COUNT             COUNT sequential connect/ping/close (for hyperfine)
//! ```
//! Loopback only; every run is bounded by its SECONDS or COUNT.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let addr = || -> SocketAddr { arg(1).parse().expect("ADDR as ip:port") };
    let number = |i: usize| -> u64 { arg(i).parse().expect("a number") };
    let result = match arg(0) {
        "server" => server(addr()),
        "upload" => stream(addr(), b'u', number(2), number(3)),
        "download" => stream(addr(), b'd', number(2), number(3)),
        "connect" => connect(addr(), number(2)),
        _ => {
            eprintln!("usage: loadgen server|upload|download|connect ADDR ...");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loadgen: {err}");
            ExitCode::FAILURE
        }
    }
}

fn server(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || {
            let _ = serve(stream);
        });
    }
    Ok(())
}

/// First byte: `u` read and count until EOF, then send the count; `d` send until the
/// client goes away; `p` answer one byte and wait for the client to close.
fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut mode = [0u8; 1];
    stream.read_exact(&mut mode)?;
    match mode[0] {
        b'u' => {
            let mut buf = vec![0u8; CHUNK];
            let mut total: u64 = 0;
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            stream.write_all(&total.to_be_bytes())
        }
        b'd' => {
            let buf = vec![0x5au8; CHUNK];
            while stream.write_all(&buf).is_ok() {}
            Ok(())
        }
        b'p' => {
            stream.write_all(b"k")?;
            let mut rest = [0u8; 1];
            let _ = stream.read(&mut rest);
            Ok(())
        }
        other => Err(io::Error::other(format!("unknown mode {other}"))),
    }
}

/// STREAMS connections moving data one way for SECONDS; prints the MiB/s that
/// arrived at the receiving end.
fn stream(addr: SocketAddr, mode: u8, seconds: u64, streams: u64) -> io::Result<()> {
    let duration = Duration::from_secs(seconds);
    let workers: Vec<_> = (0..streams)
        .map(|_| thread::spawn(move || one_stream(addr, mode, duration)))
        .collect();
    let mut bytes = 0u64;
    for worker in workers {
        bytes += worker.join().expect("worker")?;
    }
    let mib_per_s = bytes as f64 / (1 << 20) as f64 / duration.as_secs_f64();
    println!("{mib_per_s:.0}");
    Ok(())
}

fn one_stream(addr: SocketAddr, mode: u8, duration: Duration) -> io::Result<u64> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(&[mode])?;
    let deadline = Instant::now() + duration;
    if mode == b'u' {
        let buf = vec![0xa5u8; CHUNK];
        while Instant::now() < deadline {
            stream.write_all(&buf)?;
        }
        stream.shutdown(Shutdown::Write)?;
        let mut count = [0u8; 8];
        stream.read_exact(&mut count)?;
        Ok(u64::from_be_bytes(count))
    } else {
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        while Instant::now() < deadline {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::other("server closed early"));
            }
            total += n as u64;
        }
        Ok(total)
    }
}

fn connect(addr: SocketAddr, count: u64) -> io::Result<()> {
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.write_all(b"p")?;
        let mut reply = [0u8; 1];
        stream.read_exact(&mut reply)?;
    }
    Ok(())
}
