//! Build facts `/version` reports where dockerd reports its Go toolchain, git commit
//! and build time: the rustc that built us, the workspace's commit, and when.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // "rustc 1.92.0 (ded5c06cf 2025-12-08)" → "rustc 1.92.0"
    let rustc_version = output(&rustc, &["--version"])
        .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into());
    let commit = output("git", &["rev-parse", "--short=7", "HEAD"]).unwrap_or_else(|| "n/a".into());
    // Reproducible builds pin the time; otherwise it is when this script last ran.
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=MYENGINE_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=MYENGINE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=MYENGINE_BUILD_UNIX={secs}");
    // Rerun when the commit moves, not on every source edit.
    for path in ["../.git/HEAD", "../.git/refs/heads", "../.git/packed-refs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}
