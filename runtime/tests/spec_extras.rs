//! The rest of the runtime spec: hooks, user namespaces, propagation, personality,
//! cgroup extras, and the commands that report on a container.

mod common;

use std::path::Path;

use common::{Bundle, Kind, Runtime, cgroup_dirs_named, unique_id};
use serde_json::{Value, json};

/// A hook that appends "<name> <status> <pid> <mnt ns>" to `log`. Hooks that run in the
/// container's mount namespace after the root switch see `log` at /hooks.
fn hook(name: &str, log: &Path, timeout: Option<i64>) -> Value {
    let script = format!(
        "read -r state; status=$(echo \"$state\" | sed 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/'); \
         echo {name} $status $(readlink /proc/self/ns/mnt) >> {}",
        log.display()
    );
    let mut h = json!({"path": "/bin/sh", "args": ["sh", "-c", script]});
    if let Some(t) = timeout {
        h["timeout"] = json!(t);
    }
    h
}

fn host_mnt_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn hooks_run_in_order_in_the_right_namespaces() {
    for rt in Runtime::both() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("hooks.log");
        let mut b = Bundle::new(&["sh", "-c", "echo main >> /hooks/hooks.log"]);
        b.add_mount(json!({"destination": "/hooks", "type": "bind", "source": dir.path(), "options": ["rbind"]}));
        let in_container = Path::new("/hooks/hooks.log");
        b.edit(|c| {
            c["hooks"] = json!({
                "prestart": [hook("prestart", &log, None)],
                "createRuntime": [hook("createRuntime", &log, None)],
                "createContainer": [hook("createContainer", &log, None)],
                "startContainer": [hook("startContainer", in_container, None)],
                "poststart": [hook("poststart", &log, None)],
                "poststop": [hook("poststop", &log, None)],
            })
        });
        let (code, _, err) = rt.run_bundle(&b, &unique_id("hooks"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
        let names: Vec<&str> = lines.iter().map(|l| l[0]).collect();
        // poststart and the program race; everything else is ordered.
        let pos = |n: &str| {
            names
                .iter()
                .position(|x| *x == n)
                .unwrap_or_else(|| panic!("{}: {n} missing in {text}", rt.name()))
        };
        assert!(pos("prestart") < pos("createRuntime"), "{text}");
        assert!(pos("createRuntime") < pos("createContainer"), "{text}");
        assert!(pos("createContainer") < pos("startContainer"), "{text}");
        assert!(pos("startContainer") < pos("main"), "{text}");
        assert!(
            pos("main") < pos("poststop") && pos("poststart") < pos("poststop"),
            "{text}"
        );
        let host = host_mnt_ns();
        let ns = |n: &str| lines[pos(n)][2].to_string();
        for n in ["prestart", "createRuntime", "poststart", "poststop"] {
            assert_eq!(
                ns(n),
                host,
                "{}: {n} must run in the runtime namespace",
                rt.name()
            );
        }
        for n in ["createContainer", "startContainer"] {
            assert_ne!(
                ns(n),
                host,
                "{}: {n} must run in the container namespace",
                rt.name()
            );
        }
        assert_eq!(lines[pos("poststop")][1], "stopped", "{text}");
        assert_eq!(lines[pos("createRuntime")][1], "creating", "{text}");
    }
}

#[test]
fn failing_hook_before_start_fails_and_cleans_up() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 1"]}]}));
        let id = unique_id("hookfail");
        let (ok, err) = rt.try_create(&b, &id, &[]);
        assert!(!ok, "{}", rt.name());
        if rt.kind == Kind::Myrunc {
            assert!(
                err.contains("createRuntime") && err.contains("hook-says-no"),
                "{err}"
            );
        }
        rt.force_delete(&id);
        assert!(cgroup_dirs_named(&id).is_empty(), "{}", rt.name());
    }
    // A hook that outlives its timeout fails too.
    let rt = Runtime::myrunc();
    let dir = tempfile::tempdir().unwrap();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["hooks"] =
            json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]})
    });
    let id = unique_id("hooktimeout");
    let start = std::time::Instant::now();
    let (ok, err) = rt.try_create(&b, &id, &[]);
    assert!(!ok && err.contains("timed out"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(!rt.root.path().join(&id).exists());
    drop(dir);
}

#[test]
fn failing_poststart_and_poststop_only_warn() {
    let rt = Runtime::myrunc();
    let mut b = Bundle::new(&["sh", "-c", "exit 4"]);
    let fail = json!([{"path": "/bin/false", "args": ["false"]}]);
    b.edit(|c| c["hooks"] = json!({"poststart": fail, "poststop": fail}));
    let (code, _, err) = rt.run_bundle(&b, &unique_id("hookwarn"));
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("poststart") && err.contains("poststop"),
        "warnings expected: {err}"
    );
}

#[test]
fn user_namespace_with_mappings() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/gid_map; ls -ln /bin/busybox | awk '{print $3}'",
        ]);
        b.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            c["linux"]["uidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["gidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        });
        let (code, out, err) = rt.run_bundle(&b, &unique_id("userns"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words[0], "0", "{}: {out}", rt.name());
        assert_eq!(&words[1..4], ["0", "100000", "65536"], "{out}");
        assert_eq!(&words[4..7], ["0", "100000", "65536"], "{out}");
        // Host root is unmapped inside: the rootfs is owned by the overflow uid.
        assert_eq!(words[7], "65534", "{out}");
    }
}

#[test]
fn rootfs_propagation() {
    for rt in Runtime::both() {
        // The optional fields of the mount on "/" (field 5) say shared:N or master:N.
        let check = "awk '$5 == \"/\" { for (i = 7; $i != \"-\"; i++) print $i }' /proc/self/mountinfo | cut -d: -f1 | sort -u | tr '\\n' ' '";
        let mut b = Bundle::new(&["sh", "-c", check]);
        // The default (rslave) shows as master:N only when the host's / is shared.
        let (code, out, err) = rt.run_bundle(&b, &unique_id("prop"));
        assert_eq!(code, 0, "{err}");
        assert!(
            !out.contains("shared"),
            "{}: default root must not be shared: {out}",
            rt.name()
        );
        b.edit(|c| c["linux"]["rootfsPropagation"] = json!("rprivate"));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("prop"));
        assert_eq!(
            (code, out.trim()),
            (0, ""),
            "{}: private root: {err}",
            rt.name()
        );
        b.edit(|c| c["linux"]["rootfsPropagation"] = json!("rshared"));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("prop"));
        assert_eq!(code, 0, "{err}");
        // Deliberate difference: runc 1.1.5 applies rshared before pivot_root only, and the
        // container's root ends up private; myrunc applies it to the new root as well.
        if rt.kind == Kind::Myrunc {
            assert!(out.contains("shared"), "shared root: {out}");
        }
    }
}

#[test]
fn personality_linux32() {
    // `linux.personality` is runtime-spec 1.1: Debian's runc 1.1.5 ignores it (it prints
    // x86_64), so only myrunc is checked.
    let rt = Runtime::myrunc();
    let mut b = Bundle::new(&["uname", "-m"]);
    b.edit(|c| c["linux"]["personality"] = json!({"domain": "LINUX32"}));
    let (code, out, err) = rt.run_bundle(&b, &unique_id("pers"));
    assert_eq!((code, out.trim()), (0, "i686"), "{err}");
    b.edit(|c| c["linux"]["personality"] = json!({"domain": "LINUX64"}));
    let (code, _, err) = rt.run_bundle(&b, &unique_id("pers"));
    assert_eq!(code, 1);
    assert!(err.contains("linux.personality.domain"), "{err}");
}

#[test]
fn oom_score_adj_set_or_left_alone() {
    let ours = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    for rt in Runtime::both() {
        let b = Bundle::new(&["cat", "/proc/self/oom_score_adj"]);
        let (code, out, _) = rt.run_bundle(&b, &unique_id("oom"));
        assert_eq!(
            (code, out.as_str()),
            (0, ours.as_str()),
            "{}: unset must inherit",
            rt.name()
        );
        let mut b = Bundle::new(&["cat", "/proc/self/oom_score_adj"]);
        // Raising needs no privilege, so this works on every host.
        b.edit(|c| c["process"]["oomScoreAdj"] = json!(777));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("oom"));
        assert_eq!((code, out.trim()), (0, "777"), "{}: {err}", rt.name());
    }
}

#[test]
fn cpuset_limits() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus",
        ]);
        b.edit(|c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0", "mems": "0"}));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("cpuset"));
        assert_eq!((code, out.trim()), (0, "0"), "{}: {err}", rt.name());
    }
}

#[test]
fn missing_blkio_weight_is_reported_clearly() {
    let rt = Runtime::myrunc();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["resources"]["blockIO"] = json!({"weight": 500}));
    let id = unique_id("blkio");
    let (ok, err) = rt.try_create(&b, &id, &[]);
    if Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || Path::new("/sys/fs/cgroup/io.weight").exists()
    {
        assert!(ok, "{err}");
        rt.force_delete(&id);
    } else {
        assert!(!ok);
        assert!(
            err.contains("blkio.weight") || err.contains("io.weight"),
            "{err}"
        );
        assert!(cgroup_dirs_named(&id).is_empty());
    }
}

#[test]
fn hugetlb_limits() {
    let rt = Runtime::myrunc();
    let b = {
        let mut b = Bundle::new(&["sleep", "100"]);
        b.edit(|c| {
            c["linux"]["resources"]["hugepageLimits"] =
                json!([{"pageSize": "2MB", "limit": 4194304}])
        });
        b
    };
    let id = unique_id("huge");
    rt.create(&b, &id);
    // v1 hugetlb hierarchy, or the unified one that carries it on hybrid hosts.
    let found = cgroup_dirs_named(&id)
        .into_iter()
        .filter_map(|d| {
            std::fs::read_to_string(d.join("hugetlb.2MB.limit_in_bytes"))
                .or_else(|_| std::fs::read_to_string(d.join("hugetlb.2MB.max")))
                .ok()
        })
        .collect::<Vec<_>>();
    rt.ok(&["delete", "-f", &id]);
    assert_eq!(
        found.iter().map(|s| s.trim()).collect::<Vec<_>>(),
        ["4194304"]
    );
}

#[test]
fn capabilities_the_host_cannot_grant_are_dropped_with_a_warning() {
    let rt = Runtime::myrunc();
    let bounding = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = bounding.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let mask = u64::from_str_radix(bnd.split_whitespace().nth(1).unwrap(), 16).unwrap();
    let host_has_sys_resource = mask & (1 << 24) != 0;
    let mut b = Bundle::new(&["grep", "CapEff", "/proc/self/status"]);
    b.edit(|c| {
        let caps = json!(["CAP_KILL", "CAP_SYS_RESOURCE"]);
        c["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
    });
    let (code, out, err) = rt.run_bundle(&b, &unique_id("capdrop"));
    assert_eq!(code, 0, "{err}");
    let eff = u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert!(eff & (1 << 5) != 0, "CAP_KILL granted: {out}");
    if host_has_sys_resource {
        assert!(eff & (1 << 24) != 0, "{out}");
    } else {
        assert_eq!(eff & (1 << 24), 0, "{out}");
        assert!(
            err.contains("CAP_SYS_RESOURCE"),
            "a warning names the dropped capability: {err}"
        );
    }
}

#[test]
fn unsupported_namespace_types_are_errors() {
    let rt = Runtime::myrunc();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}))
    });
    let (code, _, err) = rt.run_bundle(&b, &unique_id("timens"));
    assert_eq!(code, 1);
    assert!(
        err.contains("time namespace") && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn joined_namespaces_by_path() {
    for rt in Runtime::both() {
        // A first container, then a second one that joins its network and uts namespaces.
        let mut b1 = Bundle::new(&["sleep", "100"]);
        b1.edit(|c| c["hostname"] = json!("sharedhost"));
        let id1 = unique_id("nsowner");
        rt.create(&b1, &id1);
        let pid = rt.state(&id1)["pid"].as_i64().unwrap();
        let mut b2 = Bundle::new(&["hostname"]);
        b2.edit(|c| {
            c["hostname"] = Value::Null;
            for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "uts" || ns["type"] == "network" {
                    let name = if ns["type"] == "uts" { "uts" } else { "net" };
                    ns["path"] = json!(format!("/proc/{pid}/ns/{name}"));
                }
            }
        });
        let (code, out, err) = rt.run_bundle(&b2, &unique_id("nsjoin"));
        rt.ok(&["delete", "-f", &id1]);
        assert_eq!(
            (code, out.trim()),
            (0, "sharedhost"),
            "{}: {err}",
            rt.name()
        );
    }
}

#[test]
fn events_stats_and_features() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&["sleep", "100"]);
        b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": 67108864}));
        let id = unique_id("events");
        rt.create(&b, &id);
        rt.ok(&["start", &id]);
        let ev: Value = serde_json::from_str(rt.ok(&["events", "--stats", &id]).trim()).unwrap();
        assert_eq!(ev["type"], "stats", "{}", rt.name());
        assert_eq!(ev["id"], id.as_str());
        assert!(
            ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
            "{}: {ev}",
            rt.name()
        );
        assert_eq!(
            ev["data"]["memory"]["usage"]["limit"],
            67108864,
            "{}",
            rt.name()
        );
        assert!(ev["data"]["pids"]["current"].as_u64().unwrap() >= 1);
        rt.ok(&["delete", "-f", &id]);
    }
    let rt = Runtime::myrunc();
    let f: Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert!(
        f["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!("user"))
    );
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
}

#[test]
fn ps_with_arguments() {
    for rt in Runtime::both() {
        let b = Bundle::new(&["sleep", "100"]);
        let id = unique_id("psargs");
        rt.create(&b, &id);
        rt.ok(&["start", &id]);
        common::wait_until(10, "sleep running", || {
            rt.ok(&["ps", &id]).contains("sleep 100")
        });
        let out = rt.ok(&["ps", &id, "-o", "pid,comm"]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["PID", "COMMAND"],
            "{}: {out}",
            rt.name()
        );
        assert!(lines[1].ends_with("sleep"), "{}: {out}", rt.name());
        rt.ok(&["delete", "-f", &id]);
    }
}
