//! What an image's config says about the process of a container (image-spec
//! `config.md#properties`): entrypoint, command, environment, working directory, user,
//! stop signal and labels.

use std::collections::BTreeMap;

use oci_spec::image::ImageConfiguration;

/// containerd's `defaultUnixEnv`: the environment of an image whose config has none.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=VALUE` entries; never empty (PATH by default, as containerd does).
    pub env: Vec<String>,
    /// Empty: `/`.
    pub working_dir: String,
    /// `user`, `uid`, `user:group`, `uid:gid` (empty: root).
    pub user: String,
    pub stop_signal: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl RuntimeConfig {
    pub fn from_image(config: &ImageConfiguration) -> RuntimeConfig {
        let Some(c) = config.config() else {
            return RuntimeConfig {
                env: vec![DEFAULT_PATH_ENV.to_owned()],
                ..RuntimeConfig::default()
            };
        };
        let env = c.env().clone().unwrap_or_default();
        RuntimeConfig {
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            env: if env.is_empty() {
                vec![DEFAULT_PATH_ENV.to_owned()]
            } else {
                env
            },
            working_dir: c.working_dir().clone().unwrap_or_default(),
            user: c.user().clone().unwrap_or_default(),
            stop_signal: c.stop_signal().clone().filter(|s| !s.is_empty()),
            labels: c.labels().clone().unwrap_or_default().into_iter().collect(),
        }
    }

    /// The process arguments, with Docker's rules for what a user gives: an entrypoint
    /// replaces the image's and drops its command; a command replaces the image's
    /// command and keeps its entrypoint.
    pub fn args(&self, entrypoint: Option<&[String]>, cmd: Option<&[String]>) -> Vec<String> {
        let (entrypoint, image_cmd): (&[String], &[String]) = match entrypoint {
            Some(e) => (e, &[]),
            None => (&self.entrypoint, &self.cmd),
        };
        let cmd = cmd.filter(|c| !c.is_empty()).unwrap_or(image_cmd);
        entrypoint.iter().chain(cmd).cloned().collect()
    }

    /// The working directory a process starts in.
    pub fn cwd(&self) -> &str {
        if self.working_dir.is_empty() {
            "/"
        } else {
            &self.working_dir
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> RuntimeConfig {
        let body = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}}{json}}}"#
        );
        RuntimeConfig::from_image(&serde_json::from_str(&body).unwrap())
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_and_defaults() {
        let c = config("");
        assert_eq!(c.env, [DEFAULT_PATH_ENV]);
        assert_eq!(c.cwd(), "/");
        let c = config(
            r#","config":{"Env":["A=1"],"Entrypoint":["/e"],"Cmd":["c"],"WorkingDir":"/w","User":"nobody:nogroup","StopSignal":"SIGQUIT","Labels":{"k":"v"}}"#,
        );
        assert_eq!(c.env, ["A=1"]);
        assert_eq!(c.entrypoint, ["/e"]);
        assert_eq!(c.cmd, ["c"]);
        assert_eq!(c.cwd(), "/w");
        assert_eq!(c.user, "nobody:nogroup");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(c.labels["k"], "v");
    }

    #[test]
    fn docker_args_semantics() {
        let c = config(r#","config":{"Entrypoint":["/bin/e","-x"],"Cmd":["default"]}"#);
        assert_eq!(c.args(None, None), v(&["/bin/e", "-x", "default"]));
        assert_eq!(
            c.args(None, Some(&v(&["mine"]))),
            v(&["/bin/e", "-x", "mine"])
        );
        assert_eq!(c.args(Some(&v(&["/other"])), None), v(&["/other"]));
        assert_eq!(c.args(Some(&v(&["/o"])), Some(&v(&["a"]))), v(&["/o", "a"]));
        let c = config(r#","config":{"Cmd":["sh"]}"#);
        assert_eq!(c.args(None, None), v(&["sh"]));
        assert_eq!(c.args(None, Some(&v(&["echo", "hi"]))), v(&["echo", "hi"]));
    }
}
