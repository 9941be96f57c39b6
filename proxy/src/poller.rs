//! epoll with typed tokens that say which listener, connection side or UDP flow an
//! event belongs to.

use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::error::{Error, Result};
use crate::slab::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Signal,
    Listener(u32),
    TcpClient(Key),
    TcpBackend(Key),
    UdpFlow(Key),
}

// Layout of the 64-bit epoll data: generation in the high half, then the index in
// 28 bits and the kind in the low 4 bits.
const KIND_BITS: u32 = 4;
const INDEX_LIMIT: u32 = 1 << (32 - KIND_BITS);

impl Token {
    fn encode(self) -> u64 {
        let (kind, index, generation) = match self {
            Token::Signal => (0, 0, 0),
            Token::Listener(index) => (1, index, 0),
            Token::TcpClient(key) => (2, key.index, key.generation),
            Token::TcpBackend(key) => (3, key.index, key.generation),
            Token::UdpFlow(key) => (4, key.index, key.generation),
        };
        // Each entry holds at least one descriptor, so the fd limit bounds the index.
        debug_assert!(index < INDEX_LIMIT);
        (u64::from(generation) << 32) | (u64::from(index) << KIND_BITS) | kind
    }

    fn decode(data: u64) -> Option<Token> {
        let key = Key {
            index: (data as u32) >> KIND_BITS,
            generation: (data >> 32) as u32,
        };
        Some(match data & ((1 << KIND_BITS) - 1) {
            0 => Token::Signal,
            1 => Token::Listener(key.index),
            2 => Token::TcpClient(key),
            3 => Token::TcpBackend(key),
            4 => Token::UdpFlow(key),
            _ => return None,
        })
    }
}

/// How a descriptor is watched.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Interest {
    /// Level-triggered readability: listeners, UDP sockets, the signalfd. A handler
    /// may stop early (to be fair to others) and is called again.
    Readable,
    /// Edge-triggered everything: TCP streams. Registered once for both directions;
    /// handlers keep their own "maybe readable/writable" flags and clear them on EAGAIN.
    Edges,
}

/// What an event says is worth trying.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

pub(crate) struct Poller {
    epoll: Epoll,
}

impl Poller {
    pub(crate) fn new() -> Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(|e| Error::sys("epoll_create1", e))?;
        Ok(Poller { epoll })
    }

    pub(crate) fn add(&self, fd: impl AsFd, token: Token, interest: Interest) -> nix::Result<()> {
        let flags = match interest {
            Interest::Readable => EpollFlags::EPOLLIN,
            Interest::Edges => {
                EpollFlags::EPOLLIN
                    | EpollFlags::EPOLLOUT
                    | EpollFlags::EPOLLRDHUP
                    | EpollFlags::EPOLLET
            }
        };
        self.epoll.add(fd, EpollEvent::new(flags, token.encode()))
    }

    /// Waits for events; `None` waits without a time limit.
    pub(crate) fn wait(
        &self,
        events: &mut [EpollEvent],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            // Round up so that a deadline 0.4 ms away does not spin with timeout 0.
            Some(d) => {
                EpollTimeout::try_from(d + Duration::from_micros(999)).unwrap_or(EpollTimeout::MAX)
            }
        };
        match self.epoll.wait(events, timeout) {
            Ok(n) => Ok(n),
            Err(Errno::EINTR) => Ok(0),
            Err(e) => Err(Error::sys("epoll_wait", e)),
        }
    }
}

/// The token and readiness of one event.
pub(crate) fn decode(event: &EpollEvent) -> Option<(Token, Readiness)> {
    let flags = event.events();
    // Hang-ups and errors count as both: the next read or write reports them.
    let trouble = flags.intersects(EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR);
    let readiness = Readiness {
        readable: trouble || flags.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP),
        writable: trouble || flags.contains(EpollFlags::EPOLLOUT),
    };
    Some((Token::decode(event.data())?, readiness))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let key = Key {
            index: INDEX_LIMIT - 1,
            generation: u32::MAX,
        };
        for token in [
            Token::Signal,
            Token::Listener(1),
            Token::TcpClient(key),
            Token::TcpBackend(Key {
                index: 0,
                generation: 7,
            }),
            Token::UdpFlow(key),
        ] {
            assert_eq!(Token::decode(token.encode()), Some(token));
        }
        assert_eq!(Token::decode(15), None);
    }

    #[test]
    fn client_and_backend_of_one_connection_differ() {
        let key = Key {
            index: 3,
            generation: 1,
        };
        assert_ne!(
            Token::TcpClient(key).encode(),
            Token::TcpBackend(key).encode()
        );
    }
}
