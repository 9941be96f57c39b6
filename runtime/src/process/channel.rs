//! The message channel between the runtime and the process it is setting up.
//!
//! A SOCK_SEQPACKET pair keeps message boundaries, and a peer that dies shows up as
//! end-of-file, so neither side can wait forever for the other.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use serde::{Deserialize, Serialize};

use crate::error::{ErrnoContext, Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Message {
    /// Runtime → child: ID maps are written; go on.
    Go,
    /// Runtime → child: the cgroup directories exist (the root filesystem binds them).
    CgroupsCreated,
    /// Runtime → child: the child is in its cgroups (needed before the cgroup namespace).
    CgroupJoined,
    /// Child → runtime: run the prestart and createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// Runtime → child: hooks done.
    HooksDone,
    /// Child → runtime: everything is in place; the process waits for `start`.
    Ready,
    /// Runtime → child: state recorded; the child no longer depends on the runtime.
    Ack,
    /// Child → runtime: stopped watching for the runtime's death; the runtime may exit.
    Done,
    /// Either way: the sender failed and is giving up.
    Error(String),
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .ctx(|| "creating the setup channel".into())?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn from_fd(fd: OwnedFd) -> Channel {
        Channel { fd }
    }

    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    pub fn send(&self, msg: &Message) -> Result<()> {
        let data = serde_json::to_vec(msg).expect("messages always serialize");
        loop {
            match send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => {
                    r.ctx(|| "sending on the setup channel".into())?;
                    return Ok(());
                }
            }
        }
    }

    /// Receives one message; the peer's exit is an error naming `peer`.
    pub fn recv(&self, peer: &str) -> Result<Message> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.ctx(|| "reading the setup channel".into())?,
            }
        };
        if n == 0 {
            return Err(Error::Child(format!("{peer} exited during setup")));
        }
        serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::Child(format!("bad message from {peer}: {e}")))
    }

    /// An error the peer already sent, if any, without waiting for one.
    pub fn pending_error(&self) -> Option<String> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT).ok()?;
        match serde_json::from_slice(&buf[..n]).ok()? {
            Message::Error(e) => Some(e),
            _ => None,
        }
    }

    /// Receives and insists on one particular message; an `Error` becomes ours.
    pub fn expect(&self, want: Message, peer: &str) -> Result<()> {
        match self.recv(peer)? {
            m if m == want => Ok(()),
            Message::Error(e) => Err(Error::Child(e)),
            other => Err(Error::Child(format!(
                "{peer} sent {other:?}, expected {want:?}"
            ))),
        }
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
