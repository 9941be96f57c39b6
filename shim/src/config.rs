//! The shim's command line, in containerd's shim style (Go `flag` syntax):
//! `mycontainerd-shim -namespace NS -address SOCK -id ID [-socket-dir D] [-runtime-root R]
//! [-bundle B] [-debug] start|delete|serve`.

use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Bind the socket, start the long-running shim, print its address, exit.
    Start,
    /// Clean up after a dead shim from its bundle; print a DeleteResponse.
    Delete,
    /// The long-running shim (started by `start`; the listener is fd 3).
    Serve,
}

#[derive(Debug, Clone)]
pub struct Args {
    pub namespace: String,
    /// mycontainerd's socket, for events.
    pub address: PathBuf,
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub socket_dir: PathBuf,
    pub runtime_root: PathBuf,
    pub debug: bool,
    pub action: Action,
}

pub const DEFAULT_SOCKET_DIR: &str = "/run/mycontainerd/s";
pub const DEFAULT_RUNTIME_ROOT: &str = "/run/mycontainerd/runc";

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args> {
    let mut it = args.into_iter().peekable();
    let mut namespace = None;
    let mut address = None;
    let mut id = None;
    let mut bundle = None;
    let mut socket_dir = PathBuf::from(DEFAULT_SOCKET_DIR);
    let mut runtime_root = PathBuf::from(DEFAULT_RUNTIME_ROOT);
    let mut debug = false;
    let mut action = None;
    while let Some(arg) = it.next() {
        if !arg.starts_with('-') {
            action = Some(match arg.as_str() {
                "start" => Action::Start,
                "delete" => Action::Delete,
                "serve" => Action::Serve,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown action {other:?} (start, delete)"
                    )));
                }
            });
            continue;
        }
        let flag = arg.trim_start_matches('-');
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if name == "debug" {
            debug = inline.map(|v| v != "false").unwrap_or(true);
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .ok_or_else(|| Error::InvalidArgument(format!("flag -{name} needs a value")))?,
        };
        match name {
            "namespace" => namespace = Some(value),
            "address" => address = Some(PathBuf::from(value.trim_start_matches("unix://"))),
            "id" => id = Some(value),
            "bundle" => bundle = Some(PathBuf::from(value)),
            "socket-dir" => socket_dir = PathBuf::from(value),
            "runtime-root" => runtime_root = PathBuf::from(value),
            // containerd passes these to every shim; ours has no use for them.
            "publish-binary" | "ttrpc-address" => {}
            other => return Err(Error::InvalidArgument(format!("unknown flag -{other}"))),
        }
    }
    let need = |v: Option<String>, n: &str| {
        v.ok_or_else(|| Error::InvalidArgument(format!("-{n} is required")))
    };
    Ok(Args {
        namespace: need(namespace, "namespace")?,
        address: address.ok_or_else(|| Error::InvalidArgument("-address is required".into()))?,
        id: need(id, "id")?,
        bundle,
        socket_dir,
        runtime_root,
        debug,
        action: action
            .ok_or_else(|| Error::InvalidArgument("no action given (start or delete)".into()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn containerd_style_flags() {
        let a = p("-namespace default -address /run/c.sock -publish-binary /usr/bin/x -id c1 -socket-dir=/s start").unwrap();
        assert_eq!(a.namespace, "default");
        assert_eq!(a.address, PathBuf::from("/run/c.sock"));
        assert_eq!(a.socket_dir, PathBuf::from("/s"));
        assert_eq!(a.action, Action::Start);
        assert!(
            p("-namespace x -address /a -id c1 -debug delete")
                .unwrap()
                .debug
        );
        assert!(p("-namespace x -address /a start").is_err());
        assert!(p("-namespace x -address /a -id c start -bogus 1").is_err());
    }
}
