//! The byte streams of attach, logs and exec: Docker's multiplexed framing (an 8-byte
//! header — stream, three zero bytes, big-endian length — before each payload) used
//! when there is no TTY, and detach-key sequences (`ctrl-p,ctrl-q`).

/// Which stream a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// An error from the daemon itself (API ≥ 1.42 ends a failed log stream with one).
    System = 3,
}

impl StdStream {
    pub fn from_byte(b: u8) -> Option<StdStream> {
        match b {
            0 => Some(StdStream::Stdin),
            1 => Some(StdStream::Stdout),
            2 => Some(StdStream::Stderr),
            3 => Some(StdStream::System),
            _ => None,
        }
    }
}

/// The media types a hijacked response announces.
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// Appends one frame carrying `payload` on `stream` to `out`.
pub fn encode_frame(stream: StdStream, payload: &[u8], out: &mut Vec<u8>) {
    // A payload over 4 GiB never happens here: callers frame reads of bounded buffers.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&[stream as u8, 0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload[..len as usize]);
}

/// Splits a multiplexed byte stream back into frames, however the bytes arrive.
#[derive(Debug, Default)]
pub struct Demuxer {
    buf: Vec<u8>,
}

impl Demuxer {
    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one has arrived. A header naming an unknown stream is
    /// an error: the peer is not speaking this framing.
    pub fn next_frame(&mut self) -> Result<Option<(StdStream, Vec<u8>)>, String> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let stream = StdStream::from_byte(self.buf[0]).ok_or_else(|| {
            format!(
                "unexpected stream byte {} in a multiplexed stream",
                self.buf[0]
            )
        })?;
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let payload = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Ok(Some((stream, payload)))
    }

    /// Bytes of an incomplete frame left over at the end of the stream.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// The default detach sequence, ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Parses a detach-key specification: comma-separated keys, each a single character or
/// `ctrl-<c>` for `c` in `a`–`z`, `@`, `[`, `\`, `]`, `^`, `_`.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    let invalid = || format!("Invalid detach keys ({spec}) provided");
    if spec.is_empty() {
        return Err(invalid());
    }
    spec.split(',')
        .map(|key| {
            let bytes = key.as_bytes();
            if bytes.len() == 1 {
                return Ok(bytes[0]);
            }
            let c = key.strip_prefix("ctrl-").ok_or_else(invalid)?;
            match c.as_bytes() {
                [c @ b'a'..=b'z'] => Ok(c - b'a' + 1),
                [b'@'] => Ok(0),
                [c @ b'['..=b'_'] => Ok(c - b'[' + 27),
                _ => Err(invalid()),
            }
        })
        .collect()
}

/// Watches client input for the detach sequence. Bytes that might begin the sequence
/// are held back until it is clear they do not; the sequence itself is never forwarded.
#[derive(Debug, Clone)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

/// What a chunk of input came to.
#[derive(Debug, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes to pass on to the process.
    pub forward: Vec<u8>,
    /// The sequence was typed: stop reading and detach.
    pub detach: bool,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> DetachScanner {
        DetachScanner { keys, matched: 0 }
    }

    pub fn scan(&mut self, input: &[u8]) -> Scanned {
        let mut forward = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                forward.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Scanned {
                        forward,
                        detach: true,
                    };
                }
                continue;
            }
            // A partial match that broke off: what was held back was ordinary input.
            forward.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return Scanned {
                        forward,
                        detach: true,
                    };
                }
            } else {
                forward.push(b);
            }
        }
        Scanned {
            forward,
            detach: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = Vec::new();
        encode_frame(StdStream::Stdout, b"hello\n", &mut wire);
        encode_frame(StdStream::Stderr, b"", &mut wire);
        encode_frame(StdStream::Stderr, b"oops", &mut wire);
        assert_eq!(&wire[..8], &[1, 0, 0, 0, 0, 0, 0, 6]);
        let mut d = Demuxer::default();
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(frame) = d.next_frame().unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(
            got,
            vec![
                (StdStream::Stdout, b"hello\n".to_vec()),
                (StdStream::Stderr, vec![]),
                (StdStream::Stderr, b"oops".to_vec())
            ]
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn a_raw_stream_is_not_taken_for_frames() {
        let mut d = Demuxer::default();
        d.push(b"hello world\n");
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn detach_keys_parse_like_dockers() {
        assert_eq!(
            parse_detach_keys(DEFAULT_DETACH_KEYS).unwrap(),
            vec![16, 17]
        );
        assert_eq!(
            parse_detach_keys("ctrl-@,a,ctrl-[,ctrl-_").unwrap(),
            vec![0, b'a', 27, 31]
        );
        assert_eq!(parse_detach_keys("ctrl-\\").unwrap(), vec![28]);
        for bad in ["", "ctrl-", "ctrl-1", "ab", "ctrl-p,,ctrl-q", "ctrl-A"] {
            assert!(parse_detach_keys(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scanner_holds_back_a_partial_sequence() {
        let mut s = DetachScanner::new(vec![16, 17]);
        assert_eq!(s.scan(b"ab\x10").forward, b"ab");
        // The sequence broke off: the held ctrl-p goes through with what followed.
        assert_eq!(s.scan(b"c").forward, b"\x10c");
        let r = s.scan(b"x\x10\x10\x11tail");
        assert_eq!(r.forward, b"x\x10");
        assert!(r.detach);
        let mut none = DetachScanner::new(vec![]);
        assert_eq!(none.scan(b"\x10\x11").forward, b"\x10\x11");
    }
}
