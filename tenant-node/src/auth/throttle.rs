//! Login throttling (pure): failed logins per login name in a sliding window; past the limit the
//! name is refused until the window has passed. Memory is bounded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failed attempts allowed per name within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window failures are counted in (and the lock-out after the limit).
pub const WINDOW: Duration = Duration::from_secs(60);
/// Names tracked at most; past it, expired entries are dropped, then the oldest.
pub const MAX_NAMES: usize = 10_000;

/// Failed login attempts by (normalised) login name.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: HashMap<String, Vec<Instant>>,
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl LoginThrottle {
    /// Whether `name` may try to log in now.
    pub fn allowed(&mut self, name: &str, now: Instant) -> bool {
        match self.failures.get_mut(&key(name)) {
            None => true,
            Some(times) => {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                times.len() < MAX_FAILURES
            }
        }
    }

    /// Records a failed attempt for `name`.
    pub fn failed(&mut self, name: &str, now: Instant) {
        if self.failures.len() >= MAX_NAMES && !self.failures.contains_key(&key(name)) {
            self.failures
                .retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
            if self.failures.len() >= MAX_NAMES {
                let oldest = self
                    .failures
                    .iter()
                    .min_by_key(|(_, times)| times.last().copied())
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    self.failures.remove(&oldest);
                }
            }
        }
        let times = self.failures.entry(key(name)).or_default();
        times.retain(|t| now.duration_since(*t) < WINDOW);
        times.push(now);
    }

    /// Forgets the failures of `name` (after a successful login).
    pub fn succeeded(&mut self, name: &str) {
        self.failures.remove(&key(name));
    }

    /// Names tracked now.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_name_after_the_limit_until_the_window_passes() {
        let mut t = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(t.allowed("Anna@Example.org", start), "attempt {i}");
            t.failed(" anna@example.org", start);
        }
        assert!(!t.allowed("anna@example.org", start + Duration::from_secs(1)));
        // other names are not affected
        assert!(t.allowed("boris@example.org", start));
        assert!(t.allowed("anna@example.org", start + WINDOW));
    }

    #[test]
    fn success_clears_and_memory_stays_bounded() {
        let mut t = LoginThrottle::default();
        let now = Instant::now();
        t.failed("a", now);
        t.succeeded("A");
        assert!(t.is_empty());
        for i in 0..MAX_NAMES + 50 {
            t.failed(&format!("user{i}"), now);
        }
        assert!(t.len() <= MAX_NAMES);
        // the newest name is tracked
        t.failed(&format!("user{}", MAX_NAMES + 49), now);
        assert!(t.failures.contains_key(&format!("user{}", MAX_NAMES + 49)));
    }
}
