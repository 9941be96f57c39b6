//! Seccomp filters (`linux.seccomp`): compiled with libseccomp in the runtime, loaded
//! as raw BPF by the container process as late as possible, just before execve.

use std::io::{Read, Seek};
use std::os::fd::AsFd;
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

use crate::error::{Error, Result};
use crate::spec::{Seccomp, SeccompArg};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;

/// A compiled filter, ready to load.
pub struct Filter {
    program: Vec<libc::sock_filter>,
    flags: u32,
}

fn action(name: &str, errno: Option<u32>, field: &str) -> Result<ScmpAction> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(errno as u16),
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => {
            return Err(Error::config(
                field,
                "SCMP_ACT_NOTIFY (seccomp user notification) is not supported by myrunc",
            ));
        }
        other => {
            return Err(Error::config(
                field,
                format!("unknown seccomp action {other:?}"),
            ));
        }
    })
}

fn compare(arg: &SeccompArg, field: &str) -> Result<ScmpArgCompare> {
    let op = match arg.op.as_str() {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(arg.value),
        other => {
            return Err(Error::config(
                field,
                format!("unknown seccomp operator {other:?}"),
            ));
        }
    };
    if arg.index > 5 {
        return Err(Error::config(
            field,
            format!("argument index {} is above 5", arg.index),
        ));
    }
    let datum = if matches!(op, ScmpCompareOp::MaskedEqual(_)) {
        arg.value_two
    } else {
        arg.value
    };
    Ok(ScmpArgCompare::new(arg.index, op, datum))
}

impl Filter {
    pub fn compile(spec: &Seccomp) -> Result<Filter> {
        let lib = |what: String| {
            move |e: libseccomp::error::SeccompError| {
                Error::config("linux.seccomp", format!("{what}: {e}"))
            }
        };
        let default = action(
            &spec.default_action,
            spec.default_errno_ret,
            "linux.seccomp.defaultAction",
        )?;
        let mut ctx = ScmpFilterContext::new(default).map_err(lib("creating the filter".into()))?;
        for (i, a) in spec.architectures.iter().enumerate() {
            let arch = ScmpArch::from_str(a).map_err(|_| {
                Error::config(
                    format!("linux.seccomp.architectures[{i}]"),
                    format!("unknown architecture {a:?}"),
                )
            })?;
            ctx.add_arch(arch)
                .map_err(lib(format!("adding architecture {a}")))?;
        }
        let mut flags = 0;
        for (i, f) in spec.flags.iter().enumerate() {
            flags |= match f.as_str() {
                "SECCOMP_FILTER_FLAG_TSYNC" => FLAG_TSYNC,
                "SECCOMP_FILTER_FLAG_LOG" => FLAG_LOG,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => FLAG_SPEC_ALLOW,
                other => {
                    return Err(Error::config(
                        format!("linux.seccomp.flags[{i}]"),
                        format!("unknown or unsupported flag {other:?}"),
                    ));
                }
            };
        }
        if spec.listener_path.is_some() {
            return Err(Error::config(
                "linux.seccomp.listenerPath",
                "seccomp user notification is not supported by myrunc",
            ));
        }
        for (i, rule) in spec.syscalls.iter().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            let act = action(&rule.action, rule.errno_ret, &format!("{field}.action"))?;
            if act == default {
                // libseccomp refuses rules equal to the default action; they change nothing.
                continue;
            }
            let conds = rule
                .args
                .iter()
                .enumerate()
                .map(|(j, a)| compare(a, &format!("{field}.args[{j}]")))
                .collect::<Result<Vec<_>>>()?;
            let mut indexes: Vec<u32> = rule.args.iter().map(|a| a.index).collect();
            indexes.sort_unstable();
            let repeats = indexes.windows(2).any(|w| w[0] == w[1]);
            for name in &rule.names {
                // Profiles list syscalls newer or older than this kernel and libseccomp
                // know; like runc, skip the unknown ones.
                let Ok(sc) = ScmpSyscall::from_name(name) else {
                    tracing::debug!("seccomp: unknown syscall {name:?} skipped");
                    continue;
                };
                let res = if conds.is_empty() {
                    ctx.add_rule(act, sc).map(|_| ())
                } else if repeats {
                    // Several conditions on one argument cannot share a rule: add them
                    // as alternatives, as runc does.
                    conds
                        .iter()
                        .try_for_each(|c| ctx.add_rule_conditional(act, sc, &[*c]).map(|_| ()))
                } else {
                    ctx.add_rule_conditional(act, sc, &conds).map(|_| ())
                };
                res.map_err(lib(format!("{field}: adding rule for {name}")))?;
            }
        }
        let program = export(&ctx)?;
        Ok(Filter { program, flags })
    }

    /// Loads the filter into the calling process.
    pub fn load(&self) -> Result<()> {
        let prog = libc::sock_fprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prog points at a valid BPF program that outlives the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                self.flags as libc::c_ulong,
                &prog as *const libc::sock_fprog,
            )
        };
        if r != 0 {
            return Err(Error::sys(
                "loading the seccomp filter",
                nix::errno::Errno::last(),
            ));
        }
        Ok(())
    }
}

/// The filter as raw BPF, through a memfd (libseccomp 2.5 can only export to a file).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>> {
    let fd =
        nix::sys::memfd::memfd_create("myrunc-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| Error::sys("memfd_create", e))?;
    ctx.export_bpf(fd.as_fd())
        .map_err(|e| Error::config("linux.seccomp", format!("exporting the filter: {e}")))?;
    let mut file = std::fs::File::from(fd);
    file.rewind()
        .map_err(|e| Error::io("rewinding", "seccomp memfd", e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", "seccomp memfd", e))?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SeccompSyscall;

    fn profile(action: &str) -> Seccomp {
        Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            architectures: vec!["SCMP_ARCH_X86_64".into()],
            syscalls: vec![SeccompSyscall {
                names: vec![
                    "mkdir".into(),
                    "mkdirat".into(),
                    "no_such_syscall_42".into(),
                ],
                action: action.into(),
                errno_ret: Some(libc::EROFS as u32),
                args: vec![],
            }],
            ..Seccomp::default()
        }
    }

    #[test]
    fn compiles_a_profile() {
        let f = Filter::compile(&profile("SCMP_ACT_ERRNO")).unwrap();
        assert!(!f.program.is_empty());
    }

    #[test]
    fn rejects_unknown_actions_and_notify() {
        let msg = Filter::compile(&profile("SCMP_ACT_BOGUS"))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("syscalls[0].action"), "{msg}");
        let msg = Filter::compile(&profile("SCMP_ACT_NOTIFY"))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("not supported"), "{msg}");
    }

    #[test]
    fn filter_denies_with_the_configured_errno() {
        let f = Filter::compile(&profile("SCMP_ACT_ERRNO")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = std::ffi::CString::new(dir.path().join("x").to_str().unwrap()).unwrap();
        // SAFETY: fork in a test; the child only makes syscalls and exits.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: plain prctl.
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                let code = match f.load() {
                    Err(_) => 2,
                    Ok(()) => {
                        // SAFETY: valid path.
                        let r = unsafe { libc::mkdir(target.as_ptr(), 0o755) };
                        if r == -1 && nix::errno::Errno::last() == nix::errno::Errno::EROFS {
                            0
                        } else {
                            1
                        }
                    }
                };
                // SAFETY: leave the forked test process without running destructors.
                unsafe { libc::_exit(code) };
            }
            pid => {
                let status =
                    nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
                assert_eq!(
                    status,
                    nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0)
                );
                assert!(!dir.path().join("x").exists());
            }
        }
    }
}
