//! SQL of the chain-intent outbox: due intents, recording a transaction before it is sent
//! (compare-and-set, so two senders never build two), inclusion seen in the synced actions,
//! and the final outcomes, each committed together with the payment's status (registrations).
//! Council (`decision:<id>`), `adduser:<username>` and `changekey:<token hash>` intents have no
//! payment.

use std::time::{Duration, SystemTime};

use chain::{Checksum256, Name};

use super::payments::{write_status, PaymentsError};
use super::{Db, DbError};
use crate::outbox::{CouncilAction, IntentPayload};
use crate::payments::{transition, Driver, PaymentId, PaymentStatus, Transition};

/// An intent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    Pending,
    Sent,
    Confirmed,
    Failed,
}

impl IntentStatus {
    fn parse(s: &str) -> Result<IntentStatus, DbError> {
        Ok(match s {
            "pending" => IntentStatus::Pending,
            "sent" => IntentStatus::Sent,
            "confirmed" => IntentStatus::Confirmed,
            "failed" => IntentStatus::Failed,
            other => return Err(DbError::Corrupt(format!("intent status {other:?}"))),
        })
    }
}

/// A stored chain intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: i64,
    /// The payment that caused a registration intent (none for council intents).
    pub payment_id: Option<PaymentId>,
    /// The registration's candidate; the decision's candidate for council intents.
    pub username: Name,
    pub payload: IntentPayload,
    pub status: IntentStatus,
    /// Transactions built so far.
    pub attempts: i32,
    pub trx_id: Option<Checksum256>,
    pub trx_expiration: Option<SystemTime>,
    pub confirmed_block: Option<u32>,
    pub last_error: String,
}

const INTENT_COLUMNS: &str = "id, payment_id, username, payload::text, status, attempts, trx_id,
    trx_expiration, confirmed_block, last_error, kind";

fn intent(row: &tokio_postgres::Row) -> Result<Intent, DbError> {
    let text: &str = row.get(3);
    let corrupt = |e: serde_json::Error| DbError::Corrupt(format!("intent payload: {e}"));
    let payload = match row.get::<_, &str>(10) {
        "registration" => IntentPayload::Registration(serde_json::from_str(text).map_err(corrupt)?),
        "council" => IntentPayload::Council(serde_json::from_str(text).map_err(corrupt)?),
        "adduser" => IntentPayload::AddUser(serde_json::from_str(text).map_err(corrupt)?),
        "changekey" => IntentPayload::ChangeKey(serde_json::from_str(text).map_err(corrupt)?),
        other => return Err(DbError::Corrupt(format!("intent kind {other:?}"))),
    };
    Ok(Intent {
        id: row.get(0),
        payment_id: row
            .get::<_, Option<&str>>(1)
            .map(PaymentId::parse)
            .transpose()
            .map_err(|_| DbError::Corrupt("intent payment id".into()))?,
        username: super::name(row.get(2))?,
        payload,
        status: IntentStatus::parse(row.get(4))?,
        attempts: row.get(5),
        trx_id: row
            .get::<_, Option<Vec<u8>>>(6)
            .map(super::checksum)
            .transpose()?,
        trx_expiration: row.get(7),
        confirmed_block: row
            .get::<_, Option<i64>>(8)
            .map(super::block_num)
            .transpose()?,
        last_error: row.get(9),
    })
}

/// A recorded transaction of an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentTrx {
    pub trx_id: Checksum256,
    pub attempt: i32,
    pub outcome: String,
    pub error: String,
}

impl Db {
    /// How many intents are in each state: `[pending, sent, confirmed, failed]`.
    pub async fn intent_counts(&self) -> Result<[i64; 4], DbError> {
        let client = self.client().await?;
        let mut out = [0i64; 4];
        for row in client
            .query(
                "SELECT status, count(*) FROM chain_intents GROUP BY status",
                &[],
            )
            .await?
        {
            let slot = match IntentStatus::parse(row.get(0))? {
                IntentStatus::Pending => 0,
                IntentStatus::Sent => 1,
                IntentStatus::Confirmed => 2,
                IntentStatus::Failed => 3,
            };
            out[slot] = row.get(1);
        }
        Ok(out)
    }

    /// Open intents whose next attempt is due, oldest first.
    pub async fn due_intents(&self, limit: i64) -> Result<Vec<Intent>, DbError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM chain_intents
             WHERE status IN ('pending', 'sent') AND next_attempt_at <= now()
             ORDER BY id LIMIT $1"
        );
        client
            .query(&sql, &[&limit])
            .await?
            .iter()
            .map(intent)
            .collect()
    }

    /// Every intent (newest last), for inspection.
    pub async fn intents(&self) -> Result<Vec<Intent>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {INTENT_COLUMNS} FROM chain_intents ORDER BY id");
        client.query(&sql, &[]).await?.iter().map(intent).collect()
    }

    /// The transactions recorded for an intent, by attempt.
    pub async fn intent_trxs(&self, intent_id: i64) -> Result<Vec<IntentTrx>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT trx_id, attempt, outcome, error FROM chain_intent_trxs
                 WHERE intent_id = $1 ORDER BY attempt",
                &[&intent_id],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(IntentTrx {
                    trx_id: super::checksum(r.get(0))?,
                    attempt: r.get(1),
                    outcome: r.get(2),
                    error: r.get(3),
                })
            })
            .collect()
    }

    /// The council intent of `action`'s decision, created (committed before anything is sent)
    /// unless one exists: concurrent calls create one. Returns the intent and whether it is
    /// new; an existing intent may hold another action (e.g. a decline) — the caller compares.
    pub async fn council_intent(
        &self,
        username: Name,
        action: &CouncilAction,
    ) -> Result<(Intent, bool), DbError> {
        let client = self.client().await?;
        let payload = serde_json::to_string(action)
            .map_err(|e| DbError::Corrupt(format!("council payload: {e}")))?;
        let key = action.intent_key();
        let created = client
            .execute(
                "INSERT INTO chain_intents (kind, username, payload, intent_key)
                 VALUES ('council', $1, $2::text::jsonb, $3) ON CONFLICT (intent_key) DO NOTHING",
                &[&username.to_string(), &payload, &key],
            )
            .await?
            == 1;
        let sql = format!("SELECT {INTENT_COLUMNS} FROM chain_intents WHERE intent_key = $1");
        let row = client.query_one(&sql, &[&key]).await?;
        Ok((intent(&row)?, created))
    }

    /// The intent with `key` (`decision:<id>`, `adduser:<username>`, `changekey:<hash>`).
    pub async fn intent_by_key(&self, key: &str) -> Result<Option<Intent>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {INTENT_COLUMNS} FROM chain_intents WHERE intent_key = $1");
        client
            .query_opt(&sql, &[&key])
            .await?
            .as_ref()
            .map(intent)
            .transpose()
    }

    /// The council intent of decision `decision_id`, if any.
    pub async fn decision_intent(&self, decision_id: u64) -> Result<Option<Intent>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {INTENT_COLUMNS} FROM chain_intents WHERE intent_key = $1");
        client
            .query_opt(&sql, &[&format!("decision:{decision_id}")])
            .await?
            .as_ref()
            .map(intent)
            .transpose()
    }

    /// Records a new transaction for a `pending` intent that has made exactly `attempts`
    /// attempts. False when another sender got there first (nothing written).
    pub async fn record_intent_trx(
        &self,
        intent_id: i64,
        attempts: i32,
        trx_id: &Checksum256,
        expiration: SystemTime,
    ) -> Result<bool, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE chain_intents SET status = 'sent', attempts = attempts + 1,
                        trx_id = $3, trx_expiration = $4, updated_at = now()
                 WHERE id = $1 AND status = 'pending' AND attempts = $2",
                &[
                    &intent_id,
                    &attempts,
                    &trx_id.as_bytes().as_slice(),
                    &expiration,
                ],
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO chain_intent_trxs (trx_id, intent_id, attempt, expiration)
             VALUES ($1, $2, $3, $4)",
            &[
                &trx_id.as_bytes().as_slice(),
                &intent_id,
                &(attempts + 1),
                &expiration,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Notes what happened to a recorded transaction (`sent`, `rejected` …).
    pub async fn note_intent_trx(
        &self,
        trx_id: &Checksum256,
        outcome: &str,
        error: &str,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE chain_intent_trxs SET outcome = $2, error = $3 WHERE trx_id = $1",
                &[&trx_id.as_bytes().as_slice(), &outcome, &error],
            )
            .await?;
        Ok(())
    }

    /// The first synced block holding any transaction recorded for the intent.
    pub async fn intent_inclusion(
        &self,
        intent_id: i64,
    ) -> Result<Option<(Checksum256, u32)>, DbError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT a.trx_id, min(a.block_num) FROM chain_actions a
                 JOIN chain_intent_trxs t ON t.trx_id = a.trx_id
                 WHERE t.intent_id = $1 GROUP BY a.trx_id ORDER BY 2 LIMIT 1",
                &[&intent_id],
            )
            .await?
            .map(|r| Ok((super::checksum(r.get(0))?, super::block_num(r.get(1))?)))
            .transpose()
    }

    /// The recorded transaction expired without inclusion: the intent is `pending` again, its
    /// next attempt after `delay`. False if the intent moved on meanwhile.
    pub async fn expire_intent_trx(
        &self,
        intent_id: i64,
        trx_id: &Checksum256,
        delay: Duration,
    ) -> Result<bool, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE chain_intents SET status = 'pending', trx_id = NULL, trx_expiration = NULL,
                        next_attempt_at = now() + $3 * interval '1 millisecond',
                        updated_at = now()
                 WHERE id = $1 AND status = 'sent' AND trx_id = $2",
                &[&intent_id, &trx_id.as_bytes().as_slice(), &millis(delay)],
            )
            .await?;
        tx.execute(
            "UPDATE chain_intent_trxs SET outcome = 'expired' WHERE trx_id = $1",
            &[&trx_id.as_bytes().as_slice()],
        )
        .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Postpones an intent's next step by `delay`, noting why.
    pub async fn defer_intent(
        &self,
        intent_id: i64,
        delay: Duration,
        error: &str,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE chain_intents SET next_attempt_at = now() + $2 * interval '1 millisecond',
                        last_error = $3, updated_at = now()
                 WHERE id = $1 AND status IN ('pending', 'sent')",
                &[&intent_id, &millis(delay), &error],
            )
            .await?;
        Ok(())
    }

    /// The registration is on chain (irreversibly): intent confirmed, payment COMPLETED,
    /// candidate registered, in one transaction.
    pub async fn confirm_intent(
        &self,
        intent_id: i64,
        trx_id: &Checksum256,
        block_num: u32,
    ) -> Result<(), PaymentsError> {
        self.finish_intent(intent_id, Ok((trx_id, block_num))).await
    }

    /// The chain refused the registration for good: intent failed, payment FAILED with
    /// `reason` (shown to people), candidate failed, in one transaction.
    pub async fn fail_intent(
        &self,
        intent_id: i64,
        reason: &str,
        error: &str,
    ) -> Result<(), PaymentsError> {
        self.finish_intent(intent_id, Err((reason, error))).await
    }

    async fn finish_intent(
        &self,
        intent_id: i64,
        outcome: Result<(&Checksum256, u32), (&str, &str)>,
    ) -> Result<(), PaymentsError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = format!("SELECT {INTENT_COLUMNS} FROM chain_intents WHERE id = $1 FOR UPDATE");
        let current = intent(&tx.query_one(&sql, &[&intent_id]).await?)?;
        if matches!(
            current.status,
            IntentStatus::Confirmed | IntentStatus::Failed
        ) {
            return Ok(());
        }
        let (payment_status, package_status, message) = match outcome {
            Ok((trx_id, block)) => {
                tx.execute(
                    "UPDATE chain_intents SET status = 'confirmed', confirmed_block = $2,
                            updated_at = now() WHERE id = $1",
                    &[&intent_id, &i64::from(block)],
                )
                .await?;
                tx.execute(
                    "UPDATE chain_intent_trxs SET outcome = 'included' WHERE trx_id = $1",
                    &[&trx_id.as_bytes().as_slice()],
                )
                .await?;
                (PaymentStatus::Completed, "registered", "")
            }
            Err((reason, error)) => {
                tx.execute(
                    "UPDATE chain_intents SET status = 'failed', last_error = $2,
                            updated_at = now() WHERE id = $1",
                    &[&intent_id, &error],
                )
                .await?;
                (PaymentStatus::Failed, "failed", reason)
            }
        };
        let Some(payment_id) = &current.payment_id else {
            // A member added on paper is on chain now (login uses the on-chain key) or failed;
            // council and key-change intents: the synced data shows their effect.
            if matches!(current.payload, IntentPayload::AddUser(_)) {
                let status = if outcome.is_ok() {
                    "registered"
                } else {
                    "failed"
                };
                tx.execute(
                    "UPDATE users SET status = $2, updated_at = now()
                     WHERE username = $1 AND status = 'created'",
                    &[&current.username.to_string(), &status],
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(());
        };
        let sql = "SELECT id, order_num, username, kind, provider, status, amount, message,
                          expired_at, created_at, updated_at
                   FROM payments WHERE id = $1 FOR UPDATE";
        let row = tx.query_one(sql, &[&payment_id.as_str()]).await?;
        let payment = super::payments::payment_from_row(&row)?;
        if transition(payment.status, payment_status, Driver::System)? == Transition::Change {
            write_status(&tx, &payment, payment_status, "system", message).await?;
        }
        tx.execute(
            "UPDATE registration_packages SET status = $2, updated_at = now() WHERE username = $1",
            &[&current.username.to_string(), &package_status],
        )
        .await?;
        // the user's lifecycle follows: on chain now (they log in with their account's key),
        // or failed
        tx.execute(
            "UPDATE users SET status = $2, updated_at = now()
             WHERE username = $1 AND status IN ('created', 'joined', 'payed')",
            &[&current.username.to_string(), &package_status],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn millis(d: Duration) -> f64 {
    d.as_millis() as f64
}
