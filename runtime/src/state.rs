//! What the runtime remembers of a container between commands, under `--root/<id>/`,
//! and how its status is worked out from the live system.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupPaths;
use crate::error::{Error, Result};
use crate::spec::Spec;

pub const STATE_FILE: &str = "state.json";
/// The socket the created init waits on; it disappears once `start` has run.
pub const START_SOCKET: &str = "start.sock";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The persistent record of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub init_pid: i32,
    /// Start time of the init in clock ticks since boot (/proc/PID/stat field 22), which
    /// tells our init from an unrelated process that reused its pid.
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub owner: String,
    pub cgroups: CgroupPaths,
    /// Parent cgroup directories that this container's create made (removed with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_parents: Vec<PathBuf>,
    pub config: Spec,
}

/// runc's `state` output (and the elements of `list --format json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOutput {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

impl ContainerState {
    pub fn dir(root: &Path, id: &str) -> PathBuf {
        root.join(id)
    }

    pub fn load(root: &Path, id: &str) -> Result<ContainerState> {
        validate_id(id)?;
        let path = Self::dir(root, id).join(STATE_FILE);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.into()));
            }
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        serde_json::from_slice(&data).map_err(|e| {
            Error::io(
                "parsing",
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }

    /// Writes the record atomically (temp file, rename). No fsync: the state lives on a tmpfs
    /// (/run) that does not outlive a crash, and readers only ever see whole files.
    pub fn save(&self, root: &Path) -> Result<()> {
        let dir = Self::dir(root, &self.id);
        let tmp = dir.join(".state.json.tmp");
        let path = dir.join(STATE_FILE);
        let data = serde_json::to_vec(self).expect("state serializes");
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        f.write_all(&data)
            .map_err(|e| Error::io("writing", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("renaming", &path, e))
    }

    /// Is the init still the process we started (alive, not a zombie, same start time)?
    pub fn init_alive(&self) -> bool {
        if self.init_pid <= 0 {
            return false;
        }
        match proc_stat(self.init_pid) {
            Some((state, start)) => state != 'Z' && state != 'X' && start == self.init_start_time,
            None => false,
        }
    }

    pub fn status(&self, root: &Path, frozen: impl FnOnce() -> bool) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if Self::dir(root, &self.id).join(START_SOCKET).exists() {
            return Status::Created;
        }
        if frozen() {
            return Status::Paused;
        }
        Status::Running
    }

    pub fn output(&self, status: Status) -> StateOutput {
        StateOutput {
            oci_version: crate::spec::OCI_VERSION.into(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.init_pid
            },
            status: status.as_str().into(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.config.annotations.clone(),
            owner: self.owner.clone(),
        }
    }
}

/// The state letter and start time (field 22) from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields follow the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// IDs name directories under the root: letters, digits, `_ + - .`, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.into()))
    }
}

/// RFC 3339 UTC time with nanoseconds, as Go's time.RFC3339Nano prints it.
pub fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, 500_000_000), "2000-02-29T00:00:00.5Z");
        assert_eq!(
            rfc3339(1_700_000_000, 123),
            "2023-11-14T22:13:20.000000123Z"
        );
    }

    #[test]
    fn our_own_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id() as i32;
        let (state, start) = proc_stat(me).unwrap();
        assert!(matches!(state, 'R' | 'S'));
        let mut st = ContainerState {
            id: "x".into(),
            init_pid: me,
            init_start_time: start,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: rfc3339_now(),
            owner: String::new(),
            cgroups: CgroupPaths::default(),
            cgroup_parents: Vec::new(),
            config: Spec::default(),
        };
        assert!(st.init_alive());
        st.init_start_time += 1;
        assert!(!st.init_alive());
    }

    #[test]
    fn save_and_load() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("c1")).unwrap();
        let st = ContainerState {
            id: "c1".into(),
            init_pid: 42,
            init_start_time: 7,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: rfc3339_now(),
            owner: String::new(),
            cgroups: CgroupPaths::default(),
            cgroup_parents: Vec::new(),
            config: crate::spec::default_spec(),
        };
        st.save(root.path()).unwrap();
        let back = ContainerState::load(root.path(), "c1").unwrap();
        assert_eq!(back.init_pid, 42);
        assert!(matches!(
            ContainerState::load(root.path(), "nope"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            ContainerState::load(root.path(), "../x"),
            Err(Error::InvalidId(_))
        ));
        assert_eq!(back.output(Status::Stopped).pid, 0);
    }
}
