//! `start`: release the created init into the user's program.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};

use crate::container::Container;
use crate::error::{ErrnoContext, Error, Result};
use crate::hooks::{self, HookKind, HookState};
use crate::state::{START_SOCKET, Status};

pub fn start(root: &Path, id: &str) -> Result<Container> {
    let c = Container::load(root, id)?;
    match c.status() {
        Status::Created => {}
        s => return Err(c.wrong_state(s, "start", "created")),
    }
    let dir = c.dir();
    let dirfd = nix::fcntl::open(
        &dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("opening {}", dir.display()))?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "creating a socket".into())?;
    let addr =
        UnixAddr::new(format!("/proc/self/fd/{}/{START_SOCKET}", dirfd.as_raw_fd()).as_str())
            .ctx(|| "start socket address".into())?;
    connect(sock.as_raw_fd(), &addr).ctx(|| format!("contacting the init of container {id:?}"))?;
    let mut conn = std::fs::File::from(sock);
    conn.write_all(b"s")
        .map_err(|e| Error::io("starting", dir.join(START_SOCKET), e))?;
    // The init execs with the connection close-on-exec: end-of-file means success,
    // anything else is the reason it failed.
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    let _ = std::fs::remove_file(dir.join(START_SOCKET));
    if !reply.is_empty() {
        return Err(Error::Child(reply));
    }
    if let Some(h) = &c.state.config.hooks
        && !h.poststart.is_empty()
    {
        let state = HookState {
            oci_version: crate::spec::OCI_VERSION,
            id,
            status: "running",
            pid: c.state.init_pid,
            bundle: &c.state.bundle,
            annotations: &c.state.config.annotations,
        };
        hooks::run_all_warn(HookKind::Poststart, &h.poststart, &state);
    }
    Ok(c)
}
