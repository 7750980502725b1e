//! Test helpers: a devchain with two cooperatives and the participant lifecycle (`chain`), and a
//! tenant node for `voskhod` on a fresh real database, synced through the library.

#![allow(dead_code, unreachable_pub)]

pub mod api;
pub mod chain;
pub mod council;
pub mod invite;
pub mod pay;
pub mod proxy;
pub mod register;

use std::sync::Arc;
use std::time::Duration;

use managed_pg::testing::TestDb;
use tenant_node::config::{Config, ConfigArgs, ConfigFile, SecretEnv, SyncMode};
use tenant_node::db::Db;
use tenant_node::metrics::Metrics;
use tenant_node::sync::SyncContext;
use tokio::sync::watch;

use self::chain::{TestChain, CHAIN_ID};

/// The configuration of a node for `coop` against `chain` and `db_url`.
pub fn config(db_url: &str, chain: &TestChain, coop: &str, mode: SyncMode) -> Config {
    config_for_urls(db_url, &chain.http_url(), &chain.ship_url(), coop, mode)
}

pub fn config_for_urls(
    db_url: &str,
    http_url: &str,
    ship_url: &str,
    coop: &str,
    mode: SyncMode,
) -> Config {
    let file = ConfigFile {
        coopname: Some(coop.into()),
        database_url: Some(db_url.into()),
        chain_url: Some(http_url.into()),
        ship_url: Some(ship_url.into()),
        chain_id: Some(CHAIN_ID.into()),
        listen: Some("127.0.0.1:0".into()),
        sync_mode: Some(mode),
        ..ConfigFile::default()
    };
    tenant_node::config::merge(file, &ConfigArgs::default(), SecretEnv::default())
        .expect("test config")
}

/// A tenant node (library form) over its own database.
#[derive(Debug)]
pub struct Node {
    pub config: Config,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub test_db: TestDb,
}

impl Node {
    /// A node for `voskhod` in head mode on a fresh migrated database.
    pub async fn new(chain: &TestChain) -> Node {
        Node::with(chain, "voskhod", SyncMode::Head).await
    }

    pub async fn with(chain: &TestChain, coop: &str, mode: SyncMode) -> Node {
        let test_db = TestDb::new().await;
        let config = config(&test_db.url, chain, coop, mode);
        Node::open(config, test_db).await
    }

    pub async fn open(config: Config, test_db: TestDb) -> Node {
        let db = tenant_node::cli::open_database(&config)
            .await
            .expect("open the node database");
        let metrics = Arc::new(Metrics::new(&config.coopname.to_string()));
        Node {
            config,
            db,
            metrics,
            test_db,
        }
    }

    pub fn context(&self) -> SyncContext {
        let chain = ::chain::api::ChainClient::new(&self.config.chain_url, Duration::from_secs(10))
            .expect("chain client");
        SyncContext::new(&self.config, self.db.clone(), chain, self.metrics.clone())
    }

    /// Syncs until the checkpoint reaches `target` (within 120 s).
    pub async fn sync_to(&self, target: u32) {
        let ctx = self.context();
        let (_tx, rx) = watch::channel(false);
        tokio::time::timeout(
            Duration::from_secs(120),
            tenant_node::sync::run(&ctx, Some(target), rx),
        )
        .await
        .expect("sync in time")
        .expect("sync");
        assert_eq!(self.checkpoint().await, Some(target));
    }

    /// Runs the sync in the background until the returned sender says stop.
    pub fn spawn_live(&self) -> Live {
        let ctx = self.context();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            tenant_node::sync::run(&ctx, None, rx)
                .await
                .expect("live sync");
        });
        Live { stop, task }
    }

    /// Waits until the checkpoint is exactly `block` (a live sync is running).
    pub async fn wait_synced(&self, block: u32) {
        wait_for(60, &format!("checkpoint {block}"), || async {
            self.checkpoint().await.filter(|c| *c == block)
        })
        .await;
    }

    pub async fn checkpoint(&self) -> Option<u32> {
        self.db
            .sync_state()
            .await
            .expect("sync state")
            .checkpoint
            .map(|c| c.block_num)
    }

    pub async fn digest(&self) -> String {
        tenant_node::db::digest::digest(&self.db)
            .await
            .expect("digest")
            .0
    }
}

/// Polls `f` every 20 ms until it returns `Some` (panics after `secs` seconds).
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A background sync.
#[derive(Debug)]
pub struct Live {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Live {
    pub async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the sync stops in time")
            .expect("the sync task");
    }
}

/// Whether WeasyPrint is installed; under `CI=true` its absence fails the test instead of
/// skipping it.
pub fn weasyprint(test: &str) -> bool {
    let ok = documents::pdf::weasyprint_installed(&documents::pdf::PdfConfig::default());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: weasyprint is required under CI=true"
        );
        eprintln!("SKIPPED {test}: weasyprint is not installed (scripts/deps.sh)");
    }
    ok
}
