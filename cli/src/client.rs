//! A small blocking HTTP/1.1 client for the Docker Engine API over a UNIX socket, or TCP
//! with or without TLS (see [`crate::tls`]).
//!
//! mycli is benchmarked against docker's start-up, so this is deliberately plain std: one
//! connection per request (UNIX connects cost microseconds), `Content-Length` and chunked
//! bodies both ways, and connection hijacking (`Upgrade: tcp`) for attach and exec, after
//! which the socket carries the container's raw or multiplexed stdio.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::tls::{TlsOptions, TlsStream};

/// The daemon address used when neither `-H` nor `DOCKER_HOST` says otherwise.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The longest response head we accept; a daemon's are a few hundred bytes.
const MAX_HEAD: usize = 64 * 1024;

/// Where the daemon is and how to reach it.
#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    /// `addr` is `HOST:PORT`; `host` the name the daemon's certificate must carry.
    Tcp {
        addr: String,
        host: String,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
}

impl Endpoint {
    /// The address as docker prints it in "Cannot connect to the Docker daemon at ...".
    fn url(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix://{}", p.display()),
            Endpoint::Tcp { addr, .. } => format!("tcp://{addr}"),
        }
    }
}

/// One connection to the daemon. Clones (`try_clone`) share the connection, so one
/// thread can read a hijacked session while another writes to it.
#[derive(Debug)]
pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(TlsStream),
}

impl Conn {
    pub fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
            Conn::Tls(s) => Conn::Tls(s.clone()),
        })
    }

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.shutdown(how),
            Conn::Tcp(s) => s.shutdown(how),
            Conn::Tls(s) => s.shutdown(how),
        }
    }
}

impl Read for &Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => (&*s).read(buf),
            Conn::Tcp(s) => (&*s).read(buf),
            Conn::Tls(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => (&*s).write(buf),
            Conn::Tcp(s) => (&*s).write(buf),
            Conn::Tls(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => (&*s).flush(),
            Conn::Tcp(s) => (&*s).flush(),
            Conn::Tls(s) => (&*s).flush(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

/// A client bound to one daemon and one negotiated API version.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    /// `/v1.41`: the path prefix of every versioned request.
    prefix: String,
    version: String,
}

/// What goes after the head of a request.
pub enum Body<'a> {
    Empty,
    /// A JSON document (sent with `Content-Type: application/json`).
    Json(Vec<u8>),
    /// A byte stream of unknown length (an image archive from stdin), sent chunked.
    Stream(&'a mut dyn Read, &'a str),
    /// A byte stream of known length (an image archive from a file).
    Sized(&'a mut dyn Read, u64, &'a str),
}

impl Client {
    /// Parses a `unix://` `-H`/`DOCKER_HOST` value into its socket path.
    pub fn socket_of(host: &str) -> Result<PathBuf> {
        match host.strip_prefix("unix://") {
            Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
            _ => Err(Error::UnsupportedHost(host.to_owned())),
        }
    }

    /// Parses a `tcp://HOST:PORT` value into `(HOST:PORT, HOST)`. Without a port, the
    /// docker CLI's defaults: 2376 with TLS, 2375 without.
    pub fn tcp_of(host: &str, tls: bool) -> Result<(String, String)> {
        let bad = || Error::UnsupportedHost(host.to_owned());
        let rest = host.strip_prefix("tcp://").ok_or_else(bad)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(bad());
        }
        let default_port = if tls { "2376" } else { "2375" };
        let (name, port) = if rest.starts_with('[') {
            let end = rest.find(']').ok_or_else(bad)?;
            let (name, after) = rest.split_at(end + 1);
            match after {
                "" => (name, default_port),
                p => (name, p.strip_prefix(':').ok_or_else(bad)?),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((n, _)) if n.contains(':') => return Err(bad()),
                Some((n, p)) => (n, p),
                None => (rest, default_port),
            }
        };
        if name.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        Ok((format!("{name}:{port}"), name.to_owned()))
    }

    /// Connects to the daemon at `host` and settles the API version: the lower of ours
    /// and the daemon's (`API-Version` of `/_ping`), unless `DOCKER_API_VERSION` pins one.
    pub fn negotiate(host: &str) -> Result<Client> {
        Self::negotiate_with(host, &TlsOptions::default())
    }

    /// [`Client::negotiate`] with TLS settings for `tcp://` hosts (ignored for UNIX
    /// sockets, as by the docker CLI).
    pub fn negotiate_with(host: &str, tls: &TlsOptions) -> Result<Client> {
        let endpoint = if host.starts_with("tcp://") {
            let (addr, name) = Self::tcp_of(host, tls.enabled)?;
            let config = if tls.enabled {
                Some(tls.client_config()?)
            } else {
                None
            };
            Endpoint::Tcp {
                addr,
                host: name,
                tls: config,
            }
        } else {
            Endpoint::Unix(Self::socket_of(host)?)
        };
        let pinned = std::env::var("DOCKER_API_VERSION")
            .ok()
            .filter(|v| !v.is_empty());
        let mut client = Client {
            endpoint,
            prefix: String::new(),
            version: String::new(),
        };
        let version = match pinned {
            Some(v) => v,
            None => {
                let resp = client.send("GET", "/_ping", Body::Empty)?;
                let server = resp.header("api-version").map(str::to_owned);
                // A daemon too old to say falls back to the oldest version we speak.
                let server = server.unwrap_or_else(|| engine_api::MIN_API_VERSION.to_owned());
                if engine_api::compare_versions(&server, engine_api::API_VERSION).is_lt() {
                    server
                } else {
                    engine_api::API_VERSION.to_owned()
                }
            }
        };
        client.prefix = format!("/v{version}");
        client.version = version;
        Ok(client)
    }

    /// The API version every request uses.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the negotiated version is at least `v`.
    pub fn at_least(&self, v: &str) -> bool {
        engine_api::compare_versions(&self.version, v).is_ge()
    }

    /// The daemon's address: `unix:///path` or `tcp://HOST:PORT`.
    pub fn address(&self) -> String {
        self.endpoint.url()
    }

    fn connect(&self) -> Result<Conn> {
        let refused = |source| Error::Connect {
            address: self.endpoint.url(),
            source,
        };
        match &self.endpoint {
            Endpoint::Unix(path) => UnixStream::connect(path).map(Conn::Unix).map_err(refused),
            Endpoint::Tcp { addr, host, tls } => {
                let sock = TcpStream::connect(addr.as_str()).map_err(refused)?;
                let _ = sock.set_nodelay(true);
                match tls {
                    None => Ok(Conn::Tcp(sock)),
                    Some(config) => TlsStream::handshake(sock, host, config.clone()).map(Conn::Tls),
                }
            }
        }
    }

    /// Sends one request on a fresh connection and reads the response head. The body is
    /// left on the connection for the caller. `path` is unversioned (`/containers/json`).
    pub fn send(&self, method: &str, path: &str, body: Body<'_>) -> Result<Response> {
        self.send_with(method, path, body, &[])
    }

    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Body<'_>,
        headers: &[(&str, &str)],
    ) -> Result<Response> {
        let stream = self.connect()?;
        let full = self.full_path(path);
        let written = write_request(&stream, method, &full, body, headers, false);
        answer(written, stream)
    }

    /// Sends a request and insists on a 2xx answer.
    pub fn request(&self, method: &str, path: &str, body: Body<'_>) -> Result<Response> {
        self.send(method, path, body)?.check()
    }

    /// A request whose JSON answer is parsed into `T`.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.request("GET", path, Body::Empty)?.json()
    }

    pub fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::json("encoding request", e))?;
        self.request("POST", path, Body::Json(bytes))?.json()
    }

    /// A POST whose answer body does not matter (start, stop, kill, resize, ...).
    pub fn post(&self, path: &str) -> Result<()> {
        self.request("POST", path, Body::Empty)?.drain()
    }

    /// Takes over the connection of `method path` for raw stdio (attach, exec start).
    /// Daemons answer `101 Switching Protocols`; old ones `200 OK`.
    pub fn hijack(&self, method: &str, path: &str, body: Body<'_>) -> Result<Hijacked> {
        let stream = self.connect()?;
        let full = self.full_path(path);
        let written = write_request(&stream, method, &full, body, &[], true);
        let resp = answer(written, stream)?;
        if resp.status != 101 && resp.status != 200 {
            let status = resp.status;
            return Err(resp.check().err().unwrap_or_else(|| {
                Error::Protocol(format!("unexpected status {status} on {path}"))
            }));
        }
        let media_type = resp.header("content-type").unwrap_or("").to_owned();
        let writer = resp
            .reader
            .get_ref()
            .try_clone()
            .map_err(|e| Error::io("duplicating the hijacked connection", e))?;
        Ok(Hijacked {
            reader: resp.reader,
            writer,
            media_type,
        })
    }

    fn full_path(&self, path: &str) -> String {
        if path == "/_ping" || self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}{}", self.prefix, path)
        }
    }
}

/// The response to a request whose sending ended with `written`. A daemon may answer
/// (say 404 for an unknown container) before it has read the body and close the
/// connection, so the rest of the body meets a broken pipe: its answer is still there to
/// read, and it is the one that counts, as in Go's HTTP client.
fn answer(written: Result<()>, stream: Conn) -> Result<Response> {
    match written {
        Ok(()) => read_response(stream),
        Err(e) if e.is_broken_connection() => read_response(stream).map_err(|_| e),
        Err(e) => Err(e),
    }
}

fn write_request(
    mut stream: &Conn,
    method: &str,
    path: &str,
    body: Body<'_>,
    extra: &[(&str, &str)],
    upgrade: bool,
) -> Result<()> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: mycli/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if upgrade {
        head.push_str("Connection: Upgrade\r\nUpgrade: tcp\r\n");
    } else {
        head.push_str("Connection: close\r\n");
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let send = |e| Error::io(format!("sending {method} {path}"), e);
    match body {
        Body::Empty => {
            if method == "POST" || method == "PUT" {
                head.push_str("Content-Length: 0\r\n");
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).map_err(send)?;
        }
        Body::Json(bytes) => {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            ));
            stream.write_all(head.as_bytes()).map_err(send)?;
            stream.write_all(&bytes).map_err(send)?;
        }
        Body::Sized(reader, len, content_type) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n"
            ));
            stream.write_all(head.as_bytes()).map_err(send)?;
            let copied = io::copy(&mut reader.take(len), &mut stream).map_err(send)?;
            if copied != len {
                return Err(Error::io(
                    format!("sending {method} {path}"),
                    io::Error::new(io::ErrorKind::UnexpectedEof, "the input ended early"),
                ));
            }
        }
        Body::Stream(reader, content_type) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ));
            stream.write_all(head.as_bytes()).map_err(send)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io("reading the request body", e)),
                };
                stream
                    .write_all(format!("{n:x}\r\n").as_bytes())
                    .and_then(|_| stream.write_all(&buf[..n]))
                    .and_then(|_| stream.write_all(b"\r\n"))
                    .map_err(send)?;
            }
            stream.write_all(b"0\r\n\r\n").map_err(send)?;
        }
    }
    Ok(())
}

fn read_response(stream: Conn) -> Result<Response> {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let broken = |e| Error::io("reading the daemon's response", e);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).map_err(broken)?;
    if status_line.is_empty() {
        return Err(Error::Protocol(
            "the daemon closed the connection without answering".into(),
        ));
    }
    let mut parts = status_line.split_whitespace();
    let (proto, code) = (parts.next(), parts.next());
    let status = match (proto, code.and_then(|c| c.parse::<u16>().ok())) {
        (Some(p), Some(c)) if p.starts_with("HTTP/1.") => c,
        _ => {
            return Err(Error::Protocol(format!(
                "bad status line {:?}",
                status_line.trim_end()
            )));
        }
    };
    let mut headers = Vec::new();
    let mut total = status_line.len();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).map_err(broken)?;
        total += n;
        if n == 0 {
            return Err(Error::Protocol("the response head was cut short".into()));
        }
        if total > MAX_HEAD {
            return Err(Error::Protocol("the response head is too long".into()));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let framing = if status == 101 || status == 204 || status == 304 {
        Framing::Length(0)
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        Framing::Chunked {
            left: 0,
            done: false,
        }
    } else if let Some(len) = header("content-length") {
        Framing::Length(
            len.parse()
                .map_err(|_| Error::Protocol(format!("bad Content-Length {len:?}")))?,
        )
    } else {
        Framing::UntilClose
    };
    Ok(Response {
        status,
        headers,
        reader,
        framing,
    })
}

/// How the end of a response body is found.
#[derive(Debug)]
enum Framing {
    Length(u64),
    /// `left`: bytes of the current chunk not yet read.
    Chunked {
        left: u64,
        done: bool,
    },
    UntilClose,
}

/// A response whose head has been read; the body streams from the connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    reader: BufReader<Conn>,
    framing: Framing,
}

impl Response {
    /// A header's value; `name` in lower case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Turns an error status into `Error::Daemon` with the daemon's message.
    pub fn check(self) -> Result<Response> {
        if self.status < 400 {
            return Ok(self);
        }
        let status = self.status;
        let body = self.bytes()?;
        let message = match serde_json::from_slice::<engine_api::ErrorResponse>(&body) {
            Ok(e) => e.message,
            Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
        };
        Err(Error::Daemon { status, message })
    }

    pub fn bytes(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_to_end(&mut out)
            .map_err(|e| Error::io("reading the daemon's response", e))?;
        Ok(out)
    }

    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        let body = self.bytes()?;
        serde_json::from_slice(&body).map_err(|e| Error::json("decoding the daemon's answer", e))
    }

    pub fn drain(self) -> Result<()> {
        self.bytes().map(drop)
    }

    /// Reads chunk-size lines; `Ok(false)` at the last chunk.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the chunked body was cut short",
            ));
        }
        let size = line.trim_end().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {size:?}"),
            )
        })?;
        if size == 0 {
            // Trailers, then the blank line that ends the body.
            loop {
                let mut t = String::new();
                if self.reader.read_line(&mut t)? == 0 || t.trim_end().is_empty() {
                    break;
                }
            }
            self.framing = Framing::Chunked {
                left: 0,
                done: true,
            };
            return Ok(false);
        }
        self.framing = Framing::Chunked {
            left: size,
            done: false,
        };
        Ok(true)
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::Length(0) => Ok(0),
            Framing::Length(left) => {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = self.reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the response body was cut short",
                    ));
                }
                self.framing = Framing::Length(left - n as u64);
                Ok(n)
            }
            Framing::UntilClose => self.reader.read(buf),
            Framing::Chunked { done: true, .. } => Ok(0),
            Framing::Chunked { left: 0, .. } => {
                if !self.next_chunk()? {
                    return Ok(0);
                }
                self.read(buf)
            }
            Framing::Chunked { left, .. } => {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = self.reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the chunked body was cut short",
                    ));
                }
                let left = left - n as u64;
                if left == 0 {
                    let mut crlf = [0u8; 2];
                    self.reader.read_exact(&mut crlf)?;
                }
                self.framing = Framing::Chunked { left, done: false };
                Ok(n)
            }
        }
    }
}

/// A connection taken over for a container's stdio.
pub struct Hijacked {
    /// What the daemon sends: the container's output (with anything read past the head).
    pub reader: BufReader<Conn>,
    /// Where the container's stdin goes.
    pub writer: Conn,
    /// `application/vnd.docker.raw-stream` or `...multiplexed-stream` (API ≥ 1.42).
    pub media_type: String,
}

impl Hijacked {
    /// Ends the stdin direction: the daemon then closes the process's stdin.
    pub fn close_write(&self) {
        let _ = self.writer.shutdown(Shutdown::Write);
    }
}

/// `?k=v&...` with values percent-encoded; empty when `pairs` is.
pub fn query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = String::from("?");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode(k.as_ref(), false));
        out.push('=');
        out.push_str(&encode(v.as_ref(), false));
    }
    out
}

/// Percent-encodes a path segment, keeping `/`, `:` and `@` as Go's URL escaping does, so
/// image names like `127.0.0.1:5000/busybox:latest` reach the daemon as docker sends them.
pub fn path_segment(s: &str) -> String {
    encode(s, true)
}

fn encode(s: &str, path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (path && matches!(b, b'/' | b':' | b'@'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// Serves one canned response on a temp socket and returns the request it got.
    fn serve(response: &'static [u8]) -> (tempfile::TempDir, std::thread::JoinHandle<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("s")).unwrap();
        let h = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = c.read(&mut buf).unwrap();
                req.extend_from_slice(&buf[..n]);
            }
            c.write_all(response).unwrap();
            req
        });
        (dir, h)
    }

    fn client(dir: &std::path::Path) -> Client {
        Client {
            endpoint: Endpoint::Unix(dir.join("s")),
            prefix: "/v1.41".into(),
            version: "1.41".into(),
        }
    }

    #[test]
    fn chunked_bodies_are_reassembled() {
        let (dir, h) = serve(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        );
        let body = client(dir.path())
            .request("GET", "/x", Body::Empty)
            .unwrap()
            .bytes()
            .unwrap();
        assert_eq!(body, b"hello, world");
        let req = String::from_utf8(h.join().unwrap()).unwrap();
        assert!(req.starts_with("GET /v1.41/x HTTP/1.1\r\n"), "{req}");
    }

    #[test]
    fn errors_carry_the_daemon_message() {
        let (dir, _h) = serve(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n{\"message\":\"No such container: nosuch\"}\n\n",
        );
        let err = client(dir.path())
            .request("GET", "/containers/nosuch/json", Body::Empty)
            .unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "Error response from daemon: No such container: nosuch"
        );
    }

    /// Regression: myengined answered 404 to `exec` on an unknown container before
    /// reading the JSON body and closed; mycli reported the broken pipe instead.
    #[test]
    fn an_answer_given_before_the_body_was_read_counts() {
        let (dir, h) = serve(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n{\"message\":\"No such container: nosuch\"}\n\n",
        );
        // Bigger than the socket buffers, so the write meets the closed connection.
        let body = vec![b' '; 8 << 20];
        let err = client(dir.path())
            .request("POST", "/containers/nosuch/exec", Body::Json(body))
            .unwrap_err();
        h.join().unwrap();
        assert_eq!(
            err.to_string(),
            "Error response from daemon: No such container: nosuch"
        );
    }

    #[test]
    fn a_truncated_body_is_an_error() {
        let (dir, _h) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        let resp = client(dir.path())
            .request("GET", "/x", Body::Empty)
            .unwrap();
        assert!(resp.bytes().is_err());
    }

    #[test]
    fn hijack_keeps_bytes_read_past_the_head() {
        let (dir, _h) = serve(
            b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly output",
        );
        let mut h = client(dir.path())
            .hijack("POST", "/containers/x/attach", Body::Empty)
            .unwrap();
        assert_eq!(h.media_type, engine_api::stream::RAW_STREAM);
        let mut s = String::new();
        h.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "early output");
    }

    #[test]
    fn queries_and_paths_are_escaped() {
        assert_eq!(
            query(&[("filters", r#"{"a":{"b":true}}"#), ("all", "1")]),
            "?filters=%7B%22a%22%3A%7B%22b%22%3Atrue%7D%7D&all=1"
        );
        assert_eq!(
            path_segment("127.0.0.1:5000/busy box:latest"),
            "127.0.0.1:5000/busy%20box:latest"
        );
        assert!(Client::socket_of("tcp://1.2.3.4:2375").is_err());
        let tcp = |h, tls| Client::tcp_of(h, tls).unwrap();
        assert_eq!(
            tcp("tcp://1.2.3.4:2375", false),
            ("1.2.3.4:2375".into(), "1.2.3.4".into())
        );
        assert_eq!(
            tcp("tcp://localhost", true),
            ("localhost:2376".into(), "localhost".into())
        );
        assert_eq!(
            tcp("tcp://[::1]:9", true),
            ("[::1]:9".into(), "[::1]".into())
        );
        for bad in [
            "tcp://",
            "tcp://h:x",
            "tcp://::1:2",
            "tcp://h:1/p",
            "ssh://h",
        ] {
            assert!(Client::tcp_of(bad, true).is_err(), "{bad}");
        }
        assert_eq!(
            Client::socket_of("unix:///tmp/d.sock").unwrap(),
            PathBuf::from("/tmp/d.sock")
        );
    }
}
