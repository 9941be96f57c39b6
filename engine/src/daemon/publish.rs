//! What the daemon publishes on the event bus ([`crate::events`]): the attributes Docker
//! gives each event type, shared by the modules that emit them.

use std::collections::BTreeMap;

use super::Daemon;
use crate::network::NetworkRecord;

/// Docker's action for an exec event: `exec_start: ls -l`, the entrypoint then its
/// arguments after one space (so a bare command keeps a trailing space, as Docker's).
pub fn exec_action(action: &str, cmd: &[String]) -> String {
    let entrypoint = cmd.first().map(String::as_str).unwrap_or("");
    let args = cmd.get(1..).unwrap_or_default().join(" ");
    format!("{action}: {entrypoint} {args}")
}

/// Docker's `execDuration` of a `die`: whole seconds since the run started.
pub fn exec_duration(started_at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(started_at)
        .map(|t| {
            (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_seconds()
                .max(0)
        })
        .unwrap_or(0)
        .to_string()
}

/// Publishing helpers for the event types whose attributes the daemon's modules share.
impl Daemon {
    /// A network event, as Docker's `LogNetworkEventWithAttributes`: the network's ID,
    /// its `name` and `type` (driver), and for connect/disconnect the `container`.
    pub fn network_event(&self, n: &NetworkRecord, action: &str, container: Option<&str>) {
        let mut attrs = BTreeMap::from([
            ("name".to_string(), n.name.clone()),
            ("type".to_string(), n.driver.clone()),
        ]);
        if let Some(c) = container {
            attrs.insert("container".into(), c.to_owned());
        }
        self.events.publish("network", action, &n.id, attrs);
    }

    /// Connect or disconnect events for every network of a container's endpoints
    /// (network IDs as recorded), as Docker's at start and at exit.
    pub fn network_endpoints_event(
        &self,
        container: &str,
        network_ids: impl IntoIterator<Item = String>,
        action: &str,
    ) {
        for id in network_ids {
            if let Ok(n) = self.network.find(&id) {
                self.network_event(&n, action, Some(container));
            }
        }
    }

    /// A volume event: the volume's name as ID, `driver` always `local` here, and the
    /// extra attributes (`container`, `destination`, ...).
    pub fn volume_event(&self, name: &str, action: &str, extra: &[(&str, String)]) {
        let mut attrs = BTreeMap::from([("driver".to_string(), "local".to_string())]);
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.events.publish("volume", action, name, attrs);
    }

    /// `mount` (with `destination`, `read/write`) or `unmount` for each volume of a
    /// container, as Docker's at start and at exit.
    pub fn volume_mounts_event(
        &self,
        container: &str,
        vols: &[crate::daemon::volumes::VolumeMount],
        action: &str,
    ) {
        for v in vols {
            let mut extra = vec![("container", container.to_owned())];
            if action == "mount" {
                extra.push(("destination", v.destination.clone()));
                extra.push(("read/write", (!v.read_only).to_string()));
                extra.push(("propagation", String::new()));
            }
            self.volume_event(&v.name, action, &extra);
        }
    }

    /// An image event, as Docker's `LogImageEvent`: `id` and the `name` attribute.
    pub fn image_event(&self, id: &str, name: &str, action: &str) {
        let attrs = BTreeMap::from([("name".to_string(), name.to_owned())]);
        self.events.publish("image", action, id, attrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_actions_keep_dockers_spacing() {
        let cmd = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            exec_action("exec_start", &cmd(&["ls", "-l"])),
            "exec_start: ls -l"
        );
        assert_eq!(
            exec_action("exec_create", &cmd(&["true"])),
            "exec_create: true "
        );
    }
}
