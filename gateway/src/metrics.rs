//! Per-cooperative metrics on atomics and their Prometheus text exposition.
//!
//! Labels are bounded: `tenant` (one per hosted cooperative) and fixed enums (status class,
//! direction, histogram bucket). Paths, users and hosts are never labels.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The per-request counters of one cooperative that one worker thread updates, on cache lines
/// of their own so the workers never write to the same line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    requests: [AtomicU64; 5],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// Counters of one cooperative: per-request ones sharded by worker (summed when read), rare
/// ones shared.
#[derive(Debug)]
pub struct CoopMetrics {
    shards: Box<[Shard]>,
    pub open_websockets: AtomicI64,
    pub rate_limited: AtomicU64,
    pub held: AtomicU64,
    pub hold_overflow: AtomicU64,
    pub wakes: AtomicU64,
}

impl Default for CoopMetrics {
    fn default() -> Self {
        CoopMetrics::new(1)
    }
}

impl CoopMetrics {
    /// Counters for `shards` writers (the listener workers plus the main runtime).
    pub fn new(shards: usize) -> Self {
        CoopMetrics {
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
            open_websockets: AtomicI64::new(0),
            rate_limited: AtomicU64::new(0),
            held: AtomicU64::new(0),
            hold_overflow: AtomicU64::new(0),
            wakes: AtomicU64::new(0),
        }
    }

    /// The calling worker's shard (the last one off the workers).
    fn shard(&self) -> &Shard {
        let last = self.shards.len() - 1;
        let index = crate::state::worker_index().map_or(last, |i| i.min(last));
        &self.shards[index]
    }

    fn sum(&self, counter: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Records a finished request (time to response head).
    pub fn observe(&self, status: u16, latency: Duration) {
        let shard = self.shard();
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        shard.requests[class].fetch_add(1, Ordering::Relaxed);
        let secs = latency.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            shard.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        shard.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        shard.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts body bytes received from a client.
    pub fn add_bytes_in(&self, n: u64) {
        self.shard().bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts body bytes sent to a client.
    pub fn add_bytes_out(&self, n: u64) {
        self.shard().bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests answered so far with a status of class `class` (1 to 5).
    pub fn requests_in_class(&self, class: usize) -> u64 {
        let i = class.wrapping_sub(1);
        if i >= STATUS_CLASSES.len() {
            return 0;
        }
        self.sum(|s| &s.requests[i])
    }
}

/// Gateway-wide counters without a tenant.
#[derive(Debug, Default)]
pub struct GlobalMetrics {
    pub not_found: AtomicU64,
    pub bad_path: AtomicU64,
    pub route_updates: AtomicU64,
    pub route_update_errors: AtomicU64,
    pub open_connections: AtomicI64,
}

/// Renders the Prometheus text format for the given cooperatives (sorted by name).
pub fn render(global: &GlobalMetrics, coops: &[(String, std::sync::Arc<CoopMetrics>)]) -> String {
    let mut out = String::with_capacity(1024 + coops.len() * 2048);
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "gateway_requests_total",
        "counter",
        "Requests answered, by cooperative and status class.",
    );
    for (coop, m) in coops {
        for (i, class) in STATUS_CLASSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "gateway_requests_total{{tenant=\"{coop}\",status_class=\"{class}\"}} {}",
                m.sum(|s| &s.requests[i])
            );
        }
    }
    family(
        &mut out,
        "gateway_request_duration_seconds",
        "histogram",
        "Time to the response head, by cooperative.",
    );
    for (coop, m) in coops {
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += m.sum(|s| &s.latency_buckets[i]);
            let _ = writeln!(out, "gateway_request_duration_seconds_bucket{{tenant=\"{coop}\",le=\"{bound}\"}} {cumulative}");
        }
        let count = m.sum(|s| &s.latency_count);
        let _ = writeln!(
            out,
            "gateway_request_duration_seconds_bucket{{tenant=\"{coop}\",le=\"+Inf\"}} {count}"
        );
        let sum = m.sum(|s| &s.latency_sum_us) as f64 / 1e6;
        let _ = writeln!(
            out,
            "gateway_request_duration_seconds_sum{{tenant=\"{coop}\"}} {sum}"
        );
        let _ = writeln!(
            out,
            "gateway_request_duration_seconds_count{{tenant=\"{coop}\"}} {count}"
        );
    }
    family(
        &mut out,
        "gateway_bytes_total",
        "counter",
        "Body bytes proxied, by cooperative and direction (in = from clients).",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_bytes_total{{tenant=\"{coop}\",direction=\"in\"}} {}",
            m.sum(|s| &s.bytes_in)
        );
        let _ = writeln!(
            out,
            "gateway_bytes_total{{tenant=\"{coop}\",direction=\"out\"}} {}",
            m.sum(|s| &s.bytes_out)
        );
    }
    family(
        &mut out,
        "gateway_open_websockets",
        "gauge",
        "Websocket connections currently proxied, by cooperative.",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_open_websockets{{tenant=\"{coop}\"}} {}",
            m.open_websockets.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "gateway_rate_limited_total",
        "counter",
        "Requests refused with 429, by cooperative.",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_rate_limited_total{{tenant=\"{coop}\"}} {}",
            get(&m.rate_limited)
        );
    }
    family(
        &mut out,
        "gateway_held_requests_total",
        "counter",
        "Requests held while the node was starting, stopping or suspended.",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_held_requests_total{{tenant=\"{coop}\"}} {}",
            get(&m.held)
        );
    }
    family(
        &mut out,
        "gateway_hold_overflow_total",
        "counter",
        "Requests refused with 503 because too many were already held, by cooperative.",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_hold_overflow_total{{tenant=\"{coop}\"}} {}",
            get(&m.hold_overflow)
        );
    }
    family(
        &mut out,
        "gateway_wakes_total",
        "counter",
        "Wake calls sent to the control plane, by cooperative.",
    );
    for (coop, m) in coops {
        let _ = writeln!(
            out,
            "gateway_wakes_total{{tenant=\"{coop}\"}} {}",
            get(&m.wakes)
        );
    }
    for (name, kind, help, value) in [
        (
            "gateway_not_found_total",
            "counter",
            "Requests for unknown hosts or cooperatives.",
            get(&global.not_found) as i64,
        ),
        (
            "gateway_bad_path_total",
            "counter",
            "Requests refused for an unsafe path.",
            get(&global.bad_path) as i64,
        ),
        (
            "gateway_route_updates_total",
            "counter",
            "Route tables applied.",
            get(&global.route_updates) as i64,
        ),
        (
            "gateway_route_update_errors_total",
            "counter",
            "Route documents rejected.",
            get(&global.route_update_errors) as i64,
        ),
        (
            "gateway_open_connections",
            "gauge",
            "Client connections currently open.",
            global.open_connections.load(Ordering::Relaxed),
        ),
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn renders_per_tenant_series() {
        let m = Arc::new(CoopMetrics::new(3));
        m.observe(200, Duration::from_millis(3));
        m.add_bytes_out(7);
        let other = m.clone();
        std::thread::spawn(move || {
            crate::state::set_worker_index(1);
            other.observe(504, Duration::from_secs(2));
            other.add_bytes_out(5);
        })
        .join()
        .unwrap();
        m.rate_limited.fetch_add(1, Ordering::Relaxed);
        let text = render(&GlobalMetrics::default(), &[("alpha".to_owned(), m)]);
        assert!(text.contains("gateway_requests_total{tenant=\"alpha\",status_class=\"2xx\"} 1"));
        assert!(text.contains("gateway_requests_total{tenant=\"alpha\",status_class=\"5xx\"} 1"));
        assert!(text
            .contains("gateway_request_duration_seconds_bucket{tenant=\"alpha\",le=\"0.005\"} 1"));
        assert!(text
            .contains("gateway_request_duration_seconds_bucket{tenant=\"alpha\",le=\"+Inf\"} 2"));
        assert!(text.contains("gateway_rate_limited_total{tenant=\"alpha\"} 1"));
        assert!(text.contains("gateway_bytes_total{tenant=\"alpha\",direction=\"out\"} 12"));
    }
}
