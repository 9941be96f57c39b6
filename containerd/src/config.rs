//! Flags and the TOML config file, merged once: flags win over the file, the file over
//! the defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

pub const DEFAULT_ADDRESS: &str = "/run/containerd/containerd.sock";
pub const DEFAULT_ROOT: &str = "/var/lib/mycontainerd";
pub const DEFAULT_STATE: &str = "/run/mycontainerd";

/// What the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub address: PathBuf,
    pub root: PathBuf,
    pub state: PathBuf,
    pub log_level: String,
    /// The shim binary (default: `mycontainerd-shim` beside our own binary, else PATH).
    pub shim: PathBuf,
    /// Group owning the socket (root's by default).
    pub socket_gid: Option<u32>,
}

/// The config file's keys (containerd's `[grpc] address` and `[debug] level` are
/// understood too).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub version: Option<i64>,
    pub address: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub log_level: Option<String>,
    pub shim: Option<PathBuf>,
    pub grpc: Option<GrpcSection>,
    pub debug: Option<DebugSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSection {
    pub address: Option<PathBuf>,
    pub gid: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugSection {
    pub level: Option<String>,
}

/// Values given on the command line (None when not given).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub address: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub log_level: Option<String>,
    pub config: Option<PathBuf>,
    pub shim: Option<PathBuf>,
}

pub fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading config", path, e))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start].lines().count().max(1))
            .unwrap_or(0);
        Error::InvalidArgument(format!(
            "config {} line {line}: {}",
            path.display(),
            e.message()
        ))
    })
}

fn default_shim() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("mycontainerd-shim")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("mycontainerd-shim"))
}

impl Config {
    pub fn resolve(flags: Flags) -> Result<Config> {
        let file = match &flags.config {
            Some(p) => load_file(p)?,
            None => FileConfig::default(),
        };
        let grpc = file.grpc.unwrap_or_default();
        let address = flags
            .address
            .or(file.address)
            .or(grpc.address)
            .unwrap_or_else(|| DEFAULT_ADDRESS.into());
        let level = flags
            .log_level
            .or(file.log_level)
            .or(file.debug.and_then(|d| d.level))
            .unwrap_or_else(|| "info".into());
        if !["trace", "debug", "info", "warn", "error"].contains(&level.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "log level {level:?}: use trace, debug, info, warn or error"
            )));
        }
        let cfg = Config {
            address,
            root: flags
                .root
                .or(file.root)
                .unwrap_or_else(|| DEFAULT_ROOT.into()),
            state: flags
                .state
                .or(file.state)
                .unwrap_or_else(|| DEFAULT_STATE.into()),
            log_level: level,
            shim: flags.shim.or(file.shim).unwrap_or_else(default_shim),
            socket_gid: grpc.gid,
        };
        for (name, p) in [
            ("address", &cfg.address),
            ("root", &cfg.root),
            ("state", &cfg.state),
        ] {
            if !p.is_absolute() {
                return Err(Error::InvalidArgument(format!(
                    "{name} {} must be an absolute path",
                    p.display()
                )));
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "version = 2\nroot = \"/r\"\n[grpc]\naddress = \"/file.sock\"\n[debug]\nlevel = \"debug\"\n").unwrap();
        let c = Config::resolve(Flags {
            config: Some(f.clone()),
            address: Some("/flag.sock".into()),
            ..Flags::default()
        })
        .unwrap();
        assert_eq!(c.address, PathBuf::from("/flag.sock"));
        assert_eq!(c.root, PathBuf::from("/r"));
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.state, PathBuf::from(DEFAULT_STATE));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "bogus_key = 1\n").unwrap();
        let e = Config::resolve(Flags {
            config: Some(f),
            ..Flags::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("bogus_key"), "{e}");
        let e = Config::resolve(Flags {
            root: Some("relative".into()),
            ..Flags::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("absolute"), "{e}");
    }
}
