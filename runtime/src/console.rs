//! Terminals: creating the container's pty and handing its master over `--console-socket`.
//!
//! The protocol is runc's (docs/terminals.md): connect to the AF_UNIX stream socket and
//! send one message whose SCM_RIGHTS carries the master and whose payload is its name.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr,
    connect, recvmsg, sendmsg, socket,
};

use crate::error::{ErrnoContext, Error, Result};

/// Connects to a console socket; paths too long for sun_path go through /proc/self/fd.
pub fn connect_socket(path: &Path) -> Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "creating a socket".into())?;
    let fail = |e| {
        Error::sys(
            format!("connecting to console socket {}", path.display()),
            e,
        )
    };
    if path.as_os_str().len() < 100 {
        let addr = UnixAddr::new(path).map_err(fail)?;
        connect(sock.as_raw_fd(), &addr).map_err(fail)?;
    } else {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let dir = nix::fcntl::open(
            parent,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(fail)?;
        let short = format!(
            "/proc/self/fd/{}/{}",
            dir.as_raw_fd(),
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        let addr = UnixAddr::new(short.as_str()).map_err(fail)?;
        connect(sock.as_raw_fd(), &addr).map_err(fail)?;
    }
    Ok(sock)
}

/// Opens a new pty pair from /dev/ptmx (the container's devpts once it has pivoted).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let master = nix::fcntl::open(
        "/dev/ptmx",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "opening /dev/ptmx".into())?;
    let mut unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &mut unlock) } != 0 {
        return Err(Error::sys("unlocking the pty", Errno::last()));
    }
    // TIOCGPTPEER opens the slave through the master, with no path lookup to race.
    // SAFETY: the ioctl returns a new descriptor or -1.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(Error::sys("opening the pty slave", Errno::last()));
    }
    // SAFETY: fresh descriptor.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

pub fn set_size(fd: RawFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(Error::sys("setting the terminal size", Errno::last()));
    }
    Ok(())
}

pub fn get_size(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return None;
    }
    Some((ws.ws_row, ws.ws_col))
}

/// Sends the pty master to whoever listens on the console socket.
pub fn send_master(sock: BorrowedFd<'_>, master: BorrowedFd<'_>) -> Result<()> {
    let name = b"/dev/ptmx";
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .ctx(|| "sending the pty master to the console socket".into())?;
    Ok(())
}

/// Receives a pty master sent by [`send_master`] (used by foreground `run -t`/`exec -t`).
pub fn recv_master(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ctx(|| "receiving the pty master".into())?;
    for c in msg
        .cmsgs()
        .map_err(|e| Error::sys("reading control messages", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel installed this descriptor for us.
            return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    Err(Error::Child("the container sent no terminal".into()))
}

/// Makes `slave` the process's stdio and controlling terminal.
pub fn become_controlling(slave: &OwnedFd) -> Result<()> {
    for target in 0..3 {
        // SAFETY: dup2 onto the standard descriptors of this process.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::sys("attaching stdio to the terminal", Errno::last()));
        }
    }
    // SAFETY: TIOCSCTTY on our own stdin.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys(
            "making the terminal the controlling one",
            Errno::last(),
        ));
    }
    Ok(())
}
