//! Sync metrics: counters and gauges updated by the sync engine, rates over a sliding window,
//! and their Prometheus text form (labelled with the cooperative). GraphQL metrics
//! ([`ApiMetrics`]) add an `operation` label from a fixed set (the root field, never the
//! client-supplied operation name).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rates are averaged over this window.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    at: Instant,
    blocks: u64,
    actions: u64,
}

/// Shared between the sync engine (writer) and the HTTP endpoints (readers).
#[derive(Debug)]
pub struct Metrics {
    coop: String,
    started: Instant,
    head: AtomicU64,
    last_irreversible: AtomicU64,
    synced: AtomicU64,
    blocks: AtomicU64,
    actions: AtomicU64,
    rows: AtomicU64,
    forks: AtomicU64,
    reconnects: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
    /// GraphQL requests.
    pub api: ApiMetrics,
}

/// A consistent-enough copy for rendering and readiness.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub head: u64,
    pub last_irreversible: u64,
    pub synced: u64,
    pub blocks_total: u64,
    pub actions_total: u64,
    pub rows_total: u64,
    pub forks_total: u64,
    pub reconnects_total: u64,
    pub errors_total: u64,
    pub blocks_per_second: f64,
    pub actions_per_second: f64,
}

impl Snapshot {
    /// Blocks between the chain head and the last stored block.
    pub fn lag(&self) -> u64 {
        self.head.saturating_sub(self.synced)
    }
}

impl Metrics {
    pub fn new(coop: &str) -> Metrics {
        let started = Instant::now();
        Metrics {
            coop: coop.to_owned(),
            started,
            head: AtomicU64::new(0),
            last_irreversible: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            actions: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            forks: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            samples: Mutex::new(VecDeque::from([Sample {
                at: started,
                blocks: 0,
                actions: 0,
            }])),
            api: ApiMetrics::default(),
        }
    }

    /// The chain's head and LIB as last reported.
    pub fn observe_chain(&self, head: u32, last_irreversible: u32) {
        self.head.store(u64::from(head), Ordering::Relaxed);
        self.last_irreversible
            .store(u64::from(last_irreversible), Ordering::Relaxed);
    }

    /// The stored checkpoint (at start and after a resync).
    pub fn set_synced(&self, block_num: u32) {
        self.synced.store(u64::from(block_num), Ordering::Relaxed);
    }

    /// A committed batch.
    pub fn committed(&self, last_block: u32, blocks: usize, actions: usize, rows: usize) {
        self.synced.store(u64::from(last_block), Ordering::Relaxed);
        let blocks = self.blocks.fetch_add(blocks as u64, Ordering::Relaxed) + blocks as u64;
        let actions = self.actions.fetch_add(actions as u64, Ordering::Relaxed) + actions as u64;
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        let now = Instant::now();
        if let Ok(mut samples) = self.samples.lock() {
            samples.push_back(Sample {
                at: now,
                blocks,
                actions,
            });
            trim(&mut samples, now);
        }
    }

    pub fn fork(&self) {
        self.forks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let blocks_total = self.blocks.load(Ordering::Relaxed);
        let actions_total = self.actions.load(Ordering::Relaxed);
        let current = Sample {
            at: now,
            blocks: blocks_total,
            actions: actions_total,
        };
        let (blocks_per_second, actions_per_second) = match self.samples.lock() {
            Ok(samples) => rates(&samples, current, self.started),
            Err(_) => (0.0, 0.0),
        };
        Snapshot {
            head: self.head.load(Ordering::Relaxed),
            last_irreversible: self.last_irreversible.load(Ordering::Relaxed),
            synced: self.synced.load(Ordering::Relaxed),
            blocks_total,
            actions_total,
            rows_total: self.rows.load(Ordering::Relaxed),
            forks_total: self.forks.load(Ordering::Relaxed),
            reconnects_total: self.reconnects.load(Ordering::Relaxed),
            errors_total: self.errors.load(Ordering::Relaxed),
            blocks_per_second,
            actions_per_second,
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = render(&self.coop, &self.snapshot());
        self.api.render(&self.coop, &mut out);
        out
    }

    /// Registration outbox gauges: chain intents by state (`[pending, sent, confirmed,
    /// failed]`), in Prometheus text.
    pub fn render_intents(&self, counts: [i64; 4]) -> String {
        let name = "tenant_node_outbox_intents";
        let coop = escape_label(&self.coop);
        let mut out = format!(
            "# HELP {name} Chain intents of the registration outbox by state.\n# TYPE {name} gauge\n"
        );
        for (state, v) in ["pending", "sent", "confirmed", "failed"]
            .iter()
            .zip(counts)
        {
            let _ = writeln!(out, "{name}{{coop=\"{coop}\",state=\"{state}\"}} {v}");
        }
        out
    }

    /// Database pool gauges (`open`, `idle`, `max` connections), in Prometheus text.
    pub fn render_pool(&self, (open, idle, max): (usize, usize, usize)) -> String {
        let label = format!("{{coop=\"{}\"}}", escape_label(&self.coop));
        let mut out = String::new();
        for (name, help, v) in [
            (
                "tenant_node_db_connections_open",
                "Open database connections.",
                open,
            ),
            (
                "tenant_node_db_connections_idle",
                "Idle database connections.",
                idle,
            ),
            (
                "tenant_node_db_connections_max",
                "Size limit of the connection pool.",
                max,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{label} {v}"
            );
        }
        out
    }
}

/// Keeps the samples inside the window plus the last one before it (the baseline).
fn trim(samples: &mut VecDeque<Sample>, now: Instant) {
    let edge = now.checked_sub(RATE_WINDOW);
    while samples.len() > 1 && edge.is_some_and(|edge| samples[1].at <= edge) {
        samples.pop_front();
    }
}

/// Per-second rates of blocks and actions over the window ending at `current`.
fn rates(samples: &VecDeque<Sample>, current: Sample, started: Instant) -> (f64, f64) {
    let edge = current.at.checked_sub(RATE_WINDOW).unwrap_or(started);
    let edge = edge.max(started);
    // the newest sample at or before the window's start is the counters' value there
    let base = samples
        .iter()
        .rev()
        .find(|s| s.at <= edge)
        .copied()
        .unwrap_or(Sample {
            at: started,
            blocks: 0,
            actions: 0,
        });
    let span = current.at.saturating_duration_since(edge).as_secs_f64();
    if span <= 0.0 {
        return (0.0, 0.0);
    }
    (
        current.blocks.saturating_sub(base.blocks) as f64 / span,
        current.actions.saturating_sub(base.actions) as f64 / span,
    )
}

/// Renders a snapshot; `coop` is the only label.
pub fn render(coop: &str, s: &Snapshot) -> String {
    let label = format!("{{coop=\"{}\"}}", escape_label(coop));
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name}{label} {value}");
    };
    metric(
        "tenant_node_head_block",
        "gauge",
        "Chain head block number as last reported by the chain.",
        s.head.to_string(),
    );
    metric(
        "tenant_node_last_irreversible_block",
        "gauge",
        "Last irreversible block number as last reported by the chain.",
        s.last_irreversible.to_string(),
    );
    metric(
        "tenant_node_synced_block",
        "gauge",
        "Last block stored in the database (the checkpoint).",
        s.synced.to_string(),
    );
    metric(
        "tenant_node_sync_lag_blocks",
        "gauge",
        "Blocks between the chain head and the checkpoint.",
        s.lag().to_string(),
    );
    metric(
        "tenant_node_blocks_per_second",
        "gauge",
        "Blocks stored per second over the last 10 seconds.",
        format!("{:.3}", s.blocks_per_second),
    );
    metric(
        "tenant_node_actions_per_second",
        "gauge",
        "Action receipts stored per second over the last 10 seconds.",
        format!("{:.3}", s.actions_per_second),
    );
    metric(
        "tenant_node_blocks_synced_total",
        "counter",
        "Blocks stored since start.",
        s.blocks_total.to_string(),
    );
    metric(
        "tenant_node_actions_synced_total",
        "counter",
        "Action receipts stored since start.",
        s.actions_total.to_string(),
    );
    metric(
        "tenant_node_rows_synced_total",
        "counter",
        "Table-row changes stored since start.",
        s.rows_total.to_string(),
    );
    metric(
        "tenant_node_forks_total",
        "counter",
        "Forks handled (blocks replaced by the chain) since start.",
        s.forks_total.to_string(),
    );
    metric(
        "tenant_node_ship_reconnects_total",
        "counter",
        "SHiP reconnects since start.",
        s.reconnects_total.to_string(),
    );
    metric(
        "tenant_node_sync_errors_total",
        "counter",
        "Sync sessions that failed and were restarted.",
        s.errors_total.to_string(),
    );
    out
}

/// The operation labels: every root field of the schema, `introspection` and `other`.
pub const OPERATIONS: &[&str] = &[
    "getSystemInfo",
    "getAccount",
    "getAccounts",
    "getAgenda",
    "getDocuments",
    "getBranches",
    "getPayments",
    "verifyDocument",
    "getDecisionIntent",
    "initSystem",
    "installSystem",
    "setWif",
    "login",
    "refresh",
    "logout",
    "authorizeDecision",
    "declineDecision",
    "addParticipant",
    "startResetKey",
    "resetKey",
    "registerAccount",
    "generatePrivacyAgreement",
    "generateSignatureAgreement",
    "generateUserAgreement",
    "generateWalletAgreement",
    "generateParticipantApplication",
    "registerParticipant",
    "createInitialPayment",
    "createDepositPayment",
    "setPaymentStatus",
    "getPaymentOrders",
    "getPaymentMethods",
    "createBankAccount",
    "updateBankAccount",
    "deletePaymentMethod",
    "syncProgress",
    "registryEvents",
    "introspection",
    "other",
];

/// Latency histogram bucket bounds, seconds.
const LATENCY_BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Per-operation counters (fixed label set).
#[derive(Debug, Default)]
struct OpCounters {
    requests: AtomicU64,
    errors: AtomicU64,
    sum_micros: AtomicU64,
    /// Cumulative counts per bucket bound.
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
}

/// GraphQL requests, errors and latency by operation.
#[derive(Debug)]
pub struct ApiMetrics {
    ops: Vec<OpCounters>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics {
            ops: OPERATIONS.iter().map(|_| OpCounters::default()).collect(),
        }
    }
}

/// The label for a root field name: itself if known, `introspection` for `__*`, else `other`.
pub fn operation_label(root_field: Option<&str>) -> &'static str {
    match root_field {
        Some(f) if f.starts_with("__") => "introspection",
        Some(f) => OPERATIONS
            .iter()
            .find(|o| **o == f)
            .copied()
            .unwrap_or("other"),
        None => "other",
    }
}

impl ApiMetrics {
    /// Records one request.
    pub fn observe(&self, operation: &str, ok: bool, elapsed: Duration) {
        let label = operation_label(Some(operation));
        let Some(i) = OPERATIONS.iter().position(|o| *o == label) else {
            return;
        };
        let c = &self.ops[i];
        c.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        c.sum_micros.fetch_add(micros, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&c.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn render(&self, coop: &str, out: &mut String) {
        let coop = escape_label(coop);
        let families = [
            (
                "tenant_node_graphql_requests_total",
                "counter",
                "GraphQL requests by root field.",
            ),
            (
                "tenant_node_graphql_errors_total",
                "counter",
                "GraphQL requests that returned errors.",
            ),
            (
                "tenant_node_graphql_duration_seconds",
                "histogram",
                "GraphQL request latency.",
            ),
        ];
        for (family, (name, kind, help)) in families.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (op, c) in OPERATIONS.iter().zip(&self.ops) {
                let l = format!("coop=\"{coop}\",operation=\"{op}\"");
                let requests = c.requests.load(Ordering::Relaxed);
                match family {
                    0 => {
                        let _ = writeln!(out, "{name}{{{l}}} {requests}");
                    }
                    1 => {
                        let errors = c.errors.load(Ordering::Relaxed);
                        let _ = writeln!(out, "{name}{{{l}}} {errors}");
                    }
                    _ => {
                        for (bound, b) in LATENCY_BUCKETS.iter().zip(&c.buckets) {
                            let v = b.load(Ordering::Relaxed);
                            let _ = writeln!(out, "{name}_bucket{{{l},le=\"{bound}\"}} {v}");
                        }
                        let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {requests}");
                        let sum = c.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                        let _ = writeln!(out, "{name}_sum{{{l}}} {sum:.6}");
                        let _ = writeln!(out, "{name}_count{{{l}}} {requests}");
                    }
                }
            }
        }
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_labels_are_bounded() {
        assert_eq!(operation_label(Some("login")), "login");
        assert_eq!(operation_label(Some("__schema")), "introspection");
        assert_eq!(operation_label(Some("myFancyOperationName")), "other");
        assert_eq!(operation_label(None), "other");
        let m = Metrics::new("voskhod");
        m.api.observe("login", false, Duration::from_millis(3));
        m.api.observe("whatever", true, Duration::from_millis(30));
        let text = m.render();
        assert!(text
            .contains("tenant_node_graphql_errors_total{coop=\"voskhod\",operation=\"login\"} 1"));
        assert!(text.contains(
            "tenant_node_graphql_requests_total{coop=\"voskhod\",operation=\"other\"} 1"
        ));
        assert!(text.contains(
            "tenant_node_graphql_duration_seconds_bucket{coop=\"voskhod\",operation=\"login\",le=\"0.005\"} 1"
        ));
        assert!(!text.contains("whatever"));
    }

    #[test]
    fn rates_use_the_counters_at_the_window_start() {
        let t0 = Instant::now();
        let s = |secs: u64, blocks: u64| Sample {
            at: t0 + Duration::from_secs(secs),
            blocks,
            actions: blocks * 2,
        };
        let samples: VecDeque<Sample> = [s(0, 0), s(5, 1000), s(12, 3000)].into();
        // window (10 s .. 20 s]: the baseline is the sample at 5 s
        let (b, a) = rates(&samples, s(20, 3000), t0);
        assert!((b - 200.0).abs() < 1e-6, "{b}");
        assert!((a - 400.0).abs() < 1e-6, "{a}");
        // idle: long after the last commit the rate drops to zero
        let (b, _) = rates(&samples, s(40, 3000), t0);
        assert_eq!(b, 0.0);
        // young process: the window starts at the process start
        let (b, _) = rates(&samples, s(2, 400), t0);
        assert!((b - 200.0).abs() < 1e-6, "{b}");
    }

    #[test]
    fn rendering_carries_the_cooperative_and_the_lag() {
        let m = Metrics::new("voskhod");
        m.observe_chain(120, 110);
        m.committed(100, 100, 7, 3);
        m.fork();
        let text = m.render();
        for line in [
            "tenant_node_head_block{coop=\"voskhod\"} 120",
            "tenant_node_synced_block{coop=\"voskhod\"} 100",
            "tenant_node_sync_lag_blocks{coop=\"voskhod\"} 20",
            "tenant_node_actions_synced_total{coop=\"voskhod\"} 7",
            "tenant_node_forks_total{coop=\"voskhod\"} 1",
            "# TYPE tenant_node_blocks_per_second gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert_eq!(escape_label("a\"b"), "a\\\"b");
    }
}
