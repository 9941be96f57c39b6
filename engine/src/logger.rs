//! The json-file logging program: the shim starts `myengined log-driver path <file>` for a
//! `binary://` log URI (as containerd's shims do), with the container's stdout pipe on
//! fd 3, its stderr pipe on fd 4 and a readiness pipe on fd 5. It appends Docker's
//! json-file lines to the file until both pipes reach end of file, or until SIGTERM
//! (containerd 1.6's shim keeps its ends of the pipes open until the task is deleted,
//! then closes them and sends SIGTERM), after which it writes what the pipes still hold.
//!
//! It lives in its own process, beside the shim rather than inside the engine, so a
//! container's output is recorded (and the container never blocks on a full pipe) while
//! the engine is down or restarting. It is synchronous and small: one thread, `poll(2)`.
//!
//! While it runs it holds a shared `flock` on the log file: a reader that saw the
//! container exit takes an exclusive lock to learn that every byte has been written
//! (see `daemon::logs`).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use chrono::{DateTime, Timelike, Utc};

/// The first argument that makes `myengined` run as the logging program.
pub const LOG_DRIVER_ARG: &str = "log-driver";

/// Docker splits output lines longer than this into several entries (its copier's
/// buffer size), so one huge line cannot take unbounded memory.
pub const MAX_ENTRY: usize = 16 * 1024;

/// How long a partial line (no newline yet) may wait for the rest before it is written
/// as its own entry: long enough to join a line written in pieces, short enough that an
/// interactive prompt shows at once.
const PARTIAL_FLUSH_MS: i32 = 20;

const STDOUT_FD: RawFd = 3;
const STDERR_FD: RawFd = 4;
const READY_FD: RawFd = 5;

/// The `binary://` URI that makes the shim run `engine_exe` as the logging program for
/// `log_path`, rotating as `opts` say. Path bytes outside the unreserved set are
/// percent-encoded (the shim decodes `+` as a space, so it is encoded too). The options
/// travel as query pairs in bytes, so the program never parses units.
pub fn log_uri(engine_exe: &Path, log_path: &Path, opts: &LogOptions) -> String {
    format!(
        "binary://{}?{LOG_DRIVER_ARG}&path={}&{MAX_SIZE}={}&{MAX_FILE}={}",
        encode(&engine_exe.to_string_lossy(), true),
        encode(&log_path.to_string_lossy(), false),
        opts.max_size.map_or(-1, |n| n as i64),
        opts.max_file
    )
}

/// The `max-size` log option (and logging-program argument).
pub const MAX_SIZE: &str = "max-size";
/// The `max-file` log option (and logging-program argument).
pub const MAX_FILE: &str = "max-file";
/// The only log driver there is.
pub const JSON_FILE: &str = "json-file";
/// Our default `max-size` (Docker's json-file is unbounded unless told; a container that
/// talks forever must not fill the disk).
pub const DEFAULT_MAX_SIZE: u64 = 10_000_000;
/// Our default `max-file`.
pub const DEFAULT_MAX_FILE: u32 = 3;

/// How a container's json-file log rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Bytes a file may hold before the next entry goes to a fresh one; `None`: no limit.
    pub max_size: Option<u64>,
    /// Files kept in all, the one being written included (at least 1).
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

/// A log option Docker's json-file driver would refuse (or one we do not support); the
/// text is the message the API answers with (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogOptError(pub String);

/// Keys Docker's json-file driver knows; `max-size` and `max-file` are honoured, the
/// others (labels, env, tag, compress) are accepted only when they ask for nothing.
const KNOWN_KEYS: &[&str] = &[
    MAX_SIZE,
    MAX_FILE,
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

impl LogOptions {
    /// Checks a log driver name and its options, as `HostConfig.LogConfig` or the
    /// daemon's `--log-opt`s give them: Docker's keys and messages, our defaults for what
    /// is not set.
    pub fn from_config(
        kind: &str,
        config: &std::collections::BTreeMap<String, String>,
    ) -> Result<LogOptions, LogOptError> {
        if !kind.is_empty() && kind != JSON_FILE {
            return Err(LogOptError(format!(
                "log driver {kind:?} is not supported: this engine has only json-file"
            )));
        }
        for (key, value) in config {
            match key.as_str() {
                MAX_SIZE | MAX_FILE => {}
                "compress" if matches!(value.as_str(), "" | "false" | "0") => {}
                "labels" | "labels-regex" | "env" | "env-regex" | "tag" if value.is_empty() => {}
                k if KNOWN_KEYS.contains(&k) => {
                    return Err(LogOptError(format!(
                        "log opt '{k}' is not supported by this engine's json-file driver"
                    )));
                }
                k => {
                    return Err(LogOptError(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )));
                }
            }
        }
        let max_size = match config.get(MAX_SIZE) {
            None => Some(DEFAULT_MAX_SIZE),
            Some(v) => parse_size(v)?,
        };
        let (max_file, explicit) = match config.get(MAX_FILE) {
            None => (DEFAULT_MAX_FILE, false),
            Some(v) => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    LogOptError(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
                })?;
                if n < 1 {
                    return Err(LogOptError("max-file cannot be less than 1".into()));
                }
                (u32::try_from(n).unwrap_or(u32::MAX), true)
            }
        };
        if max_size.is_none() && explicit && max_file > 1 {
            return Err(LogOptError(
                "max-file cannot be greater than 1 when max-size is unlimited (-1)".into(),
            ));
        }
        Ok(LogOptions {
            max_size,
            max_file: if max_size.is_none() { 1 } else { max_file },
        })
    }
}

/// Parses `max-size` as Docker does (go-units `FromHumanSize`: decimal multipliers, so
/// `10m` is 10,000,000 bytes; `k`, `m`, `g`, `t`, `p`, optional `b`/`ib`, a fraction
/// allowed), plus `-1` for no limit. `None` means unlimited.
pub fn parse_size(s: &str) -> Result<Option<u64>, LogOptError> {
    if s == "-1" {
        return Ok(None);
    }
    let invalid = || LogOptError(format!("invalid size: '{s}'"));
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(invalid());
    }
    let value: f64 = num.parse().map_err(|_| invalid())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "p" => 1e15,
        _ => return Err(invalid()),
    };
    let bytes = (value * mult) as u64;
    if bytes == 0 {
        return Err(LogOptError("max-size must be a positive number".into()));
    }
    Ok(Some(bytes))
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `args` (argv without argv[0]) are a logging-program invocation. The shims
/// build argv from the URI's query: ours in order, as `log-driver path <file> max-size
/// <n> max-file <n>`; containerd 1.6's in Go map order, with a bare key followed by an
/// empty value, so `max-file 3 log-driver "" path <file> max-size 10` or any other order.
pub fn is_logger_invocation(args: &[String]) -> bool {
    match args.first().map(String::as_str) {
        Some(LOG_DRIVER_ARG) => true,
        Some("path" | MAX_SIZE | MAX_FILE) => args.iter().any(|a| a == LOG_DRIVER_ARG),
        _ => false,
    }
}

/// What the logging program's arguments ask for.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    path: String,
    opts: LogOptions,
}

/// The logging program's arguments, in any order: `log-driver` (optionally followed by
/// the empty value containerd's shim gives a bare key), `path <file>`, and `max-size
/// <bytes or -1>` and `max-file <n>` (absent: no rotation, as before rotation existed).
fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut path = None;
    let mut opts = LogOptions {
        max_size: None,
        max_file: 1,
    };
    let mut it = args.iter().peekable();
    while let Some(k) = it.next() {
        match k.as_str() {
            LOG_DRIVER_ARG => {
                it.next_if(|v| v.is_empty());
            }
            key @ ("path" | MAX_SIZE | MAX_FILE) => {
                let Some(v) = it.next().filter(|v| !v.is_empty()) else {
                    return Err(format!("the {key} argument has no value"));
                };
                let bad = || format!("bad {key} {v:?}");
                match key {
                    "path" => path = Some(v.clone()),
                    MAX_SIZE => {
                        let n: i64 = v.parse().map_err(|_| bad())?;
                        opts.max_size = match n {
                            -1 => None,
                            n if n > 0 => Some(n as u64),
                            _ => return Err(bad()),
                        };
                    }
                    _ => {
                        opts.max_file = v.parse().ok().filter(|&n| n >= 1).ok_or_else(bad)?;
                    }
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let path = path.ok_or("missing the path argument")?;
    Ok(Args { path, opts })
}

/// Set by SIGTERM: containerd's shim sends it when the task is deleted (right after
/// closing its ends of the output pipes) and kills us if we are not gone soon after.
static TERMINATING: AtomicBool = AtomicBool::new(false);

/// The write end of the self-pipe that wakes `poll` on SIGTERM, whichever thread the
/// signal lands on (tests run the program in a thread of a bigger process).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigterm(_: libc::c_int) {
    TERMINATING.store(true, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe already wakes the poller.
        unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
}

/// Catches SIGTERM instead of dying at once, which would lose output still in the
/// pipes. Returns the read end of the self-pipe the handler writes to (None if it could
/// not be made: then SIGTERM keeps its default action).
fn catch_sigterm() -> Option<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return None;
    }
    // SAFETY: fresh descriptors from pipe2; the write end stays open for the process's
    // life, for the handler.
    let wake = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    WAKE_FD.store(fds[1], Ordering::SeqCst);
    // SAFETY: installing a handler that only stores to atomics and calls write(2).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
    Some(wake)
}

/// Runs the logging program. `args` are the program's arguments (argv without argv[0]),
/// as [`is_logger_invocation`] accepts them. Returns the exit code.
/// Call it before any async runtime starts: it blocks until the container's output ends,
/// or until SIGTERM, after which it writes what the pipes still hold and exits.
pub fn run_logger(args: &[String]) -> i32 {
    let Args { path, opts } = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("myengined log-driver: {e}");
            return 2;
        }
    };
    let take = |fd: RawFd| -> Option<OwnedFd> {
        // SAFETY: F_GETFD only inspects the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return None;
        }
        // SAFETY: the shim handed these descriptors to us; nothing else owns them.
        Some(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let (Some(out), Some(err)) = (take(STDOUT_FD), take(STDERR_FD)) else {
        eprintln!("myengined log-driver: fds 3 and 4 must be the output pipes");
        return 2;
    };
    // Nothing above fd 5 is ours. A parent that moved the fds into place through
    // temporary duplicates (as F_DUPFD makes them, without close-on-exec) leaves copies
    // here; a copy of the readiness pipe would keep the parent waiting for us forever.
    // SAFETY: closing descriptors nothing in this process uses.
    unsafe { libc::syscall(libc::SYS_close_range, READY_FD as u32 + 1, u32::MAX, 0) };
    let ready = take(READY_FD);
    let wake = catch_sigterm();
    let file = RotatingFile::open(Path::new(&path), opts);
    if let Err(e) = &file {
        // Keep draining anyway: the container must never block on its output.
        eprintln!("myengined log-driver: opening {path}: {e}");
    }
    drop(ready);
    let mut sink = FileSink { file: file.ok() };
    pump([out, err], &mut sink, wake.as_ref());
    if sink.file.is_some() { 0 } else { 1 }
}

/// Opens (creating) a log file for appending and takes the shared lock readers look for.
fn open_locked(path: &Path, truncate: bool) -> std::io::Result<File> {
    // A fresh file (left over by a crash mid-rotation, if it exists) starts empty;
    // otherwise append to what a previous run wrote.
    let file = std::fs::OpenOptions::new()
        .append(!truncate)
        .write(truncate)
        .create(true)
        .truncate(truncate)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// The name of the `n`-th rotated file of `path` (`<id>-json.log.1` is the newest).
pub fn rotated_path(path: &Path, n: u32) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    s.into()
}

/// A json-file log that rotates as Docker's does: before an entry would take the file
/// past `max_size`, `<log>.1` becomes `<log>.2` and so on (the oldest beyond `max_file`
/// is deleted), the full file becomes `<log>.1`, and writing goes on in a fresh `<log>`.
///
/// The name `<log>` never disappears, and always names the file being written, which
/// holds the readers' lock: the full file is hard-linked to `<log>.1` and a fresh file,
/// locked first, is renamed over `<log>`. A reader that sees `<log>` name another inode
/// knows the file it reads is complete.
pub(crate) struct RotatingFile {
    path: std::path::PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
}

impl RotatingFile {
    pub(crate) fn open(path: &Path, opts: LogOptions) -> std::io::Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_locked(path, false)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            file,
            size,
            opts,
        })
    }

    /// Writes whole entries (`data` is a run of json lines), rotating between entries.
    /// A failed rotation keeps writing to the current file: losing the limit beats
    /// losing output.
    pub(crate) fn write_entries(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let Some(max) = self.opts.max_size else {
                self.size += data.len() as u64;
                return self.file.write_all(data);
            };
            // The longest run of whole entries that fits; at least one entry, so an
            // entry bigger than max-size gets a file of its own.
            let room = max.saturating_sub(self.size) as usize;
            let mut end = 0;
            for (i, _) in data.iter().enumerate().filter(|&(_, &b)| b == b'\n') {
                if i < room {
                    end = i + 1;
                } else {
                    break;
                }
            }
            if end == 0 {
                if self.size > 0 {
                    if let Err(e) = self.rotate() {
                        eprintln!(
                            "myengined log-driver: rotating {}: {e}",
                            self.path.display()
                        );
                        self.size = 0; // Try again only after another max-size.
                    }
                    continue;
                }
                end = data
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| i + 1);
            }
            self.file.write_all(&data[..end])?;
            self.size += end as u64;
            data = &data[end..];
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let keep = self.opts.max_file;
        if keep > 1 {
            match std::fs::remove_file(rotated_path(&self.path, keep - 1)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            for n in (1..keep - 1).rev() {
                match std::fs::rename(rotated_path(&self.path, n), rotated_path(&self.path, n + 1))
                {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::hard_link(&self.path, rotated_path(&self.path, 1))?;
        }
        let mut fresh_name = self.path.as_os_str().to_owned();
        fresh_name.push(".new");
        let fresh_name = std::path::PathBuf::from(fresh_name);
        let fresh = open_locked(&fresh_name, true)?;
        std::fs::rename(&fresh_name, &self.path)?;
        self.file = fresh;
        self.size = 0;
        Ok(())
    }
}

/// Where encoded entries go.
trait Sink {
    fn write_entries(&mut self, data: &[u8]);
}

struct FileSink {
    file: Option<RotatingFile>,
}

impl Sink for FileSink {
    fn write_entries(&mut self, data: &[u8]) {
        if let Some(f) = &mut self.file
            && let Err(e) = f.write_entries(data)
        {
            // Losing a line beats blocking the container: report and carry on.
            eprintln!("myengined log-driver: writing the log: {e}");
        }
    }
}

/// One output stream being read.
struct Input {
    fd: Option<OwnedFd>,
    stream: &'static str,
    pending: Vec<u8>,
}

/// Reads both pipes until both reach end of file, writing entries to `sink`. After
/// SIGTERM it reads only what is already there, then writes any partial lines and
/// returns. `wake` becomes readable on SIGTERM.
fn pump(fds: [OwnedFd; 2], sink: &mut impl Sink, wake: Option<&OwnedFd>) {
    let [out, err] = fds;
    let mut inputs = [
        Input {
            fd: Some(out),
            stream: "stdout",
            pending: Vec::new(),
        },
        Input {
            fd: Some(err),
            stream: "stderr",
            pending: Vec::new(),
        },
    ];
    let mut buf = vec![0u8; 64 * 1024];
    let mut batch = Vec::new();
    loop {
        let mut pfds = Vec::with_capacity(2);
        let mut which = Vec::with_capacity(2);
        for (i, input) in inputs.iter().enumerate() {
            if let Some(fd) = &input.fd {
                pfds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
                which.push(i);
            }
        }
        if pfds.is_empty() {
            return;
        }
        let has_partial = inputs.iter().any(|i| !i.pending.is_empty());
        let draining = TERMINATING.load(Ordering::SeqCst);
        let timeout_ms = if draining {
            0
        } else if has_partial {
            PARTIAL_FLUSH_MS
        } else {
            -1
        };
        if let Some(w) = wake.filter(|_| !draining) {
            // Last, so it pairs with nothing in `which`; never read: once set, the
            // flag is all that counts.
            pfds.push(libc::pollfd {
                fd: w.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: pfds is a valid array of pollfd for the duration of the call.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!(
                "myengined log-driver: poll: {}",
                std::io::Error::last_os_error()
            );
            return;
        }
        let now = Utc::now();
        if n == 0 {
            // Quiet for a moment: what is pending is a prompt or a line in progress.
            for input in &mut inputs {
                if !input.pending.is_empty() {
                    let chunk = std::mem::take(&mut input.pending);
                    encode_entry(&chunk, input.stream, now, &mut batch);
                }
            }
            if draining {
                // Asked to stop, and the pipes hold nothing more.
                sink.write_entries(&batch);
                return;
            }
        }
        for (p, &i) in pfds.iter().zip(&which) {
            if p.revents == 0 {
                continue;
            }
            let input = &mut inputs[i];
            let fd = input.fd.as_ref().expect("polled fd is open").as_raw_fd();
            // SAFETY: reading into a buffer we own, of its length.
            let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) {
                    continue;
                }
            }
            if r <= 0 {
                // End of file (or a broken pipe): the rest is a final partial entry.
                if !input.pending.is_empty() {
                    let chunk = std::mem::take(&mut input.pending);
                    encode_entry(&chunk, input.stream, now, &mut batch);
                }
                input.fd = None;
                continue;
            }
            input.pending.extend_from_slice(&buf[..r as usize]);
            take_entries(&mut input.pending, input.stream, now, &mut batch);
        }
        if !batch.is_empty() {
            sink.write_entries(&batch);
            batch.clear();
        }
    }
}

/// Moves every complete entry out of `pending`: lines up to their newline, and
/// [`MAX_ENTRY`]-byte pieces of longer lines.
fn take_entries(pending: &mut Vec<u8>, stream: &str, now: DateTime<Utc>, out: &mut Vec<u8>) {
    let mut start = 0;
    loop {
        let rest = &pending[start..];
        let window = &rest[..rest.len().min(MAX_ENTRY)];
        let end = match window.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if rest.len() >= MAX_ENTRY => MAX_ENTRY,
            None => break,
        };
        encode_entry(&rest[..end], stream, now, out);
        start += end;
    }
    pending.drain(..start);
}

/// Appends one json-file line: `{"log":"…","stream":"stdout","time":"…"}\n`.
pub(crate) fn encode_entry(log: &[u8], stream: &str, time: DateTime<Utc>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"log\":");
    json_string(log, out);
    out.extend_from_slice(b",\"stream\":");
    json_string(stream.as_bytes(), out);
    out.extend_from_slice(b",\"time\":\"");
    out.extend_from_slice(format_time(time).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// A JSON string with Docker's json-file escaping: `"` and `\`, `\n` and `\r` by name,
/// other control bytes and `<`, `>`, `&` as `\u00XX`, invalid UTF-8 as `\ufffd`, and
/// U+2028/U+2029 escaped (so the output is also safe to embed in HTML and JavaScript).
pub(crate) fn json_string(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(v) => (v, false),
            Err(e) => (
                // SAFETY: the prefix up to valid_up_to() is valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(&rest[..e.valid_up_to()]) },
                true,
            ),
        };
        for c in valid.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        rest = &rest[valid.len()..];
        if bad {
            // One replacement per invalid byte, as Go's decoder advances byte by byte.
            out.extend_from_slice(b"\\ufffd");
            rest = &rest[1..];
        }
    }
    out.push(b'"');
}

/// Go's `time.RFC3339Nano` in UTC: nanoseconds with trailing zeros trimmed (none at all
/// for a whole second), as Docker's json-file writes.
pub fn format_time(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::nanoseconds(123_450_000)
    }

    fn escaped(s: &[u8]) -> String {
        let mut v = Vec::new();
        json_string(s, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_like_dockers_json_file() {
        assert_eq!(escaped(b"hi\n"), r#""hi\n""#);
        assert_eq!(escaped(b"a\"b\\c\r\t\x01"), r#""a\"b\\c\r\u0009\u0001""#);
        assert_eq!(escaped(b"<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(escaped("é\u{2028}x".as_bytes()), "\"é\\u2028x\"");
        assert_eq!(escaped(b"a\xffb\xc3"), r#""a\ufffdb\ufffd""#);
        // What we write, serde reads back (invalid bytes aside).
        let s = escaped("x<\"\u{7f}\u{2029}\n".as_bytes());
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "x<\"\u{7f}\u{2029}\n");
    }

    #[test]
    fn time_is_rfc3339_nano_trimmed() {
        assert_eq!(format_time(t()), "2024-01-02T03:04:05.12345Z");
        let whole = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_time(whole), "2024-01-02T03:04:05Z");
        let ns = whole + chrono::Duration::nanoseconds(1);
        assert_eq!(format_time(ns), "2024-01-02T03:04:05.000000001Z");
    }

    #[test]
    fn entry_line_shape() {
        let mut out = Vec::new();
        encode_entry(b"hello\n", "stdout", t(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.12345Z\"}\n"
        );
    }

    fn logs_of(out: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["log"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn splits_lines_and_keeps_partials_pending() {
        let mut pending = b"a\nbc\nde".to_vec();
        let mut out = Vec::new();
        take_entries(&mut pending, "stdout", t(), &mut out);
        assert_eq!(logs_of(&out), ["a\n", "bc\n"]);
        assert_eq!(pending, b"de");

        let mut pending = vec![b'x'; MAX_ENTRY * 2 + 10];
        pending.push(b'\n');
        let mut out = Vec::new();
        take_entries(&mut pending, "stdout", t(), &mut out);
        let logs = logs_of(&out);
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[0].len(), MAX_ENTRY);
        assert_eq!(logs[1].len(), MAX_ENTRY);
        assert_eq!(logs[2], format!("{}\n", "x".repeat(10)));
        assert!(pending.is_empty());
    }

    #[test]
    fn uri_round_trips_through_the_shims_parsing() {
        let uri = log_uri(
            Path::new("/usr/local/bin/my engined"),
            Path::new("/var/lib/my+engine/c&x=1/json.log"),
            &LogOptions::default(),
        );
        assert_eq!(
            uri,
            "binary:///usr/local/bin/my%20engined?log-driver&path=%2Fvar%2Flib%2Fmy%2Bengine%2Fc%26x%3D1%2Fjson.log&max-size=10000000&max-file=3"
        );
        // The shim's rules (shim/src/io.rs `Sink::parse`): split at `?`, `&` and `=`,
        // percent-decode, `+` is a space; empty values are dropped.
        let decode = |s: &str| {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(if b[i] == b'+' { b' ' } else { b[i] });
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        };
        let rest = uri.strip_prefix("binary://").unwrap();
        let (path, query) = rest.split_once('?').unwrap();
        assert_eq!(decode(path), "/usr/local/bin/my engined");
        let mut args = Vec::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            args.push(decode(k));
            if !v.is_empty() {
                args.push(decode(v));
            }
        }
        assert_eq!(
            args,
            [
                "log-driver",
                "path",
                "/var/lib/my+engine/c&x=1/json.log",
                "max-size",
                "10000000",
                "max-file",
                "3"
            ]
        );
        let parsed = parse_args(&args).unwrap();
        assert_eq!(parsed.opts, LogOptions::default());
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_both_shims_argument_orders() {
        // Ours drops the bare key's empty value; containerd 1.6's keeps it, in Go map
        // order (either order).
        for argv in [
            &["log-driver", "path", "/l/c.log"][..],
            &["log-driver", "", "path", "/l/c.log"],
            &["path", "/l/c.log", "log-driver", ""],
            &["path", "/l/c.log", "log-driver"],
        ] {
            let args = strings(argv);
            assert!(is_logger_invocation(&args), "{argv:?}");
            assert_eq!(
                parse_args(&args).map(|a| a.path).as_deref(),
                Ok("/l/c.log"),
                "{argv:?}"
            );
        }
        // With the rotation options, in any of Go's map orders.
        for argv in [
            &[
                "max-file",
                "2",
                "log-driver",
                "",
                "path",
                "/l/c.log",
                "max-size",
                "-1",
            ][..],
            &[
                "max-size",
                "-1",
                "path",
                "/l/c.log",
                "max-file",
                "2",
                "log-driver",
                "",
            ],
            &[
                "log-driver",
                "path",
                "/l/c.log",
                "max-size",
                "-1",
                "max-file",
                "2",
            ],
        ] {
            let args = strings(argv);
            assert!(is_logger_invocation(&args), "{argv:?}");
            let a = parse_args(&args).unwrap();
            assert_eq!(a.path, "/l/c.log");
            assert_eq!(
                a.opts,
                LogOptions {
                    max_size: None,
                    max_file: 2
                }
            );
        }
        // Daemon flags are not the logging program.
        for argv in [
            &["-H", "unix:///x"][..],
            &[],
            &["path", "/x"],
            &["max-size", "1"],
            &["--log-driver"],
        ] {
            assert!(!is_logger_invocation(&strings(argv)), "{argv:?}");
        }
    }

    #[test]
    fn bad_arguments_exit_2() {
        assert_eq!(run_logger(&strings(&["log-driver", "path", ""])), 2);
        assert_eq!(
            run_logger(&strings(&["log-driver", "", "", "path", "/x"])),
            2
        );
        assert_eq!(run_logger(&["log-driver".into()]), 2);
        assert_eq!(
            run_logger(&["log-driver".into(), "max-size".into(), "1m".into()]),
            2
        );
        assert_eq!(run_logger(&["path".into()]), 2);
        for bad in [["max-size", "1k"], ["max-size", "0"], ["max-file", "0"]] {
            let mut argv = strings(&["log-driver", "path", "/x"]);
            argv.extend(strings(&bad));
            assert_eq!(run_logger(&argv), 2, "{bad:?}");
        }
    }

    #[test]
    fn sizes_parse_like_docker() {
        for (text, bytes) in [
            ("1", 1),
            ("1k", 1000),
            ("10m", 10_000_000),
            ("10M", 10_000_000),
            ("1g", 1_000_000_000),
            ("2kb", 2000),
            ("2KiB", 2000),
            ("1.5m", 1_500_000),
            ("3 k", 3000),
        ] {
            assert_eq!(parse_size(text), Ok(Some(bytes)), "{text}");
        }
        assert_eq!(parse_size("-1"), Ok(None));
        for bad in ["", "k", "1x", "-2", "1.k", "1..5", "ten", " 1"] {
            assert_eq!(
                parse_size(bad),
                Err(LogOptError(format!("invalid size: '{bad}'"))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_size("0").unwrap_err().0,
            "max-size must be a positive number"
        );
    }

    fn config(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn log_config_defaults_and_docker_errors() {
        assert_eq!(
            LogOptions::from_config("", &config(&[])),
            Ok(LogOptions {
                max_size: Some(10_000_000),
                max_file: 3
            })
        );
        assert_eq!(
            LogOptions::from_config(
                "json-file",
                &config(&[("max-size", "1m"), ("max-file", "2")])
            ),
            Ok(LogOptions {
                max_size: Some(1_000_000),
                max_file: 2
            })
        );
        // Unlimited: one file, whatever the default max-file.
        assert_eq!(
            LogOptions::from_config("", &config(&[("max-size", "-1")])),
            Ok(LogOptions {
                max_size: None,
                max_file: 1
            })
        );
        let err = |kind: &str, pairs: &[(&str, &str)]| {
            LogOptions::from_config(kind, &config(pairs)).unwrap_err().0
        };
        assert_eq!(
            err("", &[("max-file", "0")]),
            "max-file cannot be less than 1"
        );
        assert_eq!(
            err("", &[("max-file", "x")]),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(err("", &[("max-size", "12q")]), "invalid size: '12q'");
        assert_eq!(
            err("", &[("max-size", "-1"), ("max-file", "2")]),
            "max-file cannot be greater than 1 when max-size is unlimited (-1)"
        );
        assert_eq!(
            err("", &[("foo", "1")]),
            "unknown log opt 'foo' for json-file log driver"
        );
        assert!(err("", &[("tag", "{{.Name}}")]).contains("not supported"));
        assert!(LogOptions::from_config("", &config(&[("compress", "false")])).is_ok());
        for kind in ["none", "local", "syslog"] {
            assert!(err(kind, &[]).contains("not supported"), "{kind}");
        }
    }

    fn read_logs(path: &Path) -> Vec<String> {
        logs_of(&std::fs::read(path).unwrap())
    }

    #[test]
    fn rotates_keeping_max_file_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(1000),
            max_file: 3,
        };
        let mut f = RotatingFile::open(&path, opts).unwrap();
        let mut longest = 0;
        for i in 0..200 {
            let mut entry = Vec::new();
            // Batches of varying length, as the pump writes them.
            for j in 0..(i % 4 + 1) {
                encode_entry(format!("{i}-{j}\n").as_bytes(), "stdout", t(), &mut entry);
            }
            longest = longest.max(entry.len());
            f.write_entries(&entry).unwrap();
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let chain = [rotated_path(&path, 2), rotated_path(&path, 1), path.clone()];
        let mut all = Vec::new();
        for p in &chain {
            let len = std::fs::metadata(p).unwrap().len();
            assert!(len <= 1000, "{} has {len} bytes", p.display());
            all.extend(read_logs(p));
        }
        // The newest entries, contiguous and in order, ending with the last written.
        let expected: Vec<String> = (0..200)
            .flat_map(|i| (0..(i % 4 + 1)).map(move |j| format!("{i}-{j}\n")))
            .collect();
        assert!(expected.ends_with(&all), "{all:?}");
        assert!(all.len() > 20);

        // The file keeps its readers' lock across rotations.
        let cur = File::open(&path).unwrap();
        // SAFETY: flock on our own descriptor.
        assert_ne!(
            unsafe { libc::flock(cur.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        drop(f);
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::flock(cur.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
    }

    #[test]
    fn entries_bigger_than_max_size_get_a_file_each_and_max_file_1_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(10),
            max_file: 1,
        };
        let mut f = RotatingFile::open(&path, opts).unwrap();
        for i in 0..5 {
            let mut e = Vec::new();
            encode_entry(format!("entry {i}\n").as_bytes(), "stderr", t(), &mut e);
            f.write_entries(&e).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(read_logs(&path), ["entry 4\n"]);

        // Unlimited never rotates.
        let mut f = RotatingFile::open(
            &path,
            LogOptions {
                max_size: None,
                max_file: 1,
            },
        )
        .unwrap();
        let mut e = Vec::new();
        encode_entry(b"more\n", "stdout", t(), &mut e);
        f.write_entries(&e).unwrap();
        assert_eq!(read_logs(&path), ["entry 4\n", "more\n"]);
    }
}
