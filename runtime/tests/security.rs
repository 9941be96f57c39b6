//! Regression tests for the runtime escapes that hit runc, named after the CVE class
//! each guards, plus seccomp.

mod common;

use std::process::Stdio;

use common::{Bundle, Runtime, unique_id};
use serde_json::json;

fn sha(path: &str) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// CVE-2019-5736: a process in the container reaches the runtime binary through
/// /proc/<pid>/exe of a runtime process inside the container, keeps it open, and writes to
/// it once the runtime has stopped running it. myrunc runs container-entering commands from
/// a sealed memfd copy (and keeps the waiting init non-dumpable), so the write fails and
/// the host binary is unchanged. The test uses a private copy of the binary so that no
/// other test executing it can hide a successful write (ETXTBSY).
#[test]
fn cve_2019_5736_runtime_binary_cannot_be_overwritten() {
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("myrunc");
    std::fs::copy(env!("CARGO_BIN_EXE_myrunc"), &bin).unwrap();
    let mut rt = Runtime::myrunc();
    rt.bin = bin.clone();
    let before = sha(bin.to_str().unwrap());

    let mut b = Bundle::new(&["sleep", "100"]);
    let shared = tempfile::tempdir().unwrap();
    b.add_mount(json!({"destination": "/out", "type": "bind", "source": shared.path(), "options": ["rbind"]}));
    let id = unique_id("cve5736");
    rt.create(&b, &id);
    // Without extra privileges the waiting init's exe is out of reach (not dumpable).
    let out = rt.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "readlink /proc/1/exe || echo no-link",
    ]);
    assert!(out.contains("no-link"), "{out}");
    // A privileged attacker (CAP_SYS_PTRACE) gets a descriptor for it, waits until the
    // runtime stops running it, then tries to write through that descriptor.
    let attack = "exec 3</proc/1/exe && echo opened > /out/log; \
        while [ ! -e /out/go ]; do sleep 0.05; done; \
        (echo pwned >> /proc/self/fd/3) 2>> /out/log && echo wrote >> /out/log || echo refused >> /out/log; \
        echo done >> /out/done";
    let status = rt
        .cmd()
        .args([
            "exec",
            "-d",
            "--cap",
            "CAP_SYS_PTRACE",
            &id,
            "sh",
            "-c",
            attack,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    common::wait_until(10, "the attacker to open /proc/1/exe", || {
        std::fs::read_to_string(shared.path().join("log"))
            .unwrap_or_default()
            .contains("opened")
    });
    // start: the init execs sleep, so nothing runs the runtime's code in the container.
    rt.ok(&["start", &id]);
    std::fs::write(shared.path().join("go"), "").unwrap();
    common::wait_until(10, "the attack to finish", || {
        shared.path().join("done").exists()
    });
    let log = std::fs::read_to_string(shared.path().join("log")).unwrap();
    rt.ok(&["delete", "-f", &id]);
    assert!(log.contains("refused"), "{log}");
    assert_eq!(
        sha(bin.to_str().unwrap()),
        before,
        "the runtime binary changed: {log}"
    );
}

/// CVE-2024-21626: `process.cwd` set to /proc/self/fd/N, where N is a descriptor the
/// runtime leaked, gives the container a cwd on the host. Every such cwd must fail cleanly
/// (both runtimes), and nothing may be left running.
#[test]
fn cve_2024_21626_leaked_fd_as_cwd_fails_cleanly() {
    for rt in Runtime::both() {
        for n in 3..10 {
            let mut b = Bundle::new(&["sh", "-c", "pwd; ls .. | head -3"]);
            b.edit(|c| c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}")));
            let id = unique_id("cve21626");
            let (code, out, err) = rt.run_bundle(&b, &id);
            assert_ne!(
                code,
                0,
                "{}: cwd /proc/self/fd/{n} was accepted: {out}",
                rt.name()
            );
            assert!(out.is_empty(), "{}: the process ran: {out}", rt.name());
            if rt.kind == common::Kind::Myrunc {
                assert!(err.contains("cwd"), "{err}");
            }
            rt.force_delete(&id);
            assert!(common::cgroup_dirs_named(&id).is_empty());
        }
    }
}

/// CVE-2024-21626, second half: no runtime descriptor survives into the container.
#[test]
fn cve_2024_21626_no_descriptor_leaks_into_the_container() {
    for rt in Runtime::both() {
        let b = Bundle::new(&["ls", "/proc/self/fd"]);
        let (code, out, err) = rt.run_bundle(&b, &unique_id("fds"));
        assert_eq!(code, 0, "{err}");
        // stdio plus the descriptor ls opens for the directory itself.
        let fds: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(fds, ["0", "1", "2", "3"], "{}: {out}", rt.name());
    }
    // --preserve-fds passes exactly the extra descriptors asked for.
    let rt = Runtime::myrunc();
    let b = Bundle::new(&["sh", "-c", "ls /proc/self/fd | wc -l; cat <&3"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "passed-through\n").unwrap();
    let f = std::fs::File::open(file.path()).unwrap();
    let mut cmd = rt.cmd();
    cmd.args(["run", "--preserve-fds", "1", "--bundle"])
        .arg(b.path())
        .arg(unique_id("pfd"));
    let raw = std::os::fd::AsRawFd::as_raw_fd(&f);
    // SAFETY: dup2 in the child before exec, onto fd 3.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "5\npassed-through\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CVE-2021-30465 and relatives: mount destinations that are symlinks out of the rootfs
/// (to `/`, to `../../..`, to an absolute host path) are resolved inside the rootfs.
#[test]
fn cve_2021_30465_mount_destination_symlinks_stay_in_the_rootfs() {
    for rt in Runtime::both() {
        let host_dir = tempfile::tempdir().unwrap();
        let mut b = Bundle::private(&[
            "sh",
            "-c",
            "cat /proc/mounts | grep -c ' /escaped tmpfs'; ls -d /escaped /hostdir-target/inside 2>&1 | sort",
        ]);
        let rootfs = b.rootfs();
        std::os::unix::fs::symlink("/", rootfs.join("to_root")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../..", rootfs.join("to_parent")).unwrap();
        std::os::unix::fs::symlink(host_dir.path(), rootfs.join("to_host")).unwrap();
        b.add_mount(json!({"destination": "/to_root/escaped", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        b.add_mount(json!({"destination": "/to_parent/escaped2", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        b.add_mount(json!({"destination": "/to_host/inside", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        let (code, out, err) = rt.run_bundle(&b, &unique_id("symlink"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        assert!(out.starts_with("1\n"), "{}: {out}", rt.name());
        // Nothing was created on the host through the links.
        assert_eq!(
            std::fs::read_dir(host_dir.path()).unwrap().count(),
            0,
            "{}: host dir touched",
            rt.name()
        );
        assert!(
            !std::path::Path::new("/escaped").exists()
                && !std::path::Path::new("/escaped2").exists()
        );
        // The directories landed inside the rootfs instead.
        assert!(
            rootfs.join("escaped").is_dir() && rootfs.join("escaped2").is_dir(),
            "{}",
            rt.name()
        );
    }
}

/// Procfs races: sysctls are only written to a real procfs. A spec that puts a tmpfs on
/// /proc (as a hostile image could arrange) makes the write fail instead of landing in a
/// file the container controls.
#[test]
fn proc_writes_check_for_procfs() {
    let rt = Runtime::myrunc();
    let mut b = Bundle::private(&["true"]);
    std::fs::create_dir_all(b.rootfs().join("fakeproc/sys/kernel")).unwrap();
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/proc");
        mounts.insert(
            0,
            json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": []}),
        );
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
        c["linux"]["sysctl"] = json!({"kernel.shmmni": "1000"});
    });
    let (code, _, err) = rt.run_bundle(&b, &unique_id("procfs"));
    assert_ne!(code, 0);
    assert!(
        err.contains("kernel.shmmni") || err.contains("procfs"),
        "{err}"
    );
}

fn seccomp_profile() -> serde_json::Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            // Argument conditions: only mode 0777 is refused.
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 2, "value": 511, "op": "SCMP_CMP_EQ"}]},
            {"names": ["sync"], "action": "SCMP_ACT_KILL"},
            {"names": ["sethostname"], "action": "SCMP_ACT_TRAP"}
        ]
    })
}

#[test]
fn seccomp_denies_with_the_configured_errno() {
    for rt in Runtime::both() {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "mkdir /tmp/x 2>&1; touch /tmp/f; chmod 755 /tmp/f && echo 755-ok; chmod 777 /tmp/f 2>&1 || echo 777-denied",
        ]);
        b.add_mount(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        b.edit(|c| c["linux"]["seccomp"] = seccomp_profile());
        let (code, out, err) = rt.run_bundle(&b, &unique_id("seccomp"));
        assert_eq!(code, 0, "{}: {err}", rt.name());
        assert!(
            out.contains("Function not implemented"),
            "{}: {out}",
            rt.name()
        );
        assert!(
            out.contains("755-ok") && out.contains("777-denied"),
            "{}: {out}",
            rt.name()
        );

        // SCMP_ACT_KILL ends the thread (the whole single-threaded process) with SIGSYS.
        let mut b = Bundle::new(&["sync"]);
        b.edit(|c| c["linux"]["seccomp"] = seccomp_profile());
        let (code, _, _) = rt.run_bundle(&b, &unique_id("seccomp"));
        assert_eq!(code, 128 + libc::SIGSYS, "{}", rt.name());
        // SCMP_ACT_TRAP delivers SIGSYS.
        let mut b = Bundle::new(&["hostname", "x"]);
        b.edit(|c| c["linux"]["seccomp"] = seccomp_profile());
        let (code, _, _) = rt.run_bundle(&b, &unique_id("seccomp"));
        assert_eq!(code, 128 + libc::SIGSYS, "{}", rt.name());
    }
}

#[test]
fn seccomp_notify_and_unknown_actions_are_refused() {
    let rt = Runtime::myrunc();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOTIFY", "syscalls": []}));
    let (code, _, err) = rt.run_bundle(&b, &unique_id("notify"));
    assert_eq!(code, 1);
    assert!(
        err.contains("SCMP_ACT_NOTIFY") && err.contains("not supported"),
        "{err}"
    );
}
