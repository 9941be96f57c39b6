//! Parsing /proc/self/mountinfo and /proc/self/cgroup.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Superblock options that are not controller names.
const NON_CONTROLLER_OPTS: &[&str] = &["rw", "ro", "clone_children", "noprefix", "xattr"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    /// The v1 hierarchy's name: its controllers sorted and comma-joined, or `name=X`.
    pub fn hierarchy_name(&self) -> String {
        let mut parts: Vec<&str> = self
            .super_options
            .iter()
            .map(String::as_str)
            .filter(|o| !NON_CONTROLLER_OPTS.contains(o) && !o.starts_with("release_agent="))
            .collect();
        parts.sort_unstable();
        parts.join(",")
    }

    pub fn controllers(&self) -> Vec<String> {
        self.hierarchy_name()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Unescapes the octal sequences mountinfo uses for spaces and the like.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(s: &str) -> Vec<MountInfo> {
    s.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                return None;
            }
            Some(MountInfo {
                root: unescape(pre[3]),
                mount_point: PathBuf::from(unescape(pre[4])),
                fs_type: post[0].to_string(),
                super_options: post[2].split(',').map(str::to_string).collect(),
            })
        })
        .collect()
}

/// Maps each hierarchy (named as [`MountInfo::hierarchy_name`]; "" for cgroup2) to the
/// process's path in it.
pub fn parse_proc_cgroup(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?;
            let path = it.next()?;
            let mut parts: Vec<&str> = ctrls.split(',').filter(|c| !c.is_empty()).collect();
            parts.sort_unstable();
            Some((parts.join(","), path.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_fields() {
        let m = parse_mountinfo(
            "36 31 0:33 /sub /sys/fs/cgroup/cpu\\040x rw,relatime shared:5 - cgroup cgroup rw,cpuacct,cpu\n",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].root, "/sub");
        assert_eq!(m[0].mount_point, PathBuf::from("/sys/fs/cgroup/cpu x"));
        assert_eq!(m[0].hierarchy_name(), "cpu,cpuacct");
        assert_eq!(m[0].controllers(), vec!["cpu", "cpuacct"]);
    }

    #[test]
    fn proc_cgroup_names_match_hierarchy_names() {
        let own = parse_proc_cgroup("4:cpuacct,cpu:/a\n1:name=systemd:/b\n0::/c\n");
        assert_eq!(own["cpu,cpuacct"], "/a");
        assert_eq!(own["name=systemd"], "/b");
        assert_eq!(own[""], "/c");
    }
}
