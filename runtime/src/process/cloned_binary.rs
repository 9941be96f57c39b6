//! Running from a sealed in-memory copy of ourselves (CVE-2019-5736).
//!
//! A process in the container can reach the runtime binary through /proc/PID/exe of any
//! runtime process that enters the container (or make the runtime execute itself there,
//! with a `#!/proc/self/exe` script as the container's program) and overwrite it once it
//! is no longer running. Commands that enter a container therefore re-exec from a sealed
//! memfd copy first: /proc/self/exe then names the copy, which nobody can write.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

use crate::error::{Error, Result};

const MFD_EXEC: libc::c_uint = 0x0010;
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Is the running executable already a sealed copy?
fn running_sealed() -> bool {
    let Ok(exe) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: F_GET_SEALS on a descriptor we own.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

fn sealed_copy() -> Result<OwnedFd> {
    let name = CString::new("myrunc").unwrap();
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // Kernels with vm.memfd_noexec want executability asked for; older ones reject the flag.
    // SAFETY: memfd_create with a valid name.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 && Errno::last() == Errno::EINVAL {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(Error::sys(
            "creating the sealed copy of myrunc (memfd_create)",
            Errno::last(),
        ));
    }
    // SAFETY: fresh descriptor.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let exe = std::fs::File::open("/proc/self/exe")
        .map_err(|e| Error::io("opening", "/proc/self/exe", e))?;
    let len = exe
        .metadata()
        .map_err(|e| Error::io("stat", "/proc/self/exe", e))?
        .len() as usize;
    let mut copied = 0usize;
    while copied < len {
        // SAFETY: sendfile between two descriptors we own.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                len - copied,
            )
        };
        if n <= 0 {
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys("copying myrunc into the memfd", Errno::last()));
        }
        copied += n as usize;
    }
    // SAFETY: adding seals to our memfd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
        return Err(Error::sys("sealing the copy of myrunc", Errno::last()));
    }
    Ok(memfd)
}

/// Re-executes the current command from a sealed copy unless already running from one.
/// Returns only when nothing needed doing.
pub fn ensure() -> Result<()> {
    if running_sealed() {
        return Ok(());
    }
    let copy = sealed_copy()?;
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).expect("arguments have no NUL bytes"))
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).expect("environment has no NUL bytes")
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let empty = CString::new("").unwrap();
    // SAFETY: NULL-terminated argv/envp of valid C strings; AT_EMPTY_PATH executes the fd.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            copy.as_raw_fd(),
            empty.as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Err(Error::sys(
        "re-executing from the sealed copy of myrunc",
        Errno::last(),
    ))
}
