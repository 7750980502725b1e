//! Shared gateway state: the atomically swapped route table and the per-cooperative runtime
//! (upstream connection pool, rate limiter, metrics, wake bookkeeping).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::Config;
use crate::h1::upstream::RawPool;
use crate::metrics::{CoopMetrics, GlobalMetrics};
use crate::pool::UpstreamPool;
use crate::ratelimit::MultiWindowLimiter;
use crate::routes::{RouteError, RouteFile, RouteTable};

/// The current route table plus a change signal for held requests.
#[derive(Debug)]
pub struct RouteStore {
    table: ArcSwap<RouteTable>,
    version: watch::Sender<u64>,
}

impl RouteStore {
    fn new() -> Self {
        RouteStore {
            table: ArcSwap::from_pointee(RouteTable::default()),
            version: watch::channel(0).0,
        }
    }

    /// The table in force now; requests keep the snapshot they loaded.
    pub fn load(&self) -> Arc<RouteTable> {
        self.table.load_full()
    }

    /// The current table for a short, synchronous look (no reference count is touched; do not
    /// hold it across an `await`).
    pub fn current(&self) -> arc_swap::Guard<Arc<RouteTable>> {
        self.table.load()
    }

    /// Replaces the table atomically and wakes every held request.
    pub fn swap(&self, table: RouteTable) {
        self.table.store(Arc::new(table));
        self.version.send_modify(|v| *v += 1);
    }

    /// A receiver that sees every later swap.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

thread_local! {
    /// Index of the listener worker thread running this code (`None` off the workers).
    static WORKER_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Marks the current thread as listener worker `index` (see `server`).
pub fn set_worker_index(index: usize) {
    WORKER_INDEX.with(|w| w.set(Some(index)));
}

/// The listener worker the calling thread is (`None` off the workers).
pub fn worker_index() -> Option<usize> {
    WORKER_INDEX.with(Cell::get)
}

/// State the gateway keeps per cooperative, across route-table swaps.
#[derive(Debug)]
pub struct CoopRuntime {
    pub metrics: Arc<CoopMetrics>,
    pub limiter: Mutex<MultiWindowLimiter>,
    /// This cooperative's own upstream connection pools: one per listener worker (so a
    /// worker's upstream connections live on its own thread) plus one shared slot.
    pools: Box<[OnceLock<Arc<UpstreamPool>>]>,
    raw_pools: Box<[OnceLock<RawPool>]>,
    /// When the last wake call was sent (coalesces concurrent wakes).
    pub wake_sent: Mutex<Option<Instant>>,
    /// Requests waiting for this cooperative's node right now.
    held_now: AtomicUsize,
    config: Arc<Config>,
}

/// A place among a cooperative's held requests; released on drop.
#[derive(Debug)]
pub struct HoldSlot<'a>(&'a AtomicUsize);

impl Drop for HoldSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CoopRuntime {
    /// Takes a place among the held requests, or `None` when `max_held_per_coop` are waiting.
    pub fn try_hold(&self) -> Option<HoldSlot<'_>> {
        let max = self.config.max_held_per_coop;
        self.held_now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| HoldSlot(&self.held_now))
    }

    /// The native-path connection pool of the calling thread's worker.
    pub fn raw_pool(&self) -> &RawPool {
        let last = self.raw_pools.len() - 1;
        let index = WORKER_INDEX.with(Cell::get).map_or(last, |i| i.min(last));
        self.raw_pools[index].get_or_init(|| {
            RawPool::new(
                self.config.pool_max_idle_per_coop,
                self.config.pool_idle_timeout,
                self.config.upstream_connect_timeout,
            )
        })
    }

    /// The hyper-path upstream pool of the calling thread's worker.
    pub fn pool(&self) -> &Arc<UpstreamPool> {
        let last = self.pools.len() - 1;
        let index = WORKER_INDEX.with(Cell::get).map_or(last, |i| i.min(last));
        self.pools[index].get_or_init(|| {
            Arc::new(UpstreamPool::new(
                self.config.pool_max_idle_per_coop,
                self.config.pool_idle_timeout,
                self.config.upstream_connect_timeout,
            ))
        })
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Gateway {
    pub config: Arc<Config>,
    pub routes: RouteStore,
    pub global: GlobalMetrics,
    pub wake_client: reqwest::Client,
    /// Reference point for cheap millisecond timestamps.
    pub epoch: Instant,
    coops: RwLock<HashMap<String, Arc<CoopRuntime>>>,
}

impl Gateway {
    pub fn new(config: Arc<Config>) -> anyhow::Result<Gateway> {
        let wake_client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Gateway {
            config,
            routes: RouteStore::new(),
            global: GlobalMetrics::default(),
            wake_client,
            epoch: Instant::now(),
            coops: RwLock::new(HashMap::new()),
        })
    }

    /// Validates a route document and swaps it in; the old table stays on error.
    pub fn apply_routes(&self, file: &RouteFile) -> Result<(), RouteError> {
        match RouteTable::build(file, &self.config.base_domain) {
            Ok(table) => {
                // Forget the runtime (metrics, limiter, pools) of cooperatives no longer routed,
                // so removed tenants do not accumulate; in-flight requests keep their `Arc`.
                match self.coops.write() {
                    Ok(mut map) => map.retain(|coop, _| table.coop(coop).is_some()),
                    Err(poisoned) => poisoned
                        .into_inner()
                        .retain(|coop, _| table.coop(coop).is_some()),
                }
                self.routes.swap(table);
                self.global.route_updates.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.global
                    .route_update_errors
                    .fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// The runtime of a routed cooperative, created on its first request.
    pub fn runtime(&self, coop: &str) -> Arc<CoopRuntime> {
        if let Some(rt) = self.coops.read().ok().and_then(|m| m.get(coop).cloned()) {
            return rt;
        }
        let mut map = match self.coops.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(coop.to_owned())
            .or_insert_with(|| Arc::new(self.new_runtime()))
            .clone()
    }

    /// Metrics of every cooperative seen so far, sorted by name.
    pub fn coop_metrics(&self) -> Vec<(String, Arc<CoopMetrics>)> {
        let mut list: Vec<_> = match self.coops.read() {
            Ok(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.metrics.clone()))
                .collect(),
            Err(_) => Vec::new(),
        };
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    fn new_runtime(&self) -> CoopRuntime {
        CoopRuntime {
            metrics: Arc::new(CoopMetrics::new(self.config.workers + 1)),
            limiter: Mutex::new(MultiWindowLimiter::new(
                &self.config.rate_windows,
                Instant::now(),
            )),
            pools: (0..=self.config.workers).map(|_| OnceLock::new()).collect(),
            raw_pools: (0..=self.config.workers).map(|_| OnceLock::new()).collect(),
            wake_sent: Mutex::new(None),
            held_now: AtomicUsize::new(0),
            config: self.config.clone(),
        }
    }
}
