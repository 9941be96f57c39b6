//! Reading a container's json-file log (written by the `logger` program) for
//! `GET /containers/{id}/logs` and attach: tail from the end, filter by time and stream,
//! follow appended lines until the container exits, and frame entries for the API.
//!
//! The log rotates (`<log>.2`, `<log>.1`, `<log>`, oldest first): readers go through the
//! rotated files before the current one, and a follower that sees `<log>` name another
//! inode finishes the file it has open and goes on with the ones that came after it.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use engine_api::stream::{StdStream, encode_frame};
use futures_util::Stream;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

/// How often a follower looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// After the container exits, how long to wait for the logging program to write the last
/// output and exit (it holds a shared lock on the file while it runs).
const LOGGER_EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// Entries buffered between the reader task and the consumer.
const CHANNEL_DEPTH: usize = 64;

/// One line (or piece of a long line) of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: StdStream,
    pub time: DateTime<Utc>,
    /// The bytes as the container wrote them, with the newline when the line had one.
    pub line: Vec<u8>,
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries at or before this time; the stream ends at the first later one.
    pub until: Option<DateTime<Utc>>,
    /// Only the last N entries already in the file (counted over both streams, before the
    /// time and stream filters, as Docker does); `None`: all.
    pub tail: Option<usize>,
    /// Keep reading appended entries until `stop` fires.
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    log: String,
    stream: String,
    time: String,
}

/// Parses one json-file line (without its trailing newline). `None` for a line that is
/// not an entry (a torn write after a crash, say): readers skip it.
pub fn parse_entry(line: &[u8]) -> Option<LogEntry> {
    let raw: RawEntry = serde_json::from_slice(line).ok()?;
    let stream = match raw.stream.as_str() {
        "stdout" => StdStream::Stdout,
        "stderr" => StdStream::Stderr,
        _ => return None,
    };
    let time = DateTime::parse_from_rfc3339(&raw.time)
        .ok()?
        .with_timezone(&Utc);
    Some(LogEntry {
        stream,
        time,
        line: raw.log.into_bytes(),
    })
}

/// Docker's timestamp for `logs --timestamps`: RFC 3339 with exactly nine fractional
/// digits (`jsonmessage.RFC3339NanoFixed`), so timestamps line up.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// An entry as the API sends it: optionally prefixed with its timestamp and a space, and
/// in an 8-byte multiplexing frame unless the container has a TTY.
pub fn frame(entry: &LogEntry, timestamps: bool, tty: bool) -> Vec<u8> {
    let mut payload = Vec::with_capacity(entry.line.len() + 32);
    if timestamps {
        payload.extend_from_slice(format_timestamp(entry.time).as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(&entry.line);
    if tty {
        return payload;
    }
    let mut out = Vec::with_capacity(payload.len() + 8);
    encode_frame(entry.stream, &payload, &mut out);
    out
}

/// Reads the log at `path`. The stream ends at the end of the file, or with `follow`
/// once `stop` has fired (the container exited) and everything the container wrote has
/// been read. A missing file is an empty log (a container that never started), which a
/// follower waits for. Dropping the stream stops the reading task.
///
/// Must be called inside a tokio runtime (it spawns the reading task).
pub fn read(
    path: PathBuf,
    opts: ReadOptions,
    stop: CancellationToken,
) -> impl Stream<Item = io::Result<LogEntry>> + Send + Unpin + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let err_tx = tx.clone();
        if let Err(e) = Reader::new(opts, tx).run(&path, stop).await {
            let _ = err_tx.send(Err(e)).await;
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Why reading ended early.
enum Flow {
    Continue,
    /// `until` passed, or the consumer went away.
    Done,
}

struct Reader {
    opts: ReadOptions,
    tx: tokio::sync::mpsc::Sender<io::Result<LogEntry>>,
    /// Bytes of an entry whose newline has not been written yet.
    partial: Vec<u8>,
}

impl Reader {
    fn new(opts: ReadOptions, tx: tokio::sync::mpsc::Sender<io::Result<LogEntry>>) -> Reader {
        Reader {
            opts,
            tx,
            partial: Vec::new(),
        }
    }

    async fn run(mut self, path: &Path, stop: CancellationToken) -> io::Result<()> {
        let chain = loop {
            let p = path.to_owned();
            let chain = blocking(move || open_chain(&p)).await?;
            if !chain.is_empty() {
                break chain;
            }
            if !self.opts.follow || stop.is_cancelled() {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = stop.cancelled() => {}
            }
        };
        let mut queue: VecDeque<(std::fs::File, u64)> = match self.opts.tail {
            Some(n) => blocking(move || tail_chain(chain, n)).await?,
            None => chain.into_iter().map(|f| (f, 0)).collect(),
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut stopping = false;
        while let Some((file, start)) = queue.pop_front() {
            let meta = file.metadata()?;
            let id = (meta.dev(), meta.ino());
            let mut file = tokio::fs::File::from_std(file);
            file.seek(SeekFrom::Start(start)).await?;
            if !self.partial.is_empty() {
                tracing::warn!("skipping an unfinished log line at the end of a rotated file");
                self.partial.clear();
            }
            loop {
                // Everything there is now.
                if let Flow::Done = self.drain(&mut file, &mut buf).await? {
                    return Ok(());
                }
                if !queue.is_empty() {
                    break;
                }
                if !self.opts.follow {
                    return Ok(());
                }
                // Once `path` names another file the logger no longer writes this one:
                // read what it wrote last, then go on with the files after it.
                let p = path.to_owned();
                if let Some(next) = blocking(move || successors(&p, id)).await? {
                    if let Flow::Done = self.drain(&mut file, &mut buf).await? {
                        return Ok(());
                    }
                    if next.is_empty() {
                        // The log is gone (the container was removed).
                        return Ok(());
                    }
                    queue.extend(next.into_iter().map(|f| (f, 0)));
                    break;
                }
                if stopping {
                    return Ok(());
                }
                if self.opts.until.is_some_and(|until| Utc::now() > until) {
                    return Ok(());
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stop.cancelled(), if !stopping => {
                        // The container is gone; its last output may still be on its way
                        // through the logging program. Wait for that to finish, then read
                        // once more (and look once more for a rotation).
                        wait_for_logger(path).await;
                        stopping = true;
                    }
                    _ = self.tx.closed() => return Ok(()),
                }
            }
        }
        Ok(())
    }

    /// Reads `file` to its current end.
    async fn drain(&mut self, file: &mut tokio::fs::File, buf: &mut [u8]) -> io::Result<Flow> {
        loop {
            let n = file.read(buf).await?;
            if n == 0 {
                return Ok(Flow::Continue);
            }
            if let Flow::Done = self.consume(&buf[..n]).await {
                return Ok(Flow::Done);
            }
        }
    }

    /// Splits `data` into lines, keeping an unfinished last line for later.
    async fn consume(&mut self, data: &[u8]) -> Flow {
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let line = if self.partial.is_empty() {
                self.emit_line(&rest[..i]).await
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(&rest[..i]);
                self.emit_line(&whole).await
            };
            if let Flow::Done = line {
                return Flow::Done;
            }
            rest = &rest[i + 1..];
        }
        self.partial.extend_from_slice(rest);
        Flow::Continue
    }

    async fn emit_line(&mut self, line: &[u8]) -> Flow {
        if line.is_empty() {
            return Flow::Continue;
        }
        let Some(entry) = parse_entry(line) else {
            tracing::warn!("skipping a malformed log line ({} bytes)", line.len());
            return Flow::Continue;
        };
        if self.opts.since.is_some_and(|s| entry.time < s) {
            return Flow::Continue;
        }
        if self.opts.until.is_some_and(|u| entry.time > u) {
            return Flow::Done;
        }
        let wanted = match entry.stream {
            StdStream::Stdout => self.opts.stdout,
            StdStream::Stderr => self.opts.stderr,
            _ => false,
        };
        if !wanted {
            return Flow::Continue;
        }
        match self.tx.send(Ok(entry)).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Done,
        }
    }
}

/// Waits until no logging program holds the file (it takes a shared lock while it runs),
/// or a bounded time.
async fn wait_for_logger(path: &Path) {
    let deadline = tokio::time::Instant::now() + LOGGER_EXIT_TIMEOUT;
    loop {
        let free = match std::fs::File::open(path) {
            Ok(f) => {
                // SAFETY: flock on a descriptor we own; closing it releases the lock.
                unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
            }
            Err(_) => true,
        };
        if free || tokio::time::Instant::now() >= deadline {
            if !free {
                tracing::debug!(path = %path.display(), "logging program still running; reading what is there");
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// How many rotated files a reader looks for; far above any sane `max-file`.
const MAX_ROTATED: u32 = 10_000;

/// Opens `path` and its rotated files, newest first, stopping at the first missing one
/// or at the file with inode `stop_at` (included). Renames under our feet show as the
/// same inode opened twice (a file moving from `.n` to `.n+1` as we go from one to the
/// next); then we look again.
fn open_newest_first(path: &Path, stop_at: Option<(u64, u64)>) -> io::Result<Vec<std::fs::File>> {
    'again: for attempt in 0..200 {
        if attempt > 0 {
            // The logger is in the middle of a burst of rotations; let it get ahead.
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut files: Vec<std::fs::File> = Vec::new();
        let mut seen = Vec::new();
        for n in 0..=MAX_ROTATED {
            let p = if n == 0 {
                path.to_owned()
            } else {
                crate::logger::rotated_path(path, n)
            };
            let f = match std::fs::File::open(&p) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(e),
            };
            let m = f.metadata()?;
            let id = (m.dev(), m.ino());
            if seen.contains(&id) {
                continue 'again;
            }
            seen.push(id);
            files.push(f);
            if Some(id) == stop_at {
                break;
            }
        }
        return Ok(files);
    }
    Err(io::Error::other("the log rotates too fast to be read"))
}

/// The log's files, oldest first (the current one last); empty when there is no log.
fn open_chain(path: &Path) -> io::Result<Vec<std::fs::File>> {
    let mut files = open_newest_first(path, None)?;
    files.reverse();
    Ok(files)
}

/// `None` while `path` still names the file `current`; otherwise the files written
/// after it, oldest first (empty if the log is gone). If `current` was rotated out of
/// existence before we looked, every file there is follows it: what was in between is
/// lost, as with Docker's follower.
fn successors(path: &Path, current: (u64, u64)) -> io::Result<Option<Vec<std::fs::File>>> {
    match std::fs::metadata(path) {
        Ok(m) if (m.dev(), m.ino()) == current => return Ok(None),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(Vec::new())),
        Err(e) => return Err(e),
    }
    let mut files = open_newest_first(path, Some(current))?;
    let found = files
        .last()
        .and_then(|f| f.metadata().ok())
        .map(|m| (m.dev(), m.ino()));
    if found == Some(current) {
        files.pop();
    } else {
        tracing::warn!(path = %path.display(), "log rotated faster than it was followed; some lines were missed");
    }
    files.reverse();
    Ok(Some(files))
}

/// The files and offsets that hold the last `n` complete entries of the chain (oldest
/// first), dropping older files.
fn tail_chain(chain: Vec<std::fs::File>, n: usize) -> io::Result<VecDeque<(std::fs::File, u64)>> {
    let mut out = VecDeque::new();
    let mut left = n;
    let mut files = chain;
    while let Some(f) = files.pop() {
        let (start, found) = tail_offset(f.try_clone()?, left)?;
        out.push_front((f, start));
        left -= found.min(left);
        if left == 0 {
            break;
        }
    }
    Ok(out)
}

/// The offset where the last `n` complete entries start, and how many of them the file
/// has (fewer than `n` when the offset is 0), found by reading backwards from the end in
/// blocks, so a long log costs only what is shown. An unfinished last line (no newline
/// yet) is not counted: it is read once complete.
fn tail_offset(mut file: std::fs::File, n: usize) -> io::Result<(u64, usize)> {
    const BLOCK: u64 = 64 * 1024;
    let len = file.seek(SeekFrom::End(0))?;
    let mut buf = vec![0u8; BLOCK as usize];
    let mut pos = len;
    // Newlines seen so far; the first one found ends the last complete entry.
    let mut seen = 0usize;
    while pos > 0 {
        let start = pos.saturating_sub(BLOCK);
        let chunk = &mut buf[..(pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, &b) in chunk.iter().enumerate().rev() {
            if b == b'\n' {
                seen += 1;
                // The (n+1)-th newline from the end precedes the n-th last entry.
                if seen == n + 1 {
                    return Ok((start + i as u64 + 1, n));
                }
            }
        }
        pos = start;
    }
    Ok((0, seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logger::encode_entry;
    use chrono::TimeZone;
    use futures_util::StreamExt;
    use std::io::Write;

    fn at(sec: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, sec).unwrap()
    }

    fn line(text: &str, stream: &str, time: DateTime<Utc>) -> Vec<u8> {
        let mut v = Vec::new();
        encode_entry(text.as_bytes(), stream, time, &mut v);
        v
    }

    fn all() -> ReadOptions {
        ReadOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }
    }

    fn write_log(path: &Path, n: u32) {
        let mut f = std::fs::File::create(path).unwrap();
        for i in 0..n {
            let stream = if i % 2 == 0 { "stdout" } else { "stderr" };
            f.write_all(&line(&format!("line {i}\n"), stream, at(i)))
                .unwrap();
        }
    }

    async fn next<S>(s: &mut S) -> Option<String>
    where
        S: Stream<Item = io::Result<LogEntry>> + Unpin,
    {
        tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .expect("an entry in time")
            .map(|e| String::from_utf8(e.unwrap().line).unwrap())
    }

    async fn collect(path: &Path, opts: ReadOptions) -> Vec<String> {
        read(path.to_path_buf(), opts, CancellationToken::new())
            .map(|e| String::from_utf8(e.unwrap().line).unwrap())
            .collect()
            .await
    }

    #[test]
    fn frames_and_timestamps() {
        let e = LogEntry {
            stream: StdStream::Stderr,
            time: at(1) + chrono::Duration::nanoseconds(5_000),
            line: b"oops\n".to_vec(),
        };
        assert_eq!(frame(&e, false, true), b"oops\n");
        assert_eq!(
            frame(&e, true, true),
            b"2024-05-06T07:08:01.000005000Z oops\n"
        );
        let f = frame(&e, false, false);
        assert_eq!(&f[..8], &[2, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&f[8..], b"oops\n");
    }

    #[test]
    fn parses_what_the_logger_writes_and_skips_garbage() {
        let l = line("a<b\u{1}\n", "stdout", at(3));
        let e = parse_entry(&l[..l.len() - 1]).unwrap();
        assert_eq!(e.line, b"a<b\x01\n");
        assert_eq!(e.stream, StdStream::Stdout);
        assert_eq!(e.time, at(3));
        assert!(parse_entry(b"{\"log\":\"x\"").is_none());
        assert!(
            parse_entry(b"{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2024-01-01T00:00:00Z\"}")
                .is_none()
        );
        // Docker's own lines parse too.
        let docker = br#"{"log":"hi\n","stream":"stderr","time":"2024-01-01T00:00:00.123456789Z"}"#;
        assert_eq!(
            parse_entry(docker).unwrap().time.timestamp_subsec_nanos(),
            123_456_789
        );
    }

    #[test]
    fn tail_offset_counts_complete_entries_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, b"a\nbb\nccc\npartial").unwrap();
        let off = |n| tail_offset(std::fs::File::open(&p).unwrap(), n).unwrap().0;
        assert_eq!(off(0), 9);
        assert_eq!(off(1), 5);
        assert_eq!(off(2), 2);
        assert_eq!(off(3), 0);
        assert_eq!(off(10), 0);
        // Across block boundaries.
        let big: Vec<u8> = (0..50_000)
            .flat_map(|i| format!("{i:07}\n").into_bytes())
            .collect();
        std::fs::write(&p, &big).unwrap();
        assert_eq!(off(1), big.len() as u64 - 8);
        assert_eq!(off(20_000), big.len() as u64 - 8 * 20_000);
    }

    #[tokio::test]
    async fn tail_since_until_and_streams() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        write_log(&p, 10);
        assert_eq!(collect(&p, all()).await.len(), 10);
        assert_eq!(
            collect(
                &p,
                ReadOptions {
                    tail: Some(3),
                    ..all()
                }
            )
            .await,
            ["line 7\n", "line 8\n", "line 9\n"]
        );
        assert!(
            collect(
                &p,
                ReadOptions {
                    tail: Some(0),
                    ..all()
                }
            )
            .await
            .is_empty()
        );
        assert_eq!(
            collect(
                &p,
                ReadOptions {
                    since: Some(at(8)),
                    ..all()
                }
            )
            .await,
            ["line 8\n", "line 9\n"]
        );
        assert_eq!(
            collect(
                &p,
                ReadOptions {
                    until: Some(at(1)),
                    ..all()
                }
            )
            .await,
            ["line 0\n", "line 1\n"]
        );
        let only_err = ReadOptions {
            stdout: false,
            tail: Some(4),
            ..all()
        };
        // The tail counts both streams; the filter applies after it.
        assert_eq!(collect(&p, only_err).await, ["line 7\n", "line 9\n"]);
        // A missing file is an empty log.
        assert!(collect(&dir.path().join("none"), all()).await.is_empty());
    }

    #[tokio::test]
    async fn follow_waits_for_complete_lines_and_drains_after_stop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        write_log(&p, 2);
        let stop = CancellationToken::new();
        let mut s = read(
            p.clone(),
            ReadOptions {
                follow: true,
                tail: Some(1),
                ..all()
            },
            stop.clone(),
        );
        assert_eq!(next(&mut s).await.unwrap(), "line 1\n");

        // A line written in two pieces arrives once, whole.
        let whole = line("late\n", "stdout", at(30));
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&whole[..10]).unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), s.next())
                .await
                .is_err(),
            "half a line must not be emitted"
        );
        f.write_all(&whole[10..]).unwrap();
        assert_eq!(next(&mut s).await.unwrap(), "late\n");

        // The logger (holding its shared lock) writes the last line after the exit.
        // SAFETY: flock on our own descriptor.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH) }, 0);
        stop.cancel();
        tokio::time::sleep(Duration::from_millis(150)).await;
        f.write_all(&line("after exit\n", "stderr", at(31)))
            .unwrap();
        drop(f);
        assert_eq!(next(&mut s).await.unwrap(), "after exit\n");
        assert!(
            next(&mut s).await.is_none(),
            "the stream ends after the drain"
        );
    }

    #[tokio::test]
    async fn follow_waits_for_the_file_to_appear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("later.log");
        let stop = CancellationToken::new();
        let mut s = read(
            p.clone(),
            ReadOptions {
                follow: true,
                ..all()
            },
            stop.clone(),
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        std::fs::write(&p, line("first\n", "stdout", at(1))).unwrap();
        let e = tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.line, b"first\n");
        stop.cancel();
        let end = tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap();
        assert!(end.is_none());
    }

    use crate::logger::{LogOptions, RotatingFile, rotated_path};

    /// Writes entries `first..last` through the logger's rotating writer, a few at a time.
    fn write_rotating(f: &mut RotatingFile, range: std::ops::Range<u32>, pause: Option<Duration>) {
        for i in range {
            f.write_entries(&line(&format!("{i}\n"), "stdout", at(i % 60)))
                .unwrap();
            if let Some(p) = pause {
                std::thread::sleep(p);
            }
        }
    }

    fn numbers(v: &[String]) -> Vec<u32> {
        v.iter().map(|l| l.trim_end().parse().unwrap()).collect()
    }

    #[tokio::test]
    async fn reads_rotated_files_oldest_first_and_tails_across_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(500),
            max_file: 3,
        };
        let mut f = RotatingFile::open(&p, opts).unwrap();
        write_rotating(&mut f, 0..100, None);
        assert!(rotated_path(&p, 2).exists() && !rotated_path(&p, 3).exists());
        let got = numbers(&collect(&p, all()).await);
        // A contiguous run ending with the last entry.
        assert!(got.len() > 10, "{got:?}");
        assert_eq!(*got.last().unwrap(), 99);
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
        let in_current = std::fs::read(&p)
            .unwrap()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        // A tail longer than the current file reaches into the rotated ones.
        let n = in_current + 3;
        let tail = numbers(
            &collect(
                &p,
                ReadOptions {
                    tail: Some(n),
                    ..all()
                },
            )
            .await,
        );
        assert_eq!(tail, (100 - n as u32..100).collect::<Vec<_>>());
        // More than there is: everything.
        let everything = collect(
            &p,
            ReadOptions {
                tail: Some(10_000),
                ..all()
            },
        )
        .await;
        assert_eq!(numbers(&everything), got);
    }

    #[tokio::test]
    async fn follow_keeps_every_line_across_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(400),
            max_file: 3,
        };
        let mut f = RotatingFile::open(&p, opts).unwrap();
        write_rotating(&mut f, 0..3, None);
        let stop = CancellationToken::new();
        let s = read(
            p.clone(),
            ReadOptions {
                follow: true,
                ..all()
            },
            stop.clone(),
        );
        let writer = std::thread::spawn(move || {
            // Several rotations a second, some two within one poll interval.
            write_rotating(&mut f, 3..200, Some(Duration::from_millis(8)));
            f
        });
        let collected = tokio::spawn(async move {
            let mut s = s;
            let mut got = Vec::new();
            while let Some(e) = s.next().await {
                got.push(String::from_utf8(e.unwrap().line).unwrap());
            }
            got
        });
        let f = tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        drop(f);
        stop.cancel();
        let got = tokio::time::timeout(Duration::from_secs(10), collected)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(numbers(&got), (0..200).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn follow_switches_to_the_fresh_file_with_max_file_1() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(200),
            max_file: 1,
        };
        let mut f = RotatingFile::open(&p, opts).unwrap();
        write_rotating(&mut f, 0..1, None);
        let stop = CancellationToken::new();
        let mut s = read(
            p.clone(),
            ReadOptions {
                follow: true,
                ..all()
            },
            stop.clone(),
        );
        assert_eq!(next(&mut s).await.unwrap(), "0\n");
        for i in 1..20 {
            write_rotating(&mut f, i..i + 1, None);
            assert_eq!(next(&mut s).await.unwrap(), format!("{i}\n"));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(f);
        stop.cancel();
        assert!(next(&mut s).await.is_none());
    }
}
