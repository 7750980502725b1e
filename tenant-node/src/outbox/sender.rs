//! The outbox sender task: builds, records, signs and sends the transaction of each due chain
//! intent, confirms it from the synced data, and re-sends only a transaction that expired
//! without inclusion (see the module rule in [`super`]).
//!
//! Signing goes through a [`KeySource`] (key custody is its own module); the sender never sees
//! a private key unless the key source is a [`StaticKey`] (development and tests).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use chain::abi::Abi;
use chain::api::{ChainApiError, ChainClient};
use chain::keys::{PrivateKey, Signature};
use chain::time::TimePointSec;
use chain::transaction::{SignedTransaction, Transaction};
use chain::{Checksum256, Name};
use tokio::sync::watch;

use super::{
    backoff, classify, council_actions, member_actions, registration_actions, IntentPayload,
    RegistrationAbis, SendFailure,
};
use crate::config::Contracts;
use crate::db::outbox::{Intent, IntentStatus};
use crate::db::Db;

/// A boxed future (object-safe async trait methods).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Signs with the cooperative's active key. Implemented by key custody; [`StaticKey`] holds a
/// key in memory (development and tests).
pub trait KeySource: Send + Sync + fmt::Debug {
    fn sign<'a>(
        &'a self,
        coopname: Name,
        digest: &'a Checksum256,
    ) -> BoxFuture<'a, anyhow::Result<Signature>>;
}

/// A key held in memory. `Debug` shows only the public key.
pub struct StaticKey(pub PrivateKey);

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticKey({})", self.0.public_key())
    }
}

impl KeySource for StaticKey {
    fn sign<'a>(
        &'a self,
        _coopname: Name,
        digest: &'a Checksum256,
    ) -> BoxFuture<'a, anyhow::Result<Signature>> {
        Box::pin(async move { Ok(self.0.sign_digest(digest)) })
    }
}

/// The sender's settings (documented with the node's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Transaction lifetime after the head block's time (Leap allows up to 3600 s).
    pub trx_expiration: Duration,
    /// Pause between passes over the due intents.
    pub poll_interval: Duration,
    /// Longest wait between retries after transient failures.
    pub max_backoff: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            trx_expiration: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// The `[outbox]` section as written.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxFile {
    pub trx_expiration_secs: Option<u64>,
    pub poll_interval_ms: Option<u64>,
    pub max_backoff_secs: Option<u64>,
}

impl OutboxFile {
    pub fn validate(self) -> Result<SenderConfig, String> {
        let d = SenderConfig::default();
        let trx_expiration = self
            .trx_expiration_secs
            .map_or(d.trx_expiration, Duration::from_secs);
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&trx_expiration) {
            return Err("outbox.trx_expiration_secs must be 1..=3600".into());
        }
        let poll_interval = self
            .poll_interval_ms
            .map_or(d.poll_interval, Duration::from_millis);
        if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&poll_interval) {
            return Err("outbox.poll_interval_ms must be 10..=60000".into());
        }
        let max_backoff = self
            .max_backoff_secs
            .map_or(d.max_backoff, Duration::from_secs);
        if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&max_backoff) {
            return Err("outbox.max_backoff_secs must be 1..=86400".into());
        }
        Ok(SenderConfig {
            trx_expiration,
            poll_interval,
            max_backoff,
        })
    }
}

/// What one pass did (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub sent: u32,
    pub confirmed: u32,
    pub expired: u32,
    pub failed: u32,
}

/// The sender of one cooperative.
#[derive(Debug)]
pub struct Sender {
    db: Db,
    chain: ChainClient,
    coopname: Name,
    contracts: Contracts,
    chain_id: Checksum256,
    keys: Arc<dyn KeySource>,
    config: SenderConfig,
    abis: tokio::sync::Mutex<Option<RegistrationAbis>>,
    /// Consecutive transient failures per intent (backoff), in memory.
    failures: Mutex<HashMap<i64, u32>>,
}

impl Sender {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        chain: ChainClient,
        coopname: Name,
        contracts: Contracts,
        chain_id: Checksum256,
        keys: Arc<dyn KeySource>,
        config: SenderConfig,
    ) -> Sender {
        Sender {
            db,
            chain,
            coopname,
            contracts,
            chain_id,
            keys,
            config,
            abis: tokio::sync::Mutex::new(None),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Runs passes until `stop` turns true. Errors of a pass are logged and retried.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        use tracing::Instrument as _;
        let span = tracing::info_span!("outbox", coop = %self.coopname);
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = self.pass().await {
                    tracing::warn!("Outbox pass failed: {e:#}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One pass over the due intents.
    pub async fn pass(&self) -> anyhow::Result<PassReport> {
        let mut report = PassReport::default();
        for intent in self.db.due_intents(100).await.context("read due intents")? {
            let result = match intent.status {
                IntentStatus::Pending => self.send_new(&intent, &mut report).await,
                IntentStatus::Sent => self.follow(&intent, &mut report).await,
                IntentStatus::Confirmed | IntentStatus::Failed => Ok(()),
            };
            if let Err(e) = result {
                let n = self.note_failure(intent.id);
                let delay = backoff(n, self.config.max_backoff);
                tracing::warn!(intent = intent.id, user = %intent.username, retry_in = ?delay,
                    "Chain intent step failed: {e:#}");
                self.db
                    .defer_intent(intent.id, delay, &format!("{e:#}"))
                    .await
                    .context("defer the intent")?;
            }
        }
        Ok(report)
    }

    fn note_failure(&self, id: i64) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(id).or_insert(0);
        *n += 1;
        *n
    }

    fn clear_failures(&self, id: i64) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    async fn registration_abis(&self) -> anyhow::Result<RegistrationAbis> {
        let mut cached = self.abis.lock().await;
        if let Some(abis) = cached.as_ref() {
            return Ok(abis.clone());
        }
        let fetch = |account: Name| async move {
            let raw = self
                .chain
                .get_raw_abi(account)
                .await
                .with_context(|| format!("get the ABI of {account}"))?;
            let def = raw
                .abi
                .with_context(|| format!("{account} has no ABI on chain"))?;
            Abi::from_def(def).with_context(|| format!("load the ABI of {account}"))
        };
        let abis = RegistrationAbis {
            registrator: fetch(self.contracts.registrator).await?,
            gateway: fetch(self.contracts.gateway).await?,
            soviet: fetch(self.contracts.soviet).await?,
        };
        *cached = Some(abis.clone());
        Ok(abis)
    }

    async fn account_exists(&self, account: Name) -> anyhow::Result<bool> {
        match self.chain.get_account(account).await {
            Ok(_) => Ok(true),
            Err(ChainApiError::Leap { .. }) => Ok(false),
            Err(e) => Err(e).context("look up the account"),
        }
    }

    /// Builds, records and sends a new transaction for a `pending` intent.
    async fn send_new(&self, intent: &Intent, report: &mut PassReport) -> anyhow::Result<()> {
        // A recorded transaction that did make it (only possible if the data changed under
        // us) closes the intent instead of building another one.
        if self.try_confirm(intent, report).await? {
            return Ok(());
        }
        let abis = self.registration_abis().await?;
        let actions = match &intent.payload {
            IntentPayload::Registration(package) => {
                let exists = self.account_exists(intent.username).await?;
                registration_actions(self.coopname, &self.contracts, &abis, package, exists)
                    .context("encode the registration actions")?
            }
            IntentPayload::Council(action) => {
                council_actions(self.coopname, &self.contracts, &abis.soviet, action)
                    .context("encode the council actions")?
            }
            IntentPayload::AddUser(_) => {
                let exists = self.account_exists(intent.username).await?;
                member_actions(
                    self.coopname,
                    &self.contracts,
                    &abis.registrator,
                    &intent.payload,
                    exists,
                )
                .context("encode the adduser actions")?
            }
            IntentPayload::ChangeKey(_) => {
                // the member's account must be on chain first (their adduser confirmed)
                let key = format!("adduser:{}", intent.username);
                if let Some(add) = self.db.intent_by_key(&key).await? {
                    match add.status {
                        IntentStatus::Confirmed => {}
                        IntentStatus::Failed => {
                            self.db
                                .fail_intent(
                                    intent.id,
                                    "the account was not added on chain",
                                    "adduser failed",
                                )
                                .await?;
                            report.failed += 1;
                            return Ok(());
                        }
                        IntentStatus::Pending | IntentStatus::Sent => {
                            anyhow::bail!("waiting for the account to be added on chain")
                        }
                    }
                }
                member_actions(
                    self.coopname,
                    &self.contracts,
                    &abis.registrator,
                    &intent.payload,
                    true,
                )
                .context("encode the changekey action")?
            }
        };
        let info = self.chain.get_info().await.context("get_info")?;
        let head_time: TimePointSec = info
            .head_block_time
            .to_time_point_sec()
            .context("head block time out of range")?;
        let expiration = head_time
            .checked_add_secs(self.config.trx_expiration.as_secs() as u32)
            .context("expiration overflows")?;
        let mut trx = Transaction::with_tapos(
            expiration,
            info.last_irreversible_block_num,
            &info.last_irreversible_block_id,
        );
        trx.actions = actions;
        let digest = trx.signing_digest(&self.chain_id);
        let signature = self
            .keys
            .sign(self.coopname, &digest)
            .await
            .context("sign the transaction")?;
        let signed = SignedTransaction {
            transaction: trx,
            signatures: vec![signature],
            context_free_data: Vec::new(),
        };
        let trx_id = signed.id();
        let expires_at = UNIX_EPOCH + Duration::from_secs(u64::from(expiration.as_unix()));
        // Recorded BEFORE sending: from here on this transaction is the intent's only one
        // until it is included or provably expired.
        if !self
            .db
            .record_intent_trx(intent.id, intent.attempts, &trx_id, expires_at)
            .await?
        {
            return Ok(());
        }
        tracing::info!(intent = intent.id, user = %intent.username, trx = %trx_id,
            attempt = intent.attempts + 1, "Sending the registration transaction");
        match self.chain.send_transaction(&signed.to_packed()).await {
            Ok(_) => {
                self.db.note_intent_trx(&trx_id, "sent", "").await?;
                report.sent += 1;
                self.clear_failures(intent.id);
            }
            Err(e) => match classify(&e) {
                SendFailure::Duplicate => {
                    self.db.note_intent_trx(&trx_id, "sent", "").await?;
                    report.sent += 1;
                }
                SendFailure::Permanent => {
                    let error = format!("{e:#}");
                    tracing::warn!(intent = intent.id, user = %intent.username,
                        "The chain refused the registration: {error}");
                    self.db.note_intent_trx(&trx_id, "rejected", &error).await?;
                    self.db
                        .fail_intent(intent.id, &refusal_reason(&e), &error)
                        .await?;
                    report.failed += 1;
                }
                SendFailure::Transient => {
                    // Unknown outcome: the recorded transaction stays the only one; `follow`
                    // confirms it or waits for its expiry.
                    let error = format!("{e:#}");
                    tracing::warn!(
                        intent = intent.id,
                        "Sending failed, will follow up: {error}"
                    );
                    self.db
                        .note_intent_trx(&trx_id, "send_error", &error)
                        .await?;
                }
            },
        }
        Ok(())
    }

    /// Confirms an included transaction once its block is irreversible in the synced data.
    async fn try_confirm(&self, intent: &Intent, report: &mut PassReport) -> anyhow::Result<bool> {
        let Some((trx_id, block)) = self.db.intent_inclusion(intent.id).await? else {
            return Ok(false);
        };
        let lib = self
            .db
            .checkpoint()
            .await?
            .map_or(0, |c| c.last_irreversible);
        if block > lib {
            // Included but still reversible: wait (a fork may drop it).
            return Ok(true);
        }
        self.db.confirm_intent(intent.id, &trx_id, block).await?;
        tracing::info!(intent = intent.id, user = %intent.username, trx = %trx_id, block,
            "Registration confirmed on chain");
        self.clear_failures(intent.id);
        report.confirmed += 1;
        Ok(true)
    }

    /// Follows a recorded transaction: confirmed, still possible, or expired unincluded.
    async fn follow(&self, intent: &Intent, report: &mut PassReport) -> anyhow::Result<()> {
        let (Some(trx_id), Some(expiration)) = (intent.trx_id, intent.trx_expiration) else {
            anyhow::bail!("sent intent without a transaction");
        };
        // Order matters: the chain's LIB first, then the synced checkpoint, then inclusion.
        let info = self.chain.get_info().await.context("get_info")?;
        let lib_time = info
            .last_irreversible_block_time
            .map(time_point_millis)
            .unwrap_or(0);
        let checkpoint = self.db.checkpoint().await?;
        if self.try_confirm(intent, report).await? {
            return Ok(());
        }
        let expiration_ms = expiration
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let synced = checkpoint.map_or(0, |c| c.block_num);
        // Unincluded for good: an irreversible block at or after the expiration exists, and
        // the synced data covers every block up to it without the transaction.
        if lib_time >= expiration_ms + 1000 && synced >= info.last_irreversible_block_num {
            let delay = backoff(intent.attempts.max(1) as u32, self.config.max_backoff);
            if self.db.expire_intent_trx(intent.id, &trx_id, delay).await? {
                tracing::warn!(intent = intent.id, user = %intent.username, trx = %trx_id,
                    "The registration transaction expired without inclusion; a new one follows");
                report.expired += 1;
            }
        }
        Ok(())
    }
}

/// A refusal reason safe to show: the contract's own check message, or a generic one.
fn refusal_reason(e: &ChainApiError) -> String {
    match e {
        ChainApiError::Leap { name, details, .. } if name == "eosio_assert_message_exception" => {
            let msg = details
                .first()
                .map(|d| d.trim_start_matches("assertion failure with message: "))
                .unwrap_or("");
            format!(
                "Блокчейн отклонил регистрацию: {}",
                msg.chars().take(200).collect::<String>()
            )
        }
        _ => "Блокчейн отклонил регистрацию".into(),
    }
}

fn time_point_millis(t: chain::time::TimePoint) -> i64 {
    t.as_millis()
}

/// Seconds since the epoch of a `SystemTime` (0 before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
