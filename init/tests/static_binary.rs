//! The release myinit must be statically linked: it is bind-mounted into images that
//! may have no libc at all.
//!
//! Ignored by default because it checks an artifact that `cargo test` does not build:
//! the static binary from `make build`, i.e.
//! `cargo rustc --release -p myinit --bin myinit -- -C target-feature=+crt-static`.
//! Run it after that build with `cargo test -p myinit --test static_binary -- --ignored`.
//! It fails (never skips) when the binary is missing.

use std::path::PathBuf;
use std::process::Command;

/// target/release/myinit beside the target/debug/ that Cargo built this test into,
/// so that a custom CARGO_TARGET_DIR works; MYINIT_STATIC overrides it.
fn release_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MYINIT_STATIC") {
        return PathBuf::from(path);
    }
    let debug_binary = PathBuf::from(env!("CARGO_BIN_EXE_myinit"));
    let target_dir = debug_binary
        .parent()
        .and_then(|profile| profile.parent())
        .expect("binary inside target/<profile>/");
    target_dir.join("release").join("myinit")
}

#[test]
#[ignore = "needs the static release build from `make build`"]
fn static_release_binary_is_statically_linked() {
    let binary = release_binary();
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo rustc --release -p myinit --bin myinit -- -C target-feature=+crt-static`",
        binary.display()
    );

    let output = Command::new("file")
        .arg("--brief")
        .arg(&binary)
        .output()
        .expect("run `file` (Debian package `file`)");
    let description = String::from_utf8_lossy(&output.stdout);
    // `+crt-static` on the gnu target makes a static PIE, which file(1) calls
    // "static-pie linked"; tini-static, not PIE, is "statically linked".
    assert!(
        description.contains("statically linked") || description.contains("static-pie linked"),
        "{}: {description}",
        binary.display()
    );
    assert!(!description.contains("interpreter"), "{description}");
}

#[test]
#[ignore = "needs the static release build from `make build`"]
fn static_release_binary_runs_in_an_empty_root() {
    // The real requirement behind "statically linked": it runs where there is no
    // libc and no dynamic loader. A chroot holding nothing but the binary proves it.
    let binary = release_binary();
    assert!(binary.exists(), "{} is missing", binary.display());
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&binary, root.path().join("myinit")).expect("copy binary");

    let output = Command::new("chroot")
        .arg(root.path())
        .args(["/myinit", "--version"])
        .output()
        .expect("run chroot (needs root)");
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("myinit version "),
        "{output:?}"
    );

    // And it still reports a missing program from inside that root.
    let output = Command::new("chroot")
        .arg(root.path())
        .args(["/myinit", "-s", "--", "/no/such/program"])
        .output()
        .expect("run chroot");
    assert_eq!(output.status.code(), Some(127), "{output:?}");
}
