//! Prometheus metrics of the control plane (text format, no global registry): cooperatives by
//! state, provisioning and reconcile durations, failures by reason class, node restarts and
//! per-cooperative up/down. Labels are bounded: states and reason classes are fixed sets, and
//! `coop` is bounded by the hosted cooperatives.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::model::Observed;

const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Why a step failed, as a bounded label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureReason {
    Provision,
    Start,
    Exited,
    Deadline,
    Stop,
    Delete,
    Hba,
    Routes,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Provision => "provision",
            FailureReason::Start => "start",
            FailureReason::Exited => "exited",
            FailureReason::Deadline => "deadline",
            FailureReason::Stop => "stop",
            FailureReason::Delete => "delete",
            FailureReason::Hba => "pg_hba",
            FailureReason::Routes => "routes",
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", self.sum, self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    provision: Histogram,
    reconcile: Histogram,
    failures: BTreeMap<FailureReason, u64>,
    restarts: u64,
    states: BTreeMap<&'static str, u64>,
    up: BTreeMap<String, bool>,
}

/// The control plane's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn provisioned(&self, took: Duration) {
        self.with(|m| m.provision.observe(took.as_secs_f64()));
    }

    pub fn reconciled(&self, took: Duration) {
        self.with(|m| m.reconcile.observe(took.as_secs_f64()));
    }

    pub fn failed(&self, reason: FailureReason) {
        self.with(|m| *m.failures.entry(reason).or_default() += 1);
    }

    pub fn restarted(&self) {
        self.with(|m| m.restarts += 1);
    }

    /// Replaces the per-state counts and per-cooperative up/down after a pass.
    pub fn snapshot(&self, states: &[(Observed, String, bool)]) {
        self.with(|m| {
            m.states = Observed::ALL.iter().map(|s| (s.as_str(), 0)).collect();
            m.up.clear();
            for (state, coop, up) in states {
                *m.states.entry(state.as_str()).or_default() += 1;
                m.up.insert(coop.clone(), *up);
            }
        });
    }

    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str("# HELP control_plane_cooperatives Cooperatives by observed state.\n# TYPE control_plane_cooperatives gauge\n");
            for (state, n) in &m.states {
                let _ = writeln!(out, "control_plane_cooperatives{{state=\"{state}\"}} {n}");
            }
            m.provision.render(&mut out, "control_plane_provision_seconds", "Time to provision a cooperative's role, database and files.");
            m.reconcile.render(&mut out, "control_plane_reconcile_seconds", "Duration of one reconcile pass over all cooperatives.");
            out.push_str("# HELP control_plane_failures_total Failed steps by reason.\n# TYPE control_plane_failures_total counter\n");
            for (reason, n) in &m.failures {
                let _ = writeln!(out, "control_plane_failures_total{{reason=\"{}\"}} {n}", reason.as_str());
            }
            let _ = writeln!(out, "# HELP control_plane_node_restarts_total Tenant nodes restarted after they exited.\n# TYPE control_plane_node_restarts_total counter\ncontrol_plane_node_restarts_total {}", m.restarts);
            out.push_str("# HELP control_plane_node_up Whether the cooperative's node answers (1) or not (0).\n# TYPE control_plane_node_up gauge\n");
            for (coop, up) in &m.up {
                let _ = writeln!(out, "control_plane_node_up{{coop=\"{coop}\"}} {}", u8::from(*up));
            }
            out
        })
    }
}
