//! `linux.sysctl`: only keys that belong to one of the container's own namespaces are
//! accepted (a host-wide key would change the host), and the file written is checked to be
//! on procfs.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsFd;

use crate::error::{Error, Result};
use crate::namespaces::NamespaceType;

/// IPC-namespaced keys outside fs.mqueue.
const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Checks every key against the namespaces the container gets.
pub fn validate(
    sysctl: &BTreeMap<String, String>,
    new_ns: &dyn Fn(NamespaceType) -> bool,
) -> Result<()> {
    for key in sysctl.keys() {
        let field = format!("linux.sysctl[{key:?}]");
        if key.contains('/') || key.split('.').any(str::is_empty) {
            return Err(Error::config(field, "is not a valid key"));
        }
        let needs = if IPC_KEYS.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            NamespaceType::Ipc
        } else if key.starts_with("net.") {
            NamespaceType::Network
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            NamespaceType::Uts
        } else {
            return Err(Error::config(
                field,
                "is not namespaced: setting it would change the host",
            ));
        };
        if !new_ns(needs) {
            return Err(Error::config(
                field,
                format!("needs the container's own {} namespace", needs.proc_name()),
            ));
        }
    }
    Ok(())
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Writes the values under /proc/sys of the container (call after its /proc is mounted
/// and the root switched).
pub fn apply(sysctl: &BTreeMap<String, String>) -> Result<()> {
    for (key, value) in sysctl {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let fd = nix::fcntl::open(
            path.as_str(),
            nix::fcntl::OFlag::O_WRONLY
                | nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys(format!("opening {path} for sysctl {key}"), e))?;
        // A container-controlled /proc could be anything; only write to real procfs.
        let fs = nix::sys::statfs::fstatfs(fd.as_fd())
            .map_err(|e| Error::sys(format!("fstatfs {path}"), e))?;
        if fs.filesystem_type().0 as i64 != PROC_SUPER_MAGIC {
            return Err(Error::Child(format!(
                "{path} is not on procfs; refusing to write sysctl {key}"
            )));
        }
        let mut f = std::fs::File::from(fd);
        f.write_all(value.as_bytes())
            .map_err(|e| Error::io("writing sysctl", path.clone(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(key: &str, ns: &[NamespaceType]) -> Result<()> {
        let mut m = BTreeMap::new();
        m.insert(key.to_string(), "1".to_string());
        validate(&m, &|t| ns.contains(&t))
    }

    #[test]
    fn only_namespaced_keys() {
        use NamespaceType::*;
        assert!(check("net.ipv4.ip_forward", &[Network]).is_ok());
        assert!(
            check("net.ipv4.ip_forward", &[Ipc])
                .unwrap_err()
                .to_string()
                .contains("net namespace")
        );
        assert!(check("kernel.shmmax", &[Ipc]).is_ok());
        assert!(check("fs.mqueue.msg_max", &[Ipc]).is_ok());
        assert!(check("kernel.domainname", &[Uts]).is_ok());
        let msg = check("vm.swappiness", &[Network, Ipc, Uts])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not namespaced"), "{msg}");
        assert!(check("kernel.pid_max", &[Ipc]).is_err());
    }
}
