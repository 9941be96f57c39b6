//! OCI hooks (runtime-spec: config.md#posix-platform-hooks): run with the container state
//! on stdin, the hook's own args and env, and an optional timeout.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::spec::Hook;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Prestart => "prestart",
            Self::CreateRuntime => "createRuntime",
            Self::CreateContainer => "createContainer",
            Self::StartContainer => "startContainer",
            Self::Poststart => "poststart",
            Self::Poststop => "poststop",
        }
    }
}

/// The state document a hook reads on stdin (runtime-spec: runtime.md#state).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: &'a std::collections::BTreeMap<String, String>,
}

/// Runs every hook of one kind in order; the first failure stops the rest.
pub fn run_all(kind: HookKind, hooks: &[Hook], state: &HookState) -> Result<()> {
    let input = serde_json::to_vec(state).expect("state serializes");
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, &input).map_err(|reason| Error::Hook {
            kind: kind.name(),
            index,
            path: hook.path.clone(),
            reason,
        })?;
    }
    Ok(())
}

/// Runs hooks whose failure is only worth a warning (poststart, poststop).
pub fn run_all_warn(kind: HookKind, hooks: &[Hook], state: &HookState) {
    if let Err(e) = run_all(kind, hooks, state) {
        tracing::warn!("{e}");
    }
}

fn run_one(hook: &Hook, input: &[u8]) -> std::result::Result<(), String> {
    let mut cmd = Command::new(&hook.path);
    if let Some(argv0) = hook.args.first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
        cmd.args(&hook.args[1..]);
    }
    cmd.env_clear();
    for kv in &hook.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may ignore its stdin and exit; a broken pipe is not a failure.
        let _ = stdin.write_all(input);
    }
    let deadline = hook
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting: {e}")),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", hook.timeout.unwrap_or(0)));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let output = format!("{}{}", stdout.trim(), stderr.trim());
    Err(format!(
        "{}{}",
        out.status,
        if output.is_empty() {
            String::new()
        } else {
            format!(", output: {output}")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["HOOKVAR=42".into()],
            timeout,
        }
    }

    fn state<'a>(ann: &'a std::collections::BTreeMap<String, String>) -> HookState<'a> {
        HookState {
            oci_version: "1.2.0",
            id: "c1",
            status: "creating",
            pid: 7,
            bundle: Path::new("/b"),
            annotations: ann,
        }
    }

    #[test]
    fn hook_gets_state_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!("cat > {0}; echo \" $HOOKVAR\" >> {0}", out.display());
        let ann = Default::default();
        run_all(HookKind::Prestart, &[hook(&script, None)], &state(&ann)).unwrap();
        let got = std::fs::read_to_string(out).unwrap();
        assert!(
            got.contains(r#""id":"c1""#) && got.contains(r#""pid":7"#),
            "{got}"
        );
        assert!(got.contains(" 42"), "{got}");
    }

    #[test]
    fn failure_and_timeout_are_reported() {
        let ann = Default::default();
        let err = run_all(
            HookKind::CreateRuntime,
            &[hook("echo bad >&2; exit 3", None)],
            &state(&ann),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("createRuntime[0]") && msg.contains("bad"),
            "{msg}"
        );
        let start = Instant::now();
        let err = run_all(
            HookKind::Poststart,
            &[hook("sleep 5", Some(1))],
            &state(&ann),
        )
        .unwrap_err();
        assert!(err.to_string().contains("timed out"));
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}
