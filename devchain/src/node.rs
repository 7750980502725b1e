//! The running devchain: the chain and block log behind one lock, the producer task, and the
//! HTTP and SHiP listeners. [`Devchain::start`] returns a handle with the bound addresses.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use chain::time::TimePoint;
use chain::transaction::PackedTransaction;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::block::BlockRecord;
use crate::blocklog::BlockLog;
use crate::chain::{Applied, Chain, ChainParams};
use crate::contract::ContractSet;
use crate::error::ChainError;
use crate::genesis::Genesis;

/// What to run.
#[derive(Debug, Clone)]
pub struct DevchainConfig {
    pub genesis: Genesis,
    pub contracts: ContractSet,
}

/// Chain and log, always changed together.
#[derive(Debug)]
pub struct Inner {
    pub chain: Chain,
    pub log: BlockLog,
}

/// Shared node state.
#[derive(Debug)]
pub struct Node {
    inner: Mutex<Inner>,
    head: watch::Sender<u32>,
    paused: AtomicBool,
    pub test_controls: bool,
}

impl Node {
    /// Runs `f` under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Result<R, ChainError> {
        let mut guard: MutexGuard<'_, Inner> = self
            .inner
            .lock()
            .map_err(|_| ChainError::Internal("chain lock poisoned".into()))?;
        Ok(f(&mut guard))
    }

    pub fn push_transaction(&self, ptrx: &PackedTransaction) -> Result<Applied, ChainError> {
        self.with(|i| i.chain.push_transaction(ptrx))?
    }

    /// Seals the pending block and appends it to the log; returns its number.
    pub fn produce_block(&self) -> Result<u32, ChainError> {
        let num = self.with(|i| {
            let record = i.chain.produce_block(TimePoint::now());
            i.log
                .append(&record)
                .map_err(|e| ChainError::Internal(format!("{e:#}")))?;
            Ok::<_, ChainError>(record.block_num)
        })??;
        self.head.send_replace(num);
        Ok(num)
    }

    /// Replaces the newest `n` reversible blocks; returns the new head number.
    pub fn fork(&self, n: u32) -> Result<u32, ChainError> {
        let head = self.with(|i| {
            let head = i.chain.head().num;
            let first = head.saturating_sub(n) + 1;
            if n == 0 || first <= i.chain.lib_num() {
                return Err(ChainError::BadRequest(format!(
                    "fork: {n} blocks reach below LIB {} (head {head})",
                    i.chain.lib_num()
                )));
            }
            let removed = (first..=head)
                .map(|num| i.log.read(num))
                .collect::<anyhow::Result<Vec<BlockRecord>>>()
                .map_err(|e| ChainError::Internal(format!("{e:#}")))?;
            let new = i.chain.fork(&removed, TimePoint::now())?;
            let io = |e: anyhow::Error| ChainError::Internal(format!("{e:#}"));
            i.log.truncate_from(first).map_err(io)?;
            for record in &new {
                i.log.append(record).map_err(io)?;
            }
            Ok(i.chain.head().num)
        })??;
        self.head.send_replace(head);
        Ok(head)
    }

    pub fn read_block(&self, num: u32) -> Result<BlockRecord, ChainError> {
        self.with(|i| i.log.read(num))?
            .map_err(|e| ChainError::UnknownBlock(format!("{e:#}")))
    }

    pub fn subscribe_head(&self) -> watch::Receiver<u32> {
        self.head.subscribe()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Devchain;

/// A running devchain.
#[derive(Debug)]
pub struct DevchainHandle {
    pub http_addr: SocketAddr,
    pub ship_addr: SocketAddr,
    pub node: Arc<Node>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DevchainHandle {
    /// `http://addr` for `chain::api::ChainClient`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `ws://addr` for `chain::ship::ShipBlockStream`.
    pub fn ship_url(&self) -> String {
        format!("ws://{}", self.ship_addr)
    }

    /// Stops producing and serving, waits for the tasks and syncs the block log.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "A devchain task ended abnormally");
            }
        }
        self.node
            .with(|i| i.log.sync())
            .map_err(|e| anyhow::anyhow!("{e}"))??;
        Ok(())
    }
}

impl Devchain {
    /// Opens (or creates) the chain in the genesis data dir, binds the HTTP and SHiP listeners
    /// (port 0 picks a free port) and starts producing.
    pub async fn start(config: DevchainConfig) -> anyhow::Result<DevchainHandle> {
        let genesis = config.genesis;
        let params = ChainParams {
            chain_id: genesis.chain_id,
            lib_lag: genesis.lib_lag,
        };
        let (mut log, records) = BlockLog::open(&genesis.data_dir, &genesis.chain_id)?;
        let chain = if records.is_empty() {
            let (chain, record) = Chain::genesis(
                params,
                config.contracts,
                TimePoint::now(),
                |state, journal, time| genesis.apply(state, journal, time),
            )
            .map_err(|e| anyhow::anyhow!("apply genesis: {e}"))?;
            log.append(&record)?;
            chain
        } else {
            tracing::info!(blocks = records.len(), "Replaying the block log");
            Chain::replay(params, config.contracts, records, TimePoint::now())
                .map_err(|e| anyhow::anyhow!("replay the block log: {e}"))?
        };
        let head_num = chain.head().num;
        let node = Arc::new(Node {
            inner: Mutex::new(Inner { chain, log }),
            head: watch::channel(head_num).0,
            paused: AtomicBool::new(false),
            test_controls: genesis.test_controls,
        });
        let (shutdown, _) = watch::channel(false);
        let http = TcpListener::bind(genesis.http_addr)
            .await
            .with_context(|| format!("bind HTTP {}", genesis.http_addr))?;
        let ship = TcpListener::bind(genesis.ship_addr)
            .await
            .with_context(|| format!("bind SHiP {}", genesis.ship_addr))?;
        let http_addr = http.local_addr().context("HTTP address")?;
        let ship_addr = ship.local_addr().context("SHiP address")?;
        let tasks = vec![
            tokio::spawn(produce_loop(
                node.clone(),
                genesis.block_interval,
                shutdown.subscribe(),
            )),
            tokio::spawn(crate::http::serve(http, node.clone(), shutdown.subscribe())),
            tokio::spawn(crate::ship::serve(ship, node.clone(), shutdown.subscribe())),
        ];
        tracing::info!(%http_addr, %ship_addr, head = head_num, "Devchain started");
        Ok(DevchainHandle {
            http_addr,
            ship_addr,
            node,
            shutdown,
            tasks,
        })
    }
}

async fn produce_loop(
    node: Arc<Node>,
    interval: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped(&mut shutdown) => return,
        }
        if node.is_paused() {
            continue;
        }
        if let Err(e) = node.produce_block() {
            tracing::error!(error = %e, "Failed to produce a block");
        }
    }
}

/// Resolves once shutdown was requested (or the sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _requested = rx.wait_for(|s| *s).await.is_ok();
}
