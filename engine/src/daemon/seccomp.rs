//! The default seccomp policy of a container: the same allow-list and conditions Docker's
//! default profile has (facts from moby `profiles/seccomp/default.json`), kept here as our
//! own table and rendered as the OCI `linux.seccomp` object for x86-64 hosts.
//!
//! The shape of the policy:
//! - everything not listed fails with `EPERM` (`SCMP_ACT_ERRNO`, errno 1), so programs see
//!   an ordinary permission error instead of being killed;
//! - a large set of harmless syscalls is always allowed;
//! - some syscalls are allowed only when the container holds the capability that guards
//!   them in the kernel anyway (`mount` needs `CAP_SYS_ADMIN`, `reboot` `CAP_SYS_BOOT`, …),
//!   which shrinks the kernel surface a container without the capability can reach;
//! - `clone` may not create namespaces without `CAP_SYS_ADMIN` (checked on its flags),
//!   and `clone3`, whose flags live in memory seccomp cannot read, fails with `ENOSYS` so
//!   libcs fall back to `clone`;
//! - `personality` is limited to the few personas programs legitimately switch to;
//! - `socket` may not open `AF_VSOCK` sockets.

use serde_json::{Value, json};

/// `EPERM`: what a denied syscall returns.
const DENY_ERRNO: u32 = 1;
/// `ENOSYS`: what `clone3` returns without `CAP_SYS_ADMIN`, so callers fall back to `clone`.
const ENOSYS: u32 = 38;

/// The architecture name Docker's profile uses for conditions, for this build's target.
/// Only x86-64 hosts are supported: the filter lists amd64 and its 32-bit sub-ABIs.
const HOST_ARCH: &str = "amd64";

/// The libseccomp architectures the filter covers: the native ABI and the two other ABIs
/// an x86-64 kernel also accepts syscalls through (i386 and x32), so they cannot be used
/// to bypass the native rules.
const ARCHITECTURES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
/// CLONE_NEWPID | CLONE_NEWNET`: the namespace-creating clone flags.
const CLONE_NAMESPACE_FLAGS: u64 =
    0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;

/// `AF_VSOCK`.
const AF_VSOCK: u64 = 40;

/// When a rule applies.
#[derive(Debug, Clone, Copy)]
enum When {
    Always,
    /// Only with this capability.
    WithCap(&'static str),
    /// Only without this capability.
    WithoutCap(&'static str),
    /// Only on these architectures (Docker's names: amd64, x32, x86, arm64, …).
    OnArch(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Allow,
    Errno(u32),
}

/// One argument condition: `args[index] op value` (for masked-equal, `args[index] & value
/// == 0`: none of the masked bits set).
#[derive(Debug, Clone, Copy)]
enum Cond {
    Eq(u32, u64),
    Ne(u32, u64),
    NoneOf(u32, u64),
}

struct Rule {
    names: &'static [&'static str],
    action: Action,
    cond: Option<Cond>,
    when: When,
}

const fn allow(names: &'static [&'static str], when: When) -> Rule {
    Rule {
        names,
        action: Action::Allow,
        cond: None,
        when,
    }
}

/// The syscalls every container may make, grouped by what they are for.
const ALWAYS_ALLOWED: &[&[&str]] = &[
    // Processes, threads, signals, scheduling.
    &[
        "capget",
        "capset",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "fork",
        "vfork",
        "getpid",
        "getppid",
        "gettid",
        "getpgid",
        "getpgrp",
        "getsid",
        "setpgid",
        "setsid",
        "wait4",
        "waitid",
        "waitpid",
        "kill",
        "tkill",
        "tgkill",
        "pidfd_open",
        "pidfd_send_signal",
        "process_mrelease",
        "prctl",
        "seccomp",
        "restart_syscall",
        "rseq",
        "set_tid_address",
        "get_robust_list",
        "set_robust_list",
        "get_thread_area",
        "set_thread_area",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "sigprocmask",
        "sigreturn",
        "pause",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "getpriority",
        "setpriority",
        "ioprio_get",
        "ioprio_set",
        "getcpu",
        "getrlimit",
        "setrlimit",
        "ugetrlimit",
        "prlimit64",
        "getrusage",
        "times",
        "sysinfo",
        "uname",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
    ],
    // Credentials.
    &[
        "getuid",
        "getuid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getegid",
        "getegid32",
        "getgroups",
        "getgroups32",
        "getresuid",
        "getresuid32",
        "getresgid",
        "getresgid32",
        "setuid",
        "setuid32",
        "setgid",
        "setgid32",
        "setreuid",
        "setreuid32",
        "setregid",
        "setregid32",
        "setresuid",
        "setresuid32",
        "setresgid",
        "setresgid32",
        "setgroups",
        "setgroups32",
        "setfsuid",
        "setfsuid32",
        "setfsgid",
        "setfsgid32",
    ],
    // Memory.
    &[
        "brk",
        "mmap",
        "mmap2",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "mincore",
        "msync",
        "mlock",
        "mlock2",
        "mlockall",
        "munlock",
        "munlockall",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "remap_file_pages",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
    ],
    // Files and directories.
    &[
        "access",
        "faccessat",
        "faccessat2",
        "chdir",
        "fchdir",
        "getcwd",
        "chmod",
        "fchmod",
        "fchmodat",
        "chown",
        "chown32",
        "fchown",
        "fchown32",
        "fchownat",
        "lchown",
        "lchown32",
        "umask",
        "open",
        "openat",
        "openat2",
        "creat",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "fcntl64",
        "flock",
        "read",
        "readv",
        "pread64",
        "preadv",
        "preadv2",
        "write",
        "writev",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "lseek",
        "_llseek",
        "sendfile",
        "sendfile64",
        "splice",
        "tee",
        "vmsplice",
        "copy_file_range",
        "readahead",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "truncate",
        "truncate64",
        "ftruncate",
        "ftruncate64",
        "fsync",
        "fdatasync",
        "sync",
        "syncfs",
        "sync_file_range",
        "stat",
        "stat64",
        "lstat",
        "lstat64",
        "fstat",
        "fstat64",
        "fstatat64",
        "newfstatat",
        "statx",
        "statfs",
        "statfs64",
        "fstatfs",
        "fstatfs64",
        "getdents",
        "getdents64",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "rmdir",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "unlink",
        "unlinkat",
        "readlink",
        "readlinkat",
        "utime",
        "utimes",
        "utimensat",
        "utimensat_time64",
        "futimesat",
        "name_to_handle_at",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "inotify_init",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
        "fanotify_mark",
        "ioctl",
        "pipe",
        "pipe2",
    ],
    // Waiting: poll, select, epoll, event and timer descriptors, futexes, clocks.
    &[
        "poll",
        "ppoll",
        "ppoll_time64",
        "select",
        "_newselect",
        "pselect6",
        "pselect6_time64",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_wait",
        "epoll_wait_old",
        "epoll_pwait",
        "epoll_pwait2",
        "eventfd",
        "eventfd2",
        "futex",
        "futex_time64",
        "futex_waitv",
        "alarm",
        "getitimer",
        "setitimer",
        "nanosleep",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "gettimeofday",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        // Adjusting the clock needs CAP_SYS_TIME in the kernel; reading it through
        // adjtimex does not.
        "adjtimex",
        "clock_adjtime",
        "clock_adjtime64",
        "getrandom",
    ],
    // Asynchronous I/O.
    &[
        "io_setup",
        "io_destroy",
        "io_submit",
        "io_cancel",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
    ],
    // Sockets (`socket` itself has its own rule below).
    &[
        "socketcall",
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "shutdown",
        "getsockname",
        "getpeername",
        "getsockopt",
        "setsockopt",
        "send",
        "sendto",
        "sendmsg",
        "sendmmsg",
        "recv",
        "recvfrom",
        "recvmsg",
        "recvmmsg",
        "recvmmsg_time64",
    ],
    // System V and POSIX IPC (inside the container's own IPC namespace).
    &[
        "ipc",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
    ],
    // Reading and debugging one's own processes: the kernel's Yama/ptrace checks still
    // apply (kernels from 4.8 on, which moby requires for this, close the seccomp bypass
    // through ptrace).
    &["ptrace", "process_vm_readv", "process_vm_writev"],
    // Newer syscalls of the same kinds, which recent moby releases allow too.
    &[
        "fchmodat2",
        "cachestat",
        "futex_wake",
        "futex_wait",
        "futex_requeue",
        "map_shadow_stack",
    ],
];

/// The conditional rules, in the order the filter lists them.
fn conditional_rules() -> Vec<Rule> {
    let mut rules = vec![
        // No AF_VSOCK sockets: a way out to the hypervisor.
        Rule {
            names: &["socket"],
            action: Action::Allow,
            cond: Some(Cond::Ne(0, AF_VSOCK)),
            when: When::Always,
        },
    ];
    // Personas: Linux (0), Linux with UNAME26 (0x0020000), the 32-bit one (8) and with
    // UNAME26 (0x20008), and the 0xffffffff query that only reads the current one.
    for persona in [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
        rules.push(Rule {
            names: &["personality"],
            action: Action::Allow,
            cond: Some(Cond::Eq(0, persona)),
            when: When::Always,
        });
    }
    rules.extend([
        // Architecture-specific syscalls.
        allow(&["arch_prctl"], When::OnArch(&["amd64", "x32"])),
        allow(&["modify_ldt"], When::OnArch(&["amd64", "x32", "x86"])),
        allow(
            &[
                "arm_fadvise64_64",
                "arm_sync_file_range",
                "sync_file_range2",
                "breakpoint",
                "cacheflush",
                "set_tls",
            ],
            When::OnArch(&["arm", "arm64"]),
        ),
        allow(
            &["sync_file_range2", "swapcontext"],
            When::OnArch(&["ppc64le"]),
        ),
        allow(
            &[
                "s390_pci_mmio_read",
                "s390_pci_mmio_write",
                "s390_runtime_instr",
            ],
            When::OnArch(&["s390", "s390x"]),
        ),
        allow(&["riscv_flush_icache"], When::OnArch(&["riscv64"])),
        // Guarded by capabilities in the kernel: open to a container only when it holds
        // the capability, so one without it does not even reach the code.
        allow(&["open_by_handle_at"], When::WithCap("CAP_DAC_READ_SEARCH")),
        allow(
            &[
                "bpf",
                "clone",
                "clone3",
                "fanotify_init",
                "fsconfig",
                "fsmount",
                "fsopen",
                "fspick",
                "lookup_dcookie",
                "mount",
                "mount_setattr",
                "move_mount",
                "open_tree",
                "perf_event_open",
                "quotactl",
                "quotactl_fd",
                "setdomainname",
                "sethostname",
                "setns",
                "syslog",
                "umount",
                "umount2",
                "unshare",
            ],
            When::WithCap("CAP_SYS_ADMIN"),
        ),
        // Without CAP_SYS_ADMIN, clone only when it creates no namespace.
        Rule {
            names: &["clone"],
            action: Action::Allow,
            cond: Some(Cond::NoneOf(0, CLONE_NAMESPACE_FLAGS)),
            when: When::WithoutCap("CAP_SYS_ADMIN"),
        },
        Rule {
            names: &["clone3"],
            action: Action::Errno(ENOSYS),
            cond: None,
            when: When::WithoutCap("CAP_SYS_ADMIN"),
        },
        allow(&["reboot"], When::WithCap("CAP_SYS_BOOT")),
        allow(&["chroot"], When::WithCap("CAP_SYS_CHROOT")),
        allow(
            &["delete_module", "init_module", "finit_module"],
            When::WithCap("CAP_SYS_MODULE"),
        ),
        allow(&["acct"], When::WithCap("CAP_SYS_PACCT")),
        allow(
            &[
                "kcmp",
                "pidfd_getfd",
                "process_madvise",
                "process_vm_readv",
                "process_vm_writev",
                "ptrace",
            ],
            When::WithCap("CAP_SYS_PTRACE"),
        ),
        allow(&["iopl", "ioperm"], When::WithCap("CAP_SYS_RAWIO")),
        allow(
            &["settimeofday", "stime", "clock_settime", "clock_settime64"],
            When::WithCap("CAP_SYS_TIME"),
        ),
        allow(&["vhangup"], When::WithCap("CAP_SYS_TTY_CONFIG")),
        allow(
            &[
                "get_mempolicy",
                "mbind",
                "set_mempolicy",
                "set_mempolicy_home_node",
            ],
            When::WithCap("CAP_SYS_NICE"),
        ),
        allow(&["syslog"], When::WithCap("CAP_SYSLOG")),
        allow(&["bpf"], When::WithCap("CAP_BPF")),
        allow(&["perf_event_open"], When::WithCap("CAP_PERFMON")),
    ]);
    rules
}

fn applies(when: When, caps: &[String]) -> bool {
    let has = |c: &str| caps.iter().any(|x| x == c);
    match when {
        When::Always => true,
        When::WithCap(c) => has(c),
        When::WithoutCap(c) => !has(c),
        When::OnArch(arches) => arches.contains(&HOST_ARCH),
    }
}

fn render(names: &[&str], action: Action, cond: Option<Cond>) -> Value {
    let mut rule = json!({ "names": names });
    match action {
        Action::Allow => rule["action"] = json!("SCMP_ACT_ALLOW"),
        Action::Errno(e) => {
            rule["action"] = json!("SCMP_ACT_ERRNO");
            rule["errnoRet"] = json!(e);
        }
    }
    if let Some(c) = cond {
        let (index, value, op) = match c {
            Cond::Eq(i, v) => (i, v, "SCMP_CMP_EQ"),
            Cond::Ne(i, v) => (i, v, "SCMP_CMP_NE"),
            // libseccomp's masked equality: (arg & value) == valueTwo.
            Cond::NoneOf(i, v) => (i, v, "SCMP_CMP_MASKED_EQ"),
        };
        rule["args"] = json!([{ "index": index, "value": value, "valueTwo": 0, "op": op }]);
    }
    rule
}

/// The OCI `linux.seccomp` object for a container holding `caps` (names like
/// `CAP_SYS_ADMIN`, as in `process.capabilities.bounding`).
pub fn default_profile(caps: &[String]) -> Value {
    let always: Vec<&str> = ALWAYS_ALLOWED
        .iter()
        .flat_map(|g| g.iter().copied())
        .collect();
    let mut syscalls = vec![render(&always, Action::Allow, None)];
    for rule in conditional_rules() {
        if applies(rule.when, caps) {
            syscalls.push(render(rule.names, rule.action, rule.cond));
        }
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": DENY_ERRNO,
        "architectures": ARCHITECTURES,
        "syscalls": syscalls,
    })
}

/// A profile in Docker's format (what `--security-opt seccomp=FILE` sends: the docker
/// CLI reads the file and passes its JSON) rendered for a container holding `caps`: rules
/// keep or drop by their `includes`/`excludes` (capabilities, architectures), `archMap`
/// becomes the list of architectures, and the rest is the OCI object's own fields. A
/// profile already in the OCI shape passes through the same way.
pub fn custom_profile(text: &str, caps: &[String]) -> Result<Value, String> {
    let p: Value =
        serde_json::from_str(text).map_err(|e| format!("decoding seccomp profile failed: {e}"))?;
    let Some(obj) = p.as_object() else {
        return Err("decoding seccomp profile failed: not a JSON object".into());
    };
    let default_action = obj
        .get("defaultAction")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .ok_or("seccomp profile: defaultAction is required")?;
    let mut out = json!({ "defaultAction": default_action });
    if let Some(e) = obj.get("defaultErrnoRet").filter(|v| !v.is_null()) {
        out["defaultErrnoRet"] = e.clone();
    }
    let mut arches: Vec<Value> = Vec::new();
    if let Some(list) = obj.get("architectures").and_then(Value::as_array) {
        arches.extend(list.iter().cloned());
    }
    // archMap: the native architecture and its sub-ABIs, for the host's native one.
    for entry in obj
        .get("archMap")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if entry["architecture"] == "SCMP_ARCH_X86_64" {
            arches.push(entry["architecture"].clone());
            arches.extend(
                entry["subArchitectures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    if !arches.is_empty() {
        out["architectures"] = Value::Array(arches);
    }
    for key in ["flags", "listenerPath", "listenerMetadata"] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            out[key] = v.clone();
        }
    }
    let has_cap = |c: &Value| c.as_str().is_some_and(|c| caps.iter().any(|x| x == c));
    let host_arch = |a: &Value| a.as_str() == Some(HOST_ARCH);
    let mut syscalls = Vec::new();
    for rule in obj
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let list = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
        let (inc, exc) = (&rule["includes"], &rule["excludes"]);
        if !list(inc, "caps").iter().all(has_cap)
            || list(exc, "caps").iter().any(has_cap)
            || (!list(inc, "arches").is_empty() && !list(inc, "arches").iter().any(host_arch))
            || list(exc, "arches").iter().any(host_arch)
        {
            continue;
        }
        let mut names = list(rule, "names");
        if let Some(name) = rule["name"].as_str().filter(|n| !n.is_empty()) {
            names.push(json!(name));
        }
        let action = rule["action"]
            .as_str()
            .filter(|a| !a.is_empty())
            .ok_or("seccomp profile: a syscall rule has no action")?;
        if names.is_empty() {
            return Err("seccomp profile: a syscall rule names no syscall".into());
        }
        let mut out_rule = json!({ "names": names, "action": action });
        for key in ["errnoRet", "args"] {
            if let Some(v) = rule.get(key).filter(|v| !v.is_null()) {
                out_rule[key] = v.clone();
            }
        }
        syscalls.push(out_rule);
    }
    out["syscalls"] = Value::Array(syscalls);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(profile: &Value, name: &str) -> Vec<Value> {
        profile["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == name))
            .cloned()
            .collect()
    }

    fn default_caps() -> Vec<String> {
        crate::daemon::spec::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn denies_with_eperm_by_default_on_all_x86_abis() {
        let p = default_profile(&default_caps());
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(
            p["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
    }

    #[test]
    fn namespaces_need_cap_sys_admin() {
        let p = default_profile(&default_caps());
        assert!(allowed(&p, "unshare").is_empty());
        assert!(allowed(&p, "mount").is_empty());
        assert!(allowed(&p, "setns").is_empty());
        let clone = allowed(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0]["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
        assert_eq!(clone[0]["args"][0]["value"], 0x7E02_0000u64);
        assert_eq!(clone[0]["args"][0]["valueTwo"], 0);
        let clone3 = allowed(&p, "clone3");
        assert_eq!(clone3[0]["action"], "SCMP_ACT_ERRNO");
        assert_eq!(clone3[0]["errnoRet"], 38);

        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN".into());
        let p = default_profile(&caps);
        assert_eq!(allowed(&p, "unshare").len(), 1);
        let clone = allowed(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert!(clone[0].get("args").is_none());
        let clone3 = allowed(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0]["action"], "SCMP_ACT_ALLOW");
    }

    #[test]
    fn capability_rules_follow_the_capabilities() {
        let p = default_profile(&default_caps());
        // CAP_SYS_CHROOT is a default capability, CAP_SYS_TIME and CAP_SYS_PTRACE are not.
        assert_eq!(allowed(&p, "chroot").len(), 1);
        assert!(allowed(&p, "settimeofday").is_empty());
        assert!(allowed(&p, "kcmp").is_empty());
        assert!(allowed(&p, "reboot").is_empty());
        let p = default_profile(&["CAP_SYS_TIME".to_string()]);
        assert_eq!(allowed(&p, "clock_settime").len(), 1);
        assert!(allowed(&p, "chroot").is_empty());
    }

    #[test]
    fn only_this_architectures_extras_are_listed() {
        let p = default_profile(&default_caps());
        assert_eq!(allowed(&p, "arch_prctl").len(), 1);
        assert_eq!(allowed(&p, "modify_ldt").len(), 1);
        assert!(allowed(&p, "set_tls").is_empty());
        assert!(allowed(&p, "s390_runtime_instr").is_empty());
        assert!(allowed(&p, "riscv_flush_icache").is_empty());
    }

    #[test]
    fn personality_and_socket_are_filtered_on_arguments() {
        let p = default_profile(&default_caps());
        let personas: Vec<u64> = allowed(&p, "personality")
            .iter()
            .map(|r| r["args"][0]["value"].as_u64().unwrap())
            .collect();
        assert_eq!(personas, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);
        let socket = allowed(&p, "socket");
        assert_eq!(socket.len(), 1);
        assert_eq!(socket[0]["args"][0]["op"], "SCMP_CMP_NE");
        assert_eq!(socket[0]["args"][0]["value"], 40);
    }

    #[test]
    fn the_always_list_has_no_duplicates_and_no_guarded_syscalls() {
        let mut all: Vec<&str> = ALWAYS_ALLOWED
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a syscall is listed twice");
        for guarded in [
            "mount", "unshare", "setns", "clone", "clone3", "reboot", "bpf",
        ] {
            assert!(!all.contains(&guarded), "{guarded} must stay conditional");
        }
    }

    #[test]
    fn custom_profiles_in_dockers_format() {
        let caps = default_caps();
        let text = r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "archMap": [
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
            ],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["chown"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
                {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
            ]
        }"#;
        let p = custom_profile(text, &caps).unwrap();
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(
            p["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        let names: Vec<String> = p["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["names"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "read",
                "write",
                "mkdir",
                "chown",
                "arch_prctl",
                "personality"
            ]
        );
        assert_eq!(allowed(&p, "mkdir")[0]["errnoRet"], 13);
        assert_eq!(allowed(&p, "personality")[0]["args"][0]["value"], 8);
        let mut admin = caps.clone();
        admin.push("CAP_SYS_ADMIN".into());
        let p = custom_profile(text, &admin).unwrap();
        assert_eq!(allowed(&p, "mount").len(), 1);
        assert!(allowed(&p, "chown").is_empty());
    }

    #[test]
    fn broken_custom_profiles_are_refused() {
        let caps = default_caps();
        for (text, needle) in [
            ("{", "decoding seccomp profile failed"),
            ("[]", "not a JSON object"),
            (r#"{"syscalls": []}"#, "defaultAction is required"),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}"#,
                "no action",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
                "names no syscall",
            ),
        ] {
            let e = custom_profile(text, &caps).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
