//! Per-cooperative rate limiting over several windows at once (pure; time is passed in).
//!
//! Each window uses a sliding-window counter: the previous fixed window's count, weighted by
//! how much of it still overlaps the sliding window, plus the current window's count.
//! A request is admitted only if every window has room, and then counts in every window.

use std::time::{Duration, Instant};

/// One limit: at most `per_second × window` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateWindow {
    pub per_second: f64,
    pub window: Duration,
}

/// Neon proxy's per-endpoint defaults: 500/s over 1 s, 300/s over 1 min, 200/s over 10 min.
pub const DEFAULT_WINDOWS: [RateWindow; 3] = [
    RateWindow {
        per_second: 500.0,
        window: Duration::from_secs(1),
    },
    RateWindow {
        per_second: 300.0,
        window: Duration::from_secs(60),
    },
    RateWindow {
        per_second: 200.0,
        window: Duration::from_secs(600),
    },
];

#[derive(Debug)]
struct WindowState {
    limit: f64,
    len: Duration,
    start: Instant,
    current: u64,
    previous: u64,
}

/// The limiter state of one cooperative.
#[derive(Debug)]
pub struct MultiWindowLimiter {
    windows: Vec<WindowState>,
}

impl MultiWindowLimiter {
    pub fn new(windows: &[RateWindow], now: Instant) -> Self {
        MultiWindowLimiter {
            windows: windows
                .iter()
                .map(|w| WindowState {
                    limit: w.per_second * w.window.as_secs_f64(),
                    len: w.window,
                    start: now,
                    current: 0,
                    previous: 0,
                })
                .collect(),
        }
    }

    /// Admits one request at `now` if every window has room.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        let mut allowed = true;
        for w in &mut self.windows {
            let elapsed = now.saturating_duration_since(w.start);
            if elapsed >= w.len * 2 {
                w.previous = 0;
                w.current = 0;
                w.start = now;
            } else if elapsed >= w.len {
                w.previous = w.current;
                w.current = 0;
                w.start += w.len;
            }
            let into = now.saturating_duration_since(w.start).as_secs_f64() / w.len.as_secs_f64();
            let estimate = w.previous as f64 * (1.0 - into).max(0.0) + w.current as f64;
            if estimate + 1.0 > w.limit {
                allowed = false;
            }
        }
        if allowed {
            for w in &mut self.windows {
                w.current += 1;
            }
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(limiter: &mut MultiWindowLimiter, now: Instant, n: u32) -> u32 {
        (0..n).filter(|_| limiter.try_acquire(now)).count() as u32
    }

    #[test]
    fn short_window_caps_a_burst() {
        let t0 = Instant::now();
        let mut l = MultiWindowLimiter::new(&DEFAULT_WINDOWS, t0);
        assert_eq!(admitted(&mut l, t0, 600), 500);
        // Two seconds later the 1 s window is empty again.
        assert_eq!(admitted(&mut l, t0 + Duration::from_secs(2), 600), 500);
    }

    #[test]
    fn sliding_window_weights_previous_window() {
        let t0 = Instant::now();
        let windows = [RateWindow {
            per_second: 10.0,
            window: Duration::from_secs(1),
        }];
        let mut l = MultiWindowLimiter::new(&windows, t0);
        assert_eq!(admitted(&mut l, t0, 10), 10);
        // Half-way into the next window, half of the previous window still counts.
        assert_eq!(admitted(&mut l, t0 + Duration::from_millis(1500), 10), 5);
    }

    #[test]
    fn long_window_limits_sustained_rate() {
        let t0 = Instant::now();
        let mut l = MultiWindowLimiter::new(&DEFAULT_WINDOWS, t0);
        // 1000/s offered for one minute (10 every 10 ms) passes the 1 s window's 500/s but
        // exceeds 300/s over a minute: the admitted total is capped near 18000.
        let total: u32 = (0..6000)
            .map(|i| admitted(&mut l, t0 + Duration::from_millis(i * 10), 10))
            .sum();
        assert!(total <= 18_000, "{total}");
        assert!(total >= 17_000, "{total}");
    }

    #[test]
    fn no_windows_means_no_limit() {
        let t0 = Instant::now();
        let mut l = MultiWindowLimiter::new(&[], t0);
        assert_eq!(admitted(&mut l, t0, 10_000), 10_000);
    }
}
