//! Subscriptions, fed by the sync engine's broadcast of committed batches (so a subscriber
//! never hears of data the database does not hold yet). A subscriber that falls more than
//! [`crate::sync::EVENT_BUFFER`] batches behind skips the oldest ones.

use async_graphql::{Context, Result, SimpleObject, Subscription};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;

use super::guard::{self, api};
use crate::auth::Role;
use crate::sync::{ChangeKind, Committed};

/// The sync reached a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SyncProgress {
    pub block_num: u32,
    /// Set when the batch undid a fork from this block.
    pub rolled_back_from: Option<u32>,
}

/// A committed change: an action (`kind: "action"`) or rows of a table (`kind: "row"`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegistryEvent {
    pub block_num: u32,
    pub kind: String,
    /// The contract.
    pub account: String,
    /// The action or table name.
    pub name: String,
}

fn committed(rx: broadcast::Receiver<Committed>) -> impl Stream<Item = Committed> {
    stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(c) => return Some((c, rx)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "A subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

#[derive(Debug)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// The block each committed batch reached (public: block numbers only).
    async fn sync_progress(&self, ctx: &Context<'_>) -> impl Stream<Item = SyncProgress> {
        committed(api(ctx).events.subscribe()).map(|c| SyncProgress {
            block_num: c.last_block,
            rolled_back_from: c.rolled_back_from,
        })
    }

    /// The registry changes of each committed batch (chairman and members only).
    async fn registry_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = RegistryEvent>> {
        guard::require(ctx, &[Role::Chairman, Role::Member]).await?;
        let rx = api(ctx).events.subscribe();
        Ok(committed(rx).flat_map(|c| {
            let events: Vec<RegistryEvent> = c
                .changes
                .iter()
                .map(|ch| RegistryEvent {
                    block_num: ch.block_num,
                    kind: match ch.kind {
                        ChangeKind::Action => "action",
                        ChangeKind::Row => "row",
                    }
                    .to_owned(),
                    account: ch.account.to_string(),
                    name: ch.name.to_string(),
                })
                .collect();
            stream::iter(events)
        }))
    }
}
