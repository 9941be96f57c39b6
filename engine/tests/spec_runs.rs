//! The spec `daemon::spec::build` makes, run for real by `myrunc run` on the busybox
//! rootfs: the command runs, and Docker's hardening holds (seccomp denies namespace
//! creation, masked and read-only /proc paths, the default capabilities, a private
//! cgroup namespace). Needs root; builds nothing but expects `target/<profile>/myrunc`
//! (`cargo build -p myrunc`).

use std::path::{Path, PathBuf};
use std::process::Command;

use engine_api::containers::{Config, HostConfig};
use myengined::daemon::{etc_files, spec};

/// Debian's runc: the reference runtime.
const RUNC: &str = "/usr/sbin/runc";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// One container run: a bundle in a temp dir, a private myrunc root, and a cgroup parent
/// of its own, all removed on drop.
struct Run {
    dir: tempfile::TempDir,
    id: String,
    cgroup_parent: String,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn new(tag: &str) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("bundle/rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        // A copy: the runtime creates mount points (/etc/hosts, /sbin/myinit) in the rootfs.
        let src = integration_tests::busybox_rootfs();
        let st = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", src.display()))
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(st.success(), "copying the busybox rootfs");
        let id = format!("{:0<64}", format!("e2{tag}{}", std::process::id()));
        Run {
            dir,
            id,
            cgroup_parent: format!("/myengine-spec-test-{}-{tag}", std::process::id()),
        }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    /// Builds the spec for `config`/`host_config` and runs it to completion with myrunc.
    fn run(&self, config: &Config, host_config: &HostConfig, init: Option<&Path>) -> Output {
        self.run_with(&integration_tests::bin("myrunc"), config, host_config, init)
    }

    /// The same with another runtime (the real runc, as the reference).
    fn run_with(
        &self,
        runtime: &Path,
        config: &Config,
        host_config: &HostConfig,
        init: Option<&Path>,
    ) -> Output {
        let image = myimages::RuntimeConfig {
            cmd: vec!["sh".into()],
            env: vec![myimages::DEFAULT_PATH_ENV.into()],
            ..Default::default()
        };
        let user = myimages::ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![0],
        };
        let etc = self.dir.path().join("etc");
        let hostname = spec::hostname(&self.id, config, host_config).unwrap();
        etc_files::write(
            &etc,
            &hostname,
            &host_config.network_mode,
            &Default::default(),
        )
        .unwrap();
        let input = spec::SpecInput {
            id: &self.id,
            config,
            host_config,
            image: &image,
            user: &user,
            etc_dir: &etc,
            init_path: init.unwrap_or(Path::new("/nonexistent")),
            cgroup_parent: &self.cgroup_parent,
            netns_path: None,
        };
        let spec = spec::build(&input).unwrap();
        std::fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
        let out = Command::new(runtime)
            .arg("--root")
            .arg(self.dir.path().join("state"))
            .args(["run", "--bundle"])
            .arg(self.bundle())
            .arg(&self.id)
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for runtime in [integration_tests::bin("myrunc"), PathBuf::from(RUNC)] {
            let _ = Command::new(runtime)
                .arg("--root")
                .arg(self.dir.path().join("state"))
                .args(["delete", "--force", &self.id])
                .output();
        }
        // The runtime removes the container's cgroups; the parent is ours.
        if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in entries.flatten() {
                let parent = e.path().join(self.cgroup_parent.trim_start_matches('/'));
                let _ = std::fs::remove_dir(parent.join(&self.id));
                let _ = std::fs::remove_dir(&parent);
            }
        }
    }
}

fn sh(script: &str) -> Config {
    Config {
        cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
        ..Default::default()
    }
}

fn none_network() -> HostConfig {
    HostConfig {
        network_mode: "none".into(),
        ..Default::default()
    }
}

#[test]
fn runs_the_command_with_docker_defaults() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let run = Run::new("a");
    let out = run.run(
        &sh("echo hi; cat /etc/hostname; hostname; echo \"$HOSTNAME\"; pwd; id -u"),
        &none_network(),
        None,
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let short = &run.id[..12];
    assert_eq!(out.stdout, format!("hi\n{short}\n{short}\n{short}\n/\n0\n"));
}

const HARDENING_SCRIPT: &str = "\
        unshare -U true 2>/dev/null; echo unshare=$?; \
        unshare -U true 2>&1 | grep -c 'Operation not permitted'; \
        echo timer_list=$(wc -c < /proc/timer_list); \
        echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo procsys=$?; \
        touch /proc/sysrq-trigger 2>/dev/null; echo sysrq=$?; \
        grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; \
        echo cgroups; cat /proc/self/cgroup; \
        echo mounts; grep -E ' /dev/shm | /sys ' /proc/self/mounts";

#[test]
fn hardening_holds() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let run = Run::new("b");
    check_hardening(&run.run(&sh(HARDENING_SCRIPT), &none_network(), None));
}

/// The same spec under the real runc gives the same results (so the spec, not only our
/// runtime, carries the hardening).
#[test]
fn hardening_holds_under_runc() {
    if !is_root() || !Path::new(RUNC).exists() {
        eprintln!("skipped: needs root and {RUNC}");
        return;
    }
    let run = Run::new("r");
    let out = run.run_with(
        Path::new(RUNC),
        &sh(HARDENING_SCRIPT),
        &none_network(),
        None,
    );
    check_hardening(&out);
}

fn check_hardening(out: &Output) {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Seccomp: creating a user namespace needs CAP_SYS_ADMIN; EPERM, not a kill.
    assert_eq!(lines[0], "unshare=1", "{}", out.stdout);
    assert_eq!(lines[1], "1", "EPERM expected: {}", out.stdout);
    // Masked: /proc/timer_list (non-empty on the host) reads empty. (/proc/kcore, the
    // usual example, does not exist on every kernel.)
    assert_eq!(lines[2], "timer_list=0");
    // Read-only: /proc/sys and /proc/sysrq-trigger.
    assert_eq!(lines[3], "procsys=1");
    assert_eq!(lines[4], "sysrq=1");
    // Docker's 14 capabilities, nothing inheritable or ambient.
    let caps: Vec<&str> = lines[5..10].to_vec();
    assert_eq!(
        caps,
        [
            "CapInh:\t0000000000000000",
            "CapPrm:\t00000000a80425fb",
            "CapEff:\t00000000a80425fb",
            "CapBnd:\t00000000a80425fb",
            "CapAmb:\t0000000000000000",
        ]
    );
    // A private cgroup namespace: every hierarchy shows the container's cgroup as `/`.
    let cg_start = lines.iter().position(|l| *l == "cgroups").unwrap() + 1;
    let cg_end = lines.iter().position(|l| *l == "mounts").unwrap();
    assert!(cg_end > cg_start);
    for l in &lines[cg_start..cg_end] {
        assert!(l.ends_with(":/"), "cgroup line {l:?} in {}", out.stdout);
    }
    // /dev/shm at 64 MiB, /sys read-only.
    let mounts = &lines[cg_end + 1..].join("\n");
    assert!(
        mounts.contains("/dev/shm tmpfs") && mounts.contains("size=65536k"),
        "{mounts}"
    );
    assert!(mounts.contains("/sys sysfs ro,"), "{mounts}");
}

#[test]
fn resources_reach_the_cgroups() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let run = Run::new("c");
    let hc = HostConfig {
        memory: 64 << 20,
        nano_cpus: 500_000_000,
        pids_limit: Some(50),
        ..none_network()
    };
    let out = run.run(
        &sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
                /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes \
                /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max"),
        &hc,
        None,
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "67108864\n134217728\n50000\n50\n");
}

#[test]
fn init_runs_as_pid_1() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // A static init: the busybox rootfs has no libc for a dynamically linked one.
    let release = integration_tests::bin_dir()
        .parent()
        .unwrap()
        .join("release/myinit");
    let init = [release.as_path(), Path::new("/usr/bin/tini-static")]
        .into_iter()
        .find(|p| p.exists())
        .map(Path::to_path_buf);
    let Some(init) = init else {
        eprintln!("skipped: no static init (make build, or Debian's tini)");
        return;
    };
    let run = Run::new("d");
    let hc = HostConfig {
        init: Some(true),
        ..none_network()
    };
    let out = run.run(
        &sh("tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$"),
        &hc,
        Some(&init),
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("/sbin/myinit -- sh -c"),
        "{}",
        out.stdout
    );
    assert_ne!(lines[1], "1", "the shell is not PID 1 under init");
}

#[test]
fn no_command_is_refused_before_running() {
    let image = myimages::RuntimeConfig::default();
    let err = spec::command(&Config::default(), &image).unwrap_err();
    assert_eq!(err.to_string(), "no command specified");
}
