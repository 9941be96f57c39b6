//! Linux namespaces: the spec's names, clone flags and joining an existing one.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;

use crate::error::{ErrnoContext, Error, Result};
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceType {
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    User,
    Cgroup,
}

impl NamespaceType {
    /// Joining order: the user namespace first (it grants the rights to join the others),
    /// the mount namespace last (joining it changes how later paths resolve).
    pub const JOIN_ORDER: [NamespaceType; 7] = [
        NamespaceType::User,
        NamespaceType::Pid,
        NamespaceType::Ipc,
        NamespaceType::Uts,
        NamespaceType::Network,
        NamespaceType::Cgroup,
        NamespaceType::Mount,
    ];

    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "pid" => Self::Pid,
            "network" => Self::Network,
            "mount" => Self::Mount,
            "ipc" => Self::Ipc,
            "uts" => Self::Uts,
            "user" => Self::User,
            "cgroup" => Self::Cgroup,
            "time" => return Err("the time namespace is not supported by myrunc".into()),
            other => return Err(format!("unknown namespace type {other:?}")),
        })
    }

    pub fn clone_flag(self) -> CloneFlags {
        match self {
            Self::Pid => CloneFlags::CLONE_NEWPID,
            Self::Network => CloneFlags::CLONE_NEWNET,
            Self::Mount => CloneFlags::CLONE_NEWNS,
            Self::Ipc => CloneFlags::CLONE_NEWIPC,
            Self::Uts => CloneFlags::CLONE_NEWUTS,
            Self::User => CloneFlags::CLONE_NEWUSER,
            Self::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        }
    }

    /// The entry under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Self::Pid => "pid",
            Self::Network => "net",
            Self::Mount => "mnt",
            Self::Ipc => "ipc",
            Self::Uts => "uts",
            Self::User => "user",
            Self::Cgroup => "cgroup",
        }
    }
}

/// A namespace to enter with setns(2), opened before any of them is entered.
pub struct JoinNamespace {
    pub typ: NamespaceType,
    pub fd: OwnedFd,
    pub path: String,
}

impl JoinNamespace {
    pub fn open(typ: NamespaceType, path: &Path) -> Result<Self> {
        let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
            Error::sys(
                format!("opening {} namespace {}", typ.proc_name(), path.display()),
                e,
            )
        })?;
        Ok(JoinNamespace {
            typ,
            fd,
            path: path.display().to_string(),
        })
    }

    pub fn enter(&self) -> Result<()> {
        setns(self.fd.as_fd(), self.typ.clone_flag())
            .ctx(|| format!("joining {} namespace {}", self.typ.proc_name(), self.path))
    }
}

/// What a new container needs: namespaces to create and namespaces to join, from the spec.
pub struct NamespacePlan {
    pub new: Vec<NamespaceType>,
    pub join: Vec<JoinNamespace>,
}

impl NamespacePlan {
    pub fn from_spec(spec: &Spec) -> Result<Self> {
        let mut plan = NamespacePlan {
            new: Vec::new(),
            join: Vec::new(),
        };
        for typ in NamespaceType::JOIN_ORDER {
            if let Some(ns) = spec.namespace(typ) {
                match &ns.path {
                    Some(path) => plan.join.push(JoinNamespace::open(typ, path)?),
                    None => plan.new.push(typ),
                }
            }
        }
        Ok(plan)
    }

    pub fn creates(&self, typ: NamespaceType) -> bool {
        self.new.contains(&typ)
    }

    pub fn joins(&self, typ: NamespaceType) -> Option<&JoinNamespace> {
        self.join.iter().find(|j| j.typ == typ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_names() {
        assert_eq!(NamespaceType::parse("network"), Ok(NamespaceType::Network));
        assert_eq!(NamespaceType::parse("mount").unwrap().proc_name(), "mnt");
        assert!(NamespaceType::parse("net").is_err());
        assert!(
            NamespaceType::parse("time")
                .unwrap_err()
                .contains("not supported")
        );
    }
}
