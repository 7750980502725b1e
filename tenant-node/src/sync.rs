//! The sync engine: reads SHiP from after the checkpoint, turns blocks into records
//! ([`crate::extract`]), and stores them in batches, each in one transaction with the
//! checkpoint ([`crate::db::write`]).
//!
//! - **Resume:** a session starts after the stored checkpoint and sends the stored positions
//!   (LIB..checkpoint) as `have_positions`, so a fork that happened while the node was away
//!   arrives as a fork event.
//! - **Forks** (head mode): uncommitted replaced blocks are dropped; committed ones are undone in
//!   the same transaction that stores their replacements.
//! - **Batching:** while catching up, up to `batch_blocks` blocks per transaction; once at the
//!   head (or after 500 ms) every block is committed at once. Reaching the head after large
//!   batches renews the writer's connection, whose buffers stay as large as its largest batch.
//! - **Failures:** a failed session (database, chain, decoding) is logged and restarted from the
//!   database state with backoff; nothing half-written survives a failed transaction.
//! - **Events:** after each commit, what it stored is published on [`SyncContext::events`]
//!   (subscribers never see data that is not in the database yet).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chain::api::ChainClient;
use chain::bytes::Pack;
use chain::ship::{BlockPosition, ShipBlockStream, ShipEvent, ShipStreamConfig};
use chain::Name;
use tokio::sync::{broadcast, watch};
use tracing::Instrument;

use crate::abis::AbiHistory;
use crate::batch::Batch;
use crate::config::{Config, SyncMode};
use crate::db::write::Writer;
use crate::db::Db;
use crate::extract::extract_block;
use crate::filter::Interest;
use crate::metrics::Metrics;

/// A batch older than this is committed even while catching up.
const MAX_BATCH_AGE: Duration = Duration::from_millis(500);

/// Committed batches buffered for slow subscribers (older ones are dropped for them).
pub const EVENT_BUFFER: usize = 256;

/// Whether a change is an action receipt or a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Action,
    Row,
}

/// One kind of change in one block: an action `account::name` or a row of table `name` of
/// contract `account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub block_num: u32,
    pub kind: ChangeKind,
    pub account: Name,
    pub name: Name,
}

/// A committed batch, published after its transaction commits.
#[derive(Debug, Clone)]
pub struct Committed {
    pub last_block: u32,
    /// Set when the batch undid a fork from this block.
    pub rolled_back_from: Option<u32>,
    pub changes: Arc<[Change]>,
}

/// The distinct changes of a batch, in block order.
fn changes(batch: &Batch) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for b in &batch.blocks {
        let start = out.len();
        let actions = b.actions.iter().filter(|a| a.receiver == a.account);
        let items = actions
            .map(|a| (ChangeKind::Action, a.account, a.name))
            .chain(b.rows.iter().map(|r| (ChangeKind::Row, r.code, r.table)));
        for (kind, account, name) in items {
            let c = Change {
                block_num: b.block_num,
                kind,
                account,
                name,
            };
            if !out[start..].contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// What the engine needs.
#[derive(Debug, Clone)]
pub struct SyncContext {
    pub db: Db,
    pub chain: ChainClient,
    pub interest: Interest,
    pub ship_url: String,
    pub mode: SyncMode,
    pub start_block: u32,
    pub window: u32,
    pub batch_blocks: u32,
    pub metrics: Arc<Metrics>,
    /// Committed batches (see [`Committed`]).
    pub events: broadcast::Sender<Committed>,
}

impl SyncContext {
    pub fn new(config: &Config, db: Db, chain: ChainClient, metrics: Arc<Metrics>) -> Self {
        SyncContext {
            db,
            chain,
            interest: Interest {
                coop: config.coopname,
                contracts: config.contracts.clone(),
            },
            ship_url: config.ship_url.clone(),
            mode: config.sync_mode,
            start_block: config.start_block,
            window: config.ship_window,
            batch_blocks: config.batch_blocks,
            metrics,
            events: broadcast::channel(EVENT_BUFFER).0,
        }
    }

    /// Publishes committed batches on `events` instead of a channel of its own.
    pub fn with_events(mut self, events: broadcast::Sender<Committed>) -> Self {
        self.events = events;
        self
    }
}

/// How a session ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    Shutdown,
    Reached,
}

/// Syncs until shutdown, or until the checkpoint reaches `until` (when given). Failed sessions
/// are retried with backoff. Logs carry the cooperative.
pub async fn run(
    ctx: &SyncContext,
    until: Option<u32>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("sync", coop = %ctx.interest.coop);
    run_sessions(ctx, until, shutdown).instrument(span).await
}

async fn run_sessions(
    ctx: &SyncContext,
    until: Option<u32>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(250);
    loop {
        match session(ctx, until, &mut shutdown).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                ctx.metrics.error();
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "Sync session failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut shutdown) => return Ok(()),
                }
                backoff = (backoff * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// Resolves once shutdown is requested (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _requested = rx.wait_for(|s| *s).await.is_ok();
}

/// The ABI history from the database, bootstrapping followed accounts it does not know with
/// `get_raw_abi` (stored at block 0).
async fn load_abis(ctx: &SyncContext) -> anyhow::Result<AbiHistory> {
    let mut history = AbiHistory::new();
    for a in ctx.db.abis().await.context("load the ABI history")? {
        history.set(a.account, a.block_num, a.abi);
    }
    for account in ctx.interest.abi_accounts() {
        if history.has(account) {
            continue;
        }
        match ctx.chain.get_raw_abi(account).await {
            Ok(raw) => {
                if let Some(def) = raw.abi {
                    let bytes = def.packed();
                    ctx.db
                        .store_bootstrap_abi(account, &bytes)
                        .await
                        .context("store a bootstrap ABI")?;
                    history.set(account, 0, bytes);
                    tracing::info!(%account, "Bootstrapped the ABI with get_raw_abi");
                }
            }
            Err(e) => tracing::debug!(%account, error = %e, "No ABI to bootstrap"),
        }
    }
    Ok(history)
}

async fn session(
    ctx: &SyncContext,
    until: Option<u32>,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<SessionEnd> {
    let state = ctx.db.sync_state().await.context("read the checkpoint")?;
    let mut committed = state.checkpoint.map(|c| c.block_num);
    if let Some(c) = committed {
        ctx.metrics.set_synced(c);
    }
    if until.is_some_and(|u| committed.is_some_and(|c| c >= u)) {
        return Ok(SessionEnd::Reached);
    }
    let mut abis = load_abis(ctx).await?;
    let start = committed.map_or(ctx.start_block, |c| c.saturating_add(1));
    let mut config = ShipStreamConfig::new(ctx.ship_url.clone(), start);
    config.max_messages_in_flight = ctx.window;
    config.irreversible_only = ctx.mode == SyncMode::Irreversible;
    config.end_block_num = until.map_or(u32::MAX, |u| u.saturating_add(1));
    let positions: Vec<BlockPosition> = state
        .positions
        .iter()
        .map(|(block_num, block_id)| BlockPosition {
            block_num: *block_num,
            block_id: *block_id,
        })
        .collect();
    tracing::info!(
        start,
        have_positions = positions.len(),
        mode = ?ctx.mode,
        "Sync session starts"
    );
    let mut stream = ShipBlockStream::connect(config, positions)
        .await
        .context("connect to SHiP")?;
    let mut writer = ctx.db.writer().await.context("open the writer")?;
    let mut batch = Batch::default();
    let mut batch_started = Instant::now();
    loop {
        let event = tokio::select! {
            biased;
            _ = stopped(shutdown) => {
                flush(ctx, &mut writer, &mut batch, &mut committed).await?;
                return Ok(SessionEnd::Shutdown);
            }
            event = stream.next() => event.context("read SHiP")?,
        };
        match event {
            None => {
                flush(ctx, &mut writer, &mut batch, &mut committed).await?;
                return Ok(SessionEnd::Reached);
            }
            Some(ShipEvent::Block(block)) => {
                ctx.metrics
                    .observe_chain(block.head.block_num, block.last_irreversible.block_num);
                let data = extract_block(&block, &ctx.interest, &mut abis)?;
                let num = data.block_num;
                let target = match ctx.mode {
                    SyncMode::Head => data.head,
                    SyncMode::Irreversible => data.last_irreversible,
                };
                if batch.blocks.is_empty() {
                    batch_started = Instant::now();
                }
                batch.push(data);
                let reached = until.is_some_and(|u| num >= u);
                if reached
                    || num >= target
                    || batch.blocks.len() >= ctx.batch_blocks as usize
                    || batch_started.elapsed() >= MAX_BATCH_AGE
                {
                    flush(ctx, &mut writer, &mut batch, &mut committed).await?;
                    if num >= target && writer.grown() {
                        // caught up: leave the catch-up's large buffers behind
                        writer = ctx
                            .db
                            .renew_writer(writer)
                            .await
                            .context("renew the writer")?;
                    }
                }
                if reached {
                    return Ok(SessionEnd::Reached);
                }
            }
            Some(ShipEvent::Fork { from_block_num }) => {
                tracing::info!(from_block_num, "Fork: undoing the replaced blocks");
                ctx.metrics.fork();
                batch.fork(from_block_num, committed);
                abis.truncate_from(from_block_num);
            }
            Some(ShipEvent::Progress {
                head,
                last_irreversible,
            }) => ctx
                .metrics
                .observe_chain(head.block_num, last_irreversible.block_num),
            Some(ShipEvent::Reconnected {
                attempts,
                start_block_num,
                ..
            }) => {
                ctx.metrics.reconnect();
                tracing::info!(attempts, start_block_num, "SHiP reconnected");
            }
        }
    }
}

/// Commits the batch (if it has blocks) and resets it.
async fn flush(
    ctx: &SyncContext,
    writer: &mut Writer,
    batch: &mut Batch,
    committed: &mut Option<u32>,
) -> anyhow::Result<()> {
    let Some(last) = batch.last().map(|b| b.block_num) else {
        return Ok(());
    };
    let rolled_back_from = batch.rollback_from;
    let changes = changes(batch);
    writer.commit(batch).await.context("store blocks")?;
    ctx.metrics
        .committed(last, batch.blocks.len(), batch.n_actions(), batch.n_rows());
    *committed = Some(last);
    // no subscriber is not an error
    let _receivers = ctx.events.send(Committed {
        last_block: last,
        rolled_back_from,
        changes: changes.into(),
    });
    *batch = Batch::default();
    Ok(())
}
