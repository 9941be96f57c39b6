//! Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the rule list.
//!
//! cgroup v2 has no devices controller; the kernel asks an eBPF program attached to the
//! cgroup instead. The program reproduces v1 semantics: rules are checked from the last to
//! the first and the first match decides, so `[deny all, allow X]` is a whitelist and an
//! empty list allows everything.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::spec::DeviceRule;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes used below (class | size/op | source).
const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

fn access_bits(access: Option<&str>) -> i32 {
    access.unwrap_or("rwm").chars().fold(0, |a, c| {
        a | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// Compiles the rules into the program's instructions.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    // r2 = device type, r3 = requested access, r4 = major, r5 = minor.
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV64_X, 3, 2, 0, 0),
        insn(AND64_K, 2, 0, 0, 0xffff),
        insn(RSH64_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        // Each block ends in "return verdict"; every failed test jumps past the block.
        let mut block: Vec<(Insn, bool)> = Vec::new();
        match rule.typ.as_deref().unwrap_or("a") {
            "c" => block.push((insn(JNE_K, 2, 0, 0, DEV_CHAR), true)),
            "b" => block.push((insn(JNE_K, 2, 0, 0, DEV_BLOCK), true)),
            _ => {}
        }
        let acc = access_bits(rule.access.as_deref());
        if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
            block.push((insn(MOV64_X, 6, 3, 0, 0), false));
            if rule.allow {
                // Allow only when every requested bit is granted.
                block.push((insn(AND64_K, 6, 0, 0, !acc & 7), false));
                block.push((insn(JNE_K, 6, 0, 0, 0), true));
            } else {
                // Deny when any requested bit is denied.
                block.push((insn(AND64_K, 6, 0, 0, acc), false));
                block.push((insn(JEQ_K, 6, 0, 0, 0), true));
            }
        }
        if let Some(major) = rule.major.filter(|m| *m >= 0) {
            block.push((insn(JNE_K, 4, 0, 0, major as i32), true));
        }
        if let Some(minor) = rule.minor.filter(|m| *m >= 0) {
            block.push((insn(JNE_K, 5, 0, 0, minor as i32), true));
        }
        block.push((insn(MOV64_K, 0, 0, 0, i32::from(rule.allow)), false));
        block.push((insn(EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        let unconditional = !block.iter().any(|(_, jumps_out)| *jumps_out);
        for (i, (mut ins, jumps_out)) in block.into_iter().enumerate() {
            if jumps_out {
                ins.off = (len - 1 - i) as i16;
            }
            prog.push(ins);
        }
        // A rule that matches everything decides for all that follows; the verifier
        // rejects unreachable instructions, so stop here.
        if unconditional {
            return prog;
        }
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 1));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

fn bpf(cmd: libc::c_long, attr: &mut [u8; 128]) -> std::result::Result<i64, Errno> {
    // SAFETY: attr is a zero-padded bpf_attr large enough for the commands used here.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if r < 0 { Err(Errno::last()) } else { Ok(r) }
}

fn put_u32(attr: &mut [u8; 128], at: usize, v: u32) {
    attr[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(attr: &mut [u8; 128], at: usize, v: u64) {
    attr[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = b"Apache\0";
    let mut log = vec![0u8; 65536];
    let mut attr = [0u8; 128];
    put_u32(&mut attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE);
    put_u32(&mut attr, 4, prog.len() as u32);
    put_u64(&mut attr, 8, prog.as_ptr() as u64);
    put_u64(&mut attr, 16, license.as_ptr() as u64);
    put_u32(&mut attr, 24, 1);
    put_u32(&mut attr, 28, log.len() as u32);
    put_u64(&mut attr, 32, log.as_mut_ptr() as u64);
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: the kernel returned a new file descriptor we now own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let verifier = String::from_utf8_lossy(&log[..end]);
            Err(Error::sys(
                format!(
                    "loading the device-rules eBPF program ({})",
                    verifier.trim()
                ),
                e,
            ))
        }
    }
}

/// Program IDs already attached to the cgroup for device checks.
fn attached(cgroup: &OwnedFd) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = [0u8; 128];
    put_u32(&mut attr, 0, cgroup.as_raw_fd() as u32);
    put_u32(&mut attr, 4, BPF_CGROUP_DEVICE);
    put_u64(&mut attr, 16, ids.as_mut_ptr() as u64);
    put_u32(&mut attr, 24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut attr).map_err(|e| Error::sys("querying attached eBPF programs", e))?;
    let count = u32::from_ne_bytes(attr[24..28].try_into().unwrap()) as usize;
    ids.truncate(count.min(64));
    Ok(ids)
}

/// Replaces the device program of the cgroup at `dir` with one built from `rules`.
pub fn attach(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let cgroup = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("opening cgroup {}", dir.display()), e))?;
    let old = attached(&cgroup)?;
    let prog = load(&compile(rules))?;
    let mut attr = [0u8; 128];
    put_u32(&mut attr, 0, cgroup.as_raw_fd() as u32);
    put_u32(&mut attr, 4, prog.as_raw_fd() as u32);
    put_u32(&mut attr, 8, BPF_CGROUP_DEVICE);
    put_u32(&mut attr, 12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        Error::sys(
            format!("attaching the device program to {}", dir.display()),
            e,
        )
    })?;
    // The new program is in force; now drop the ones it replaces.
    for id in old {
        let mut attr = [0u8; 128];
        put_u32(&mut attr, 0, id);
        let Ok(fd) = bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) else {
            continue;
        };
        // SAFETY: fresh descriptor from the kernel.
        let old_prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut attr = [0u8; 128];
        put_u32(&mut attr, 0, cgroup.as_raw_fd() as u32);
        put_u32(&mut attr, 4, old_prog.as_raw_fd() as u32);
        put_u32(&mut attr, 8, BPF_CGROUP_DEVICE);
        bpf(BPF_PROG_DETACH, &mut attr)
            .map_err(|e| Error::sys("detaching the previous device program", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for the instructions `compile` emits, to check the verdicts
    /// without loading anything into the kernel.
    fn run(prog: &[Insn], typ: i32, access: i32, major: i32, minor: i32) -> i64 {
        let mut r = [0i64; 11];
        let ctx = [((access << 16) | typ) as u32, major as u32, minor as u32];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = i64::from(ctx[(i.off / 4) as usize]),
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = i64::from(i.imm),
                AND64_K => r[dst] &= i64::from(i.imm),
                RSH64_K => r[dst] >>= i.imm,
                JNE_K => {
                    if r[dst] != i64::from(i.imm) {
                        pc = (pc as i64 + i64::from(i.off)) as usize;
                    }
                }
                JEQ_K => {
                    if r[dst] == i64::from(i.imm) {
                        pc = (pc as i64 + i64::from(i.off)) as usize;
                    }
                }
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn rule(
        allow: bool,
        typ: &str,
        major: Option<i64>,
        minor: Option<i64>,
        acc: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            typ: Some(typ.into()),
            major,
            minor,
            access: Some(acc.into()),
        }
    }

    #[test]
    fn whitelist_semantics() {
        let rules = vec![
            rule(false, "a", None, None, "rwm"),
            rule(true, "c", Some(1), Some(3), "rwm"),
            rule(true, "c", None, None, "m"),
            rule(true, "c", Some(136), None, "rw"),
        ];
        let p = compile(&rules);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1, "null rw");
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 5), 0, "zero not allowed");
        assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 1, 5), 1, "mknod any char");
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 0, "mknod block denied");
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 136, 4), 1, "pts read");
        assert_eq!(
            run(&p, DEV_CHAR, ACC_READ | ACC_MKNOD, 136, 4),
            0,
            "pts mknod not granted"
        );
    }

    #[test]
    fn blacklist_and_empty() {
        let p = compile(&[]);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
        let p = compile(&[rule(false, "c", Some(1), Some(3), "w")]);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 1, 5), 1);
    }
}
