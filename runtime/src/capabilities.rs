//! Linux capabilities: names, and setting the five sets of the container process.

use crate::error::{Error, Result};
use crate::spec::Capabilities;

const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability number for a name such as `CAP_KILL` (case-insensitive, `CAP_` optional).
pub fn from_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

pub fn name(cap: u32) -> &'static str {
    NAMES.get(cap as usize).copied().unwrap_or("CAP_UNKNOWN")
}

/// A set of capabilities as the kernel's 64-bit mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSet(pub u64);

impl CapSet {
    fn from_names(names: &[String]) -> Self {
        CapSet(
            names
                .iter()
                .filter_map(|n| from_name(n))
                .fold(0, |m, c| m | (1u64 << c)),
        )
    }

    pub fn contains(self, cap: u32) -> bool {
        self.0 & (1u64 << cap) != 0
    }
}

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

/// The calling process's bounding set: capabilities outside it can never be granted.
pub fn current_bounding() -> CapSet {
    let mut set = 0u64;
    for cap in 0..=last_cap().min(63) {
        // SAFETY: PR_CAPBSET_READ only reads.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            set |= 1 << cap;
        }
    }
    CapSet(set)
}

/// The five sets requested by the spec, with capabilities the host cannot grant removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    pub bounding: CapSet,
    pub effective: CapSet,
    pub inheritable: CapSet,
    pub permitted: CapSet,
    pub ambient: CapSet,
}

impl Plan {
    /// Builds the plan; returns the names of requested capabilities that are dropped
    /// because they are not in the runtime's own bounding set (runc warns and goes on).
    pub fn new(caps: &Capabilities, available: CapSet) -> (Plan, Vec<&'static str>) {
        let requested = CapSet::from_names(&caps.bounding).0
            | CapSet::from_names(&caps.effective).0
            | CapSet::from_names(&caps.permitted).0
            | CapSet::from_names(&caps.inheritable).0
            | CapSet::from_names(&caps.ambient).0;
        let dropped: Vec<&'static str> = (0..64)
            .filter(|c| requested & (1 << c) != 0 && !available.contains(*c))
            .map(name)
            .collect();
        let keep = |s: CapSet| CapSet(s.0 & available.0);
        (
            Plan {
                bounding: keep(CapSet::from_names(&caps.bounding)),
                effective: keep(CapSet::from_names(&caps.effective)),
                inheritable: keep(CapSet::from_names(&caps.inheritable)),
                permitted: keep(CapSet::from_names(&caps.permitted)),
                ambient: keep(CapSet::from_names(&caps.ambient)),
            },
            dropped,
        )
    }

    /// Drops everything outside the bounding set. Needs CAP_SETPCAP, so it runs before
    /// the process changes its user.
    pub fn apply_bounding(&self) -> Result<()> {
        for cap in 0..=last_cap().min(63) {
            if !self.bounding.contains(cap) {
                // SAFETY: plain prctl with integer arguments.
                let r =
                    unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
                if r != 0 {
                    let e = nix::errno::Errno::last();
                    // A capability this kernel doesn't know is already absent.
                    if e != nix::errno::Errno::EINVAL {
                        return Err(Error::sys(
                            format!("dropping {} from the bounding set", name(cap)),
                            e,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets the effective, permitted and inheritable sets, then the ambient set.
    pub fn apply_sets(&self) -> Result<()> {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        let split = |s: CapSet| [(s.0 & 0xffff_ffff) as u32, (s.0 >> 32) as u32];
        let (e, p, i) = (
            split(self.effective),
            split(self.permitted),
            split(self.inheritable),
        );
        let mut header = Header {
            version: VERSION_3,
            pid: 0,
        };
        let data = [
            Data {
                effective: e[0],
                permitted: p[0],
                inheritable: i[0],
            },
            Data {
                effective: e[1],
                permitted: p[1],
                inheritable: i[1],
            },
        ];
        // SAFETY: header and data have the layout capset(2) expects for version 3.
        let r =
            unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
        if r != 0 {
            return Err(Error::sys(
                "setting capabilities",
                nix::errno::Errno::last(),
            ));
        }
        // SAFETY: plain prctl calls with integer arguments.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
        }
        for cap in 0..64u32 {
            if self.ambient.contains(cap) {
                // SAFETY: as above.
                let r = unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE,
                        cap as libc::c_ulong,
                        0,
                        0,
                    )
                };
                if r != 0 {
                    return Err(Error::sys(
                        format!("raising ambient capability {}", name(cap)),
                        nix::errno::Errno::last(),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(from_name("CAP_CHOWN"), Some(0));
        assert_eq!(from_name("cap_kill"), Some(5));
        assert_eq!(from_name("NET_RAW"), Some(13));
        assert_eq!(from_name("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(from_name("CAP_NOPE"), None);
        assert_eq!(name(21), "CAP_SYS_ADMIN");
    }

    #[test]
    fn unavailable_capabilities_are_dropped_and_reported() {
        let caps = Capabilities {
            bounding: vec!["CAP_KILL".into(), "CAP_SYS_RESOURCE".into()],
            effective: vec!["CAP_SYS_RESOURCE".into()],
            ..Capabilities::default()
        };
        let available = CapSet(!(1u64 << 24));
        let (plan, dropped) = Plan::new(&caps, available);
        assert_eq!(dropped, vec!["CAP_SYS_RESOURCE"]);
        assert!(plan.bounding.contains(5));
        assert!(!plan.bounding.contains(24));
        assert_eq!(plan.effective, CapSet(0));
    }
}
