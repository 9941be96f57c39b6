//! Restart policies, with Docker's semantics: `no`, `always`, `unless-stopped` and
//! `on-failure[:N]`. After an exit the policy decides; a restart waits a back-off that
//! starts at 100 ms and doubles up to a minute, and falls back to 100 ms after a run of
//! ten seconds or more. A user's stop or kill cancels the coming restart; `always` still
//! brings such a container back when the engine starts, `unless-stopped` does not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use engine_api::containers::RestartPolicy;
use tokio_util::sync::CancellationToken;

use super::{Container, Daemon};
use crate::error::{Error, Result};
use crate::store::Status;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
const STEADY_RUN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    No,
    Always,
    UnlessStopped,
    /// At most this many restarts; 0 is no limit.
    OnFailure(i64),
}

impl Policy {
    /// Validates a policy as dockerd does (its messages); an empty name is `no`.
    pub fn parse(p: &RestartPolicy) -> Result<Policy> {
        let bad = |m: &str| Error::BadParameter(format!("invalid restart policy: {m}"));
        let policy = match p.name.as_str() {
            "" | "no" => Policy::No,
            "always" => Policy::Always,
            "unless-stopped" => Policy::UnlessStopped,
            "on-failure" if p.maximum_retry_count < 0 => {
                return Err(bad("maximum retry count cannot be negative"));
            }
            "on-failure" => Policy::OnFailure(p.maximum_retry_count),
            other => {
                return Err(bad(&format!(
                    "unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
                )));
            }
        };
        // Docker before 25 sent a count with an empty name; only that is let through.
        if p.maximum_retry_count != 0
            && matches!(p.name.as_str(), "no" | "always" | "unless-stopped")
        {
            return Err(bad(
                "maximum retry count can only be used with 'on-failure'",
            ));
        }
        Ok(policy)
    }

    /// Whether a container that exited with `exit_code` after `restarts` restarts is
    /// started again; `manually_stopped`: a user stopped or killed it.
    pub fn should_restart(self, exit_code: i64, manually_stopped: bool, restarts: i64) -> bool {
        match self {
            Policy::No => false,
            Policy::Always => true,
            Policy::UnlessStopped => !manually_stopped,
            Policy::OnFailure(max) => exit_code != 0 && (max == 0 || restarts < max),
        }
    }
}

/// The in-memory part of a container's restart manager.
#[derive(Default)]
pub struct RestartState {
    /// The last back-off; zero before the first restart.
    delay: Mutex<Duration>,
    /// The pending restart, cancelled by a stop, kill, removal or start.
    pending: Mutex<Option<CancellationToken>>,
    /// A user's stop or kill is under way: the exit it causes is not restarted.
    canceled: AtomicBool,
}

impl RestartState {
    /// The back-off before the next restart, after a run of `ran`.
    fn next_delay(&self, ran: Duration) -> Duration {
        let mut d = self.delay.lock().unwrap_or_else(|e| e.into_inner());
        *d = if ran >= STEADY_RUN || d.is_zero() {
            FIRST_DELAY
        } else {
            (*d * 2).min(MAX_DELAY)
        };
        *d
    }

    /// A new pending restart (replacing and cancelling an older one).
    fn make_pending(&self) -> CancellationToken {
        let token = CancellationToken::new();
        if let Some(old) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(token.clone())
        {
            old.cancel();
        }
        token
    }

    /// Marks a user's stop or kill: the coming exit is final. Cancels a pending restart
    /// and says whether there was one.
    pub fn cancel(&self) -> bool {
        self.canceled.store(true, Ordering::SeqCst);
        self.cancel_pending()
    }

    fn cancel_pending(&self) -> bool {
        match self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// A user's start: policies apply again, with a fresh back-off.
    fn reset(&self) {
        self.cancel_pending();
        self.canceled.store(false, Ordering::SeqCst);
        *self.delay.lock().unwrap_or_else(|e| e.into_inner()) = Duration::ZERO;
    }
}

fn run_time(started_at: &str, finished_at: &str) -> Duration {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc));
    match (parse(started_at), parse(finished_at)) {
        (Ok(s), Ok(f)) => (f - s).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

impl Daemon {
    /// A user's start (the API, not a policy): forgets an earlier stop by hand.
    pub(crate) fn restart_policy_reset(&self, c: &Container) {
        c.restart.reset();
        let r = c.record();
        if r.manually_stopped || r.state.restarting || r.restart_count != 0 {
            let r = c.update(|r| {
                r.manually_stopped = false;
                r.state.restarting = false;
                r.restart_count = 0;
            });
            if let Err(e) = self.store.put(&r) {
                tracing::warn!(container_id = %c.id, "{e}");
            }
        }
    }

    /// A user stops or kills `c`: no restart for the exit that follows, and
    /// `unless-stopped` remembers it. Returns whether a pending restart was cancelled
    /// (the container counted as restarting).
    pub(crate) fn restart_policy_cancel(&self, c: &Container) -> bool {
        let was_pending = c.restart.cancel();
        let r = c.update(|r| {
            r.manually_stopped = true;
            r.state.restarting = false;
        });
        if let Err(e) = self.store.put(&r) {
            tracing::warn!(container_id = %c.id, "{e}");
        }
        was_pending
    }

    /// Called with the op lock held, right after an exit was recorded: whether the
    /// policy restarts it. If so the record says `restarting` from now on and the
    /// restart is pending already (a stop from now on finds and cancels it); the token
    /// goes to [`Daemon::schedule_restart`].
    pub(crate) fn restart_wanted(&self, c: &Container) -> Option<CancellationToken> {
        let r = c.record();
        if r.host_config.auto_remove || c.restart.canceled.load(Ordering::SeqCst) {
            return None;
        }
        let policy = Policy::parse(&r.host_config.restart_policy).unwrap_or(Policy::No);
        if !policy.should_restart(r.state.exit_code, r.manually_stopped, r.restart_count) {
            return None;
        }
        let r = c.update(|r| r.state.restarting = true);
        if let Err(e) = self.store.put(&r) {
            tracing::warn!(container_id = %c.id, "{e}");
        }
        Some(c.restart.make_pending())
    }

    /// Starts `c` again after its back-off, unless a stop, kill, removal or start comes
    /// first.
    pub(crate) fn schedule_restart(
        self: &Arc<Self>,
        c: &Arc<Container>,
        delay: Option<Duration>,
        token: CancellationToken,
    ) {
        let r = c.record();
        let delay = delay.unwrap_or_else(|| {
            c.restart
                .next_delay(run_time(&r.state.started_at, &r.state.finished_at))
        });
        tracing::info!(container_id = %c.id, ?delay, restarts = r.restart_count, "restarting by policy");
        let this = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let result = {
                let _op = c.op.lock().await;
                // Checked under the op lock: a stop or removal that cancelled us has
                // either finished (we stop here) or waits for this start to end.
                if token.is_cancelled() || c.is_running() || c.is_removing() {
                    return;
                }
                let r = c.update(|r| r.restart_count += 1);
                if let Err(e) = this.store.put(&r) {
                    tracing::warn!(container_id = %c.id, "{e}");
                }
                let result = this.start_holding_op(&c).await;
                // Pending until here, so the engine's start-up pass does not schedule
                // a second restart of a container this one is starting.
                c.restart
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if result.is_err() {
                    let r = c.update(|r| r.state.restarting = false);
                    let _ = this.store.put(&r);
                }
                result
            };
            // The start published its event; as Docker, a restart that fails to start
            // ends the policy's attempts.
            if let Err(e) = result {
                tracing::warn!(container_id = %c.id, "restart by policy: {e}");
            }
        });
    }

    /// Once, when the engine starts and has reconciled with containerd: containers that
    /// stopped while it was away, or before, come back as their policies say (`always`
    /// even after a stop by hand, as Docker's).
    pub(crate) fn restart_on_boot(self: &Arc<Self>) {
        for c in self.all_containers() {
            let r = c.record();
            if c.restart
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
                || r.state.status != Status::Exited
                || r.host_config.auto_remove
            {
                continue;
            }
            let policy = Policy::parse(&r.host_config.restart_policy).unwrap_or(Policy::No);
            let manually = r.manually_stopped && policy != Policy::Always;
            if r.state.started_at.is_empty()
                || !policy.should_restart(r.state.exit_code, manually, r.restart_count)
            {
                if r.state.restarting {
                    let r = c.update(|r| r.state.restarting = false);
                    let _ = self.store.put(&r);
                }
                continue;
            }
            let r = c.update(|r| {
                r.state.restarting = true;
                r.manually_stopped = false;
            });
            if let Err(e) = self.store.put(&r) {
                tracing::warn!(container_id = %c.id, "{e}");
            }
            let token = c.restart.make_pending();
            self.schedule_restart(&c, Some(Duration::ZERO), token);
        }
    }

    /// `POST /containers/{id}/update` with a restart policy.
    pub fn update_restart_policy(&self, c: &Container, policy: RestartPolicy) -> Result<()> {
        let parsed = Policy::parse(&policy)?;
        let r = c.record();
        if r.host_config.auto_remove && parsed != Policy::No {
            return Err(Error::BadParameter(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            ));
        }
        let r = c.update(|r| r.host_config.restart_policy = policy);
        self.store.put(&r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, n: i64) -> Result<Policy> {
        Policy::parse(&RestartPolicy {
            name: name.into(),
            maximum_retry_count: n,
        })
    }

    #[test]
    fn parses_as_dockerd() {
        assert_eq!(policy("", 0).unwrap(), Policy::No);
        assert_eq!(policy("", 3).unwrap(), Policy::No);
        assert_eq!(policy("always", 0).unwrap(), Policy::Always);
        assert_eq!(policy("on-failure", 2).unwrap(), Policy::OnFailure(2));
        let e = policy("always", 2).unwrap_err().to_string();
        assert!(e.contains("only be used with 'on-failure'"), "{e}");
        let e = policy("on-failure", -1).unwrap_err().to_string();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = policy("sometimes", 0).unwrap_err().to_string();
        assert!(e.contains("unknown policy 'sometimes'"), "{e}");
    }

    #[test]
    fn decisions() {
        assert!(!Policy::No.should_restart(1, false, 0));
        assert!(Policy::Always.should_restart(0, true, 9));
        assert!(Policy::UnlessStopped.should_restart(0, false, 0));
        assert!(!Policy::UnlessStopped.should_restart(1, true, 0));
        assert!(!Policy::OnFailure(2).should_restart(0, false, 0));
        assert!(Policy::OnFailure(2).should_restart(3, false, 1));
        assert!(!Policy::OnFailure(2).should_restart(3, false, 2));
        assert!(Policy::OnFailure(0).should_restart(3, false, 100));
    }

    #[test]
    fn back_off_doubles_to_a_minute_and_resets_after_a_steady_run() {
        let s = RestartState::default();
        let quick = Duration::from_millis(5);
        assert_eq!(s.next_delay(quick), FIRST_DELAY);
        assert_eq!(s.next_delay(quick), FIRST_DELAY * 2);
        assert_eq!(s.next_delay(quick), FIRST_DELAY * 4);
        for _ in 0..20 {
            s.next_delay(quick);
        }
        assert_eq!(s.next_delay(quick), MAX_DELAY);
        assert_eq!(s.next_delay(STEADY_RUN), FIRST_DELAY);
        s.reset();
        assert_eq!(s.next_delay(quick), FIRST_DELAY);
    }

    #[test]
    fn run_times() {
        assert_eq!(
            run_time("2024-01-01T00:00:00Z", "2024-01-01T00:00:12.5Z"),
            Duration::from_millis(12_500)
        );
        assert_eq!(run_time("", "2024-01-01T00:00:00Z"), Duration::ZERO);
    }
}
