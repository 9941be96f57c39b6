//! The cgroup v2 device program, loaded for real: this host's hybrid layout has a cgroup2
//! hierarchy (/sys/fs/cgroup/unified, or /sys/fs/cgroup itself on a v2 host).

use std::ffi::CString;
use std::path::PathBuf;

use myrunc::cgroups::ebpf;
use myrunc::spec::DeviceRule;

fn cgroup2_root() -> PathBuf {
    for p in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
        let st = nix::sys::statfs::statfs(p).unwrap();
        if st.filesystem_type().0 as i64 == 0x6367_7270 {
            return PathBuf::from(p);
        }
    }
    panic!("no cgroup2 hierarchy on this host");
}

/// Forks a child that joins `dir` and tries to open `path` with `flags`; returns errno or 0.
fn try_open_in(dir: &std::path::Path, path: &str, flags: i32) -> i32 {
    let procs = CString::new(dir.join("cgroup.procs").to_str().unwrap()).unwrap();
    let target = CString::new(path).unwrap();
    // SAFETY: the child only makes raw syscalls and exits.
    match unsafe { libc::fork() } {
        0 => unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                libc::_exit(200);
            }
            libc::close(fd);
            let r = libc::open(target.as_ptr(), flags);
            let code = if r >= 0 { 0 } else { *libc::__errno_location() };
            libc::_exit(code);
        },
        pid => {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(libc::WIFEXITED(status));
            let code = libc::WEXITSTATUS(status);
            assert_ne!(code, 200, "could not join {}", dir.display());
            code
        }
    }
}

#[test]
fn device_program_enforces_rules() {
    let dir = cgroup2_root().join(format!("myrunc-ebpf-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let rule = |allow, typ: &str, major, minor, access: &str| DeviceRule {
        allow,
        typ: Some(typ.into()),
        major,
        minor,
        access: Some(access.into()),
    };
    let rules = vec![
        rule(false, "a", None, None, "rwm"),
        rule(true, "c", Some(1), Some(5), "r"),
    ];
    let result = std::panic::catch_unwind(|| {
        ebpf::attach(&dir, &rules).unwrap();
        assert_eq!(
            try_open_in(&dir, "/dev/zero", libc::O_RDONLY),
            0,
            "read of /dev/zero is allowed"
        );
        assert_eq!(
            try_open_in(&dir, "/dev/zero", libc::O_WRONLY),
            libc::EPERM,
            "write is not"
        );
        assert_eq!(
            try_open_in(&dir, "/dev/null", libc::O_RDONLY),
            libc::EPERM,
            "/dev/null is not listed"
        );
        // Replacing the rules swaps the program (the old one is detached).
        ebpf::attach(&dir, &[rule(true, "a", None, None, "rwm")]).unwrap();
        assert_eq!(try_open_in(&dir, "/dev/null", libc::O_WRONLY), 0);
    });
    std::fs::remove_dir(&dir).unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
