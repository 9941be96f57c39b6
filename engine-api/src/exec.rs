//! Exec instances: `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

use crate::de;

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u64; 2]>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detach_keys: String,
    pub tty: bool,
    #[serde(deserialize_with = "de::null_default")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "de::strslice")]
    pub cmd: Option<Vec<String>>,
    pub privileged: bool,
    pub user: String,
    pub working_dir: String,
}

/// The body of `POST /exec/{id}/start`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecStartConfig {
    pub detach: bool,
    pub tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u64; 2]>,
}

/// `ProcessConfig` in exec inspect; its fields are lower case in the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessConfig {
    pub privileged: bool,
    pub user: String,
    pub tty: bool,
    pub entrypoint: String,
    #[serde(deserialize_with = "de::null_default")]
    pub arguments: Vec<String>,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    /// `null` until the process has exited.
    pub exit_code: Option<i64>,
    pub process_config: ProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub detach_keys: String,
    pub pid: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_inspect_spelling() {
        let v = serde_json::to_value(ExecInspect {
            id: "e1".into(),
            exit_code: Some(3),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v["ID"], "e1");
        assert_eq!(v["ExitCode"], 3);
        assert_eq!(v["ContainerID"], "");
        assert!(v["ProcessConfig"]["arguments"].is_array());
    }

    #[test]
    fn exec_config_from_the_cli() {
        let c: ExecConfig = serde_json::from_str(
            r#"{"User":"","Privileged":false,"Tty":true,"ConsoleSize":[24,80],
            "AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"Detach":false,
            "DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh"]}"#,
        )
        .unwrap();
        assert!(c.tty && c.attach_stdin);
        assert_eq!(c.console_size, Some([24, 80]));
        assert_eq!(c.cmd, Some(vec!["sh".to_owned()]));
    }
}
