//! SQL of members added on paper and of key tokens: `addParticipant` commits the user, their
//! private data, the `adduser` chain intent, the invitation token and its mail in ONE
//! transaction; a key reset stores its token with its mail; `resetKey` consumes a token (row
//! locked: a second use or an expired token is refused), stores the new key and, for an
//! account on chain, commits the `changekey` intent, again in one transaction. Only the
//! tokens' SHA-256 is stored.

use std::time::Duration;

use chain::Name;
use thiserror::Error;

use super::{Db, DbError};
use crate::mail::Rendered;
use crate::outbox::{AddUser, ChangeKey};
use crate::paperwork::private::PrivateKind;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Invitation,
    KeyReset,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invitation => "invitation",
            TokenPurpose::KeyReset => "key_reset",
        }
    }
}

/// A queued mail carrying a token.
#[derive(Debug, Clone)]
pub struct TokenMail<'a> {
    pub token_hash: &'a [u8; 32],
    pub ttl: Duration,
    pub to: &'a str,
    pub mail: &'a Rendered,
}

/// A member added on paper, as committed.
#[derive(Debug, Clone)]
pub struct NewParticipant<'a> {
    pub email: &'a str,
    pub private_kind: PrivateKind,
    pub private_data: &'a serde_json::Value,
    pub add: &'a AddUser,
}

/// Why a write of this module was refused (nothing was written).
#[derive(Debug, Error)]
pub enum InvitationError {
    #[error("the username or the email is already taken")]
    Taken,
    #[error("the token is not known")]
    UnknownToken,
    #[error("the token was already used")]
    UsedToken,
    #[error("the token has expired")]
    ExpiredToken,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for InvitationError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            InvitationError::Taken
        } else {
            InvitationError::Db(DbError::Postgres(e))
        }
    }
}

/// What consuming a token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub username: Name,
    pub purpose: TokenPurpose,
    /// The id of the `changekey` intent, when the account is on chain (or being added).
    pub changekey_intent: Option<i64>,
}

fn millis(d: Duration) -> f64 {
    d.as_millis() as f64
}

async fn insert_token_mail(
    tx: &tokio_postgres::Transaction<'_>,
    username: &str,
    purpose: TokenPurpose,
    m: &TokenMail<'_>,
) -> Result<(), InvitationError> {
    tx.execute(
        "INSERT INTO key_tokens (token_hash, username, purpose, expires_at)
         VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')",
        &[
            &m.token_hash.as_slice(),
            &username,
            &purpose.as_str(),
            &millis(m.ttl),
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO mail_outbox (template, to_addr, subject, body_text)
         VALUES ($1, $2, $3, $4)",
        &[
            &match purpose {
                TokenPurpose::Invitation => "invitation",
                TokenPurpose::KeyReset => "key_reset",
            },
            &m.to,
            &m.mail.subject,
            &m.mail.body,
        ],
    )
    .await?;
    Ok(())
}

impl Db {
    /// `addParticipant`: the user (`created`, no key yet), their private data, the `adduser`
    /// intent, the invitation token and its mail, in one transaction.
    pub async fn add_participant(
        &self,
        p: &NewParticipant<'_>,
        invitation: &TokenMail<'_>,
    ) -> Result<i64, InvitationError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let username = p.add.username.to_string();
        tx.execute(
            "INSERT INTO users (username, email, public_key, status, account_type, referer)
             VALUES ($1, $2, NULL, 'created', $3, $4)",
            &[
                &username,
                &p.email,
                &p.add.account_type.as_str(),
                &(!p.add.referer.is_empty()).then(|| p.add.referer.to_string()),
            ],
        )
        .await?;
        tx.execute(super::private::LOCK, &[]).await?;
        let block = super::private::head_block(&tx).await?;
        tx.execute(
            "INSERT INTO private_data (kind, subject, block_num, data)
             VALUES ($1, $2, $3, $4::text::jsonb)",
            &[
                &p.private_kind.as_str(),
                &username,
                &i64::from(block),
                &p.private_data.to_string(),
            ],
        )
        .await?;
        let payload = serde_json::to_string(p.add)
            .map_err(|e| DbError::Corrupt(format!("adduser payload: {e}")))?;
        let row = tx
            .query_one(
                "INSERT INTO chain_intents (kind, username, payload, intent_key)
                 VALUES ('adduser', $1, $2::text::jsonb, $3) RETURNING id",
                &[&username, &payload, &p.add.intent_key()],
            )
            .await?;
        insert_token_mail(&tx, &username, TokenPurpose::Invitation, invitation).await?;
        tx.commit().await?;
        Ok(row.get(0))
    }

    /// A key reset of `username`: the token and its mail, in one transaction.
    pub async fn queue_key_reset(
        &self,
        username: Name,
        reset: &TokenMail<'_>,
    ) -> Result<(), InvitationError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        insert_token_mail(&tx, &username.to_string(), TokenPurpose::KeyReset, reset).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `resetKey`: consumes the token (locked; used or expired tokens are refused), revokes the
    /// user's other open tokens, stores `public_key` (as `PUB_K1_…`) and, when the account is
    /// on chain or being added (`adduser` intent), commits the `changekey` intent, all in one
    /// transaction.
    pub async fn consume_key_token(
        &self,
        token_hash: &[u8; 32],
        change: impl FnOnce(Name) -> ChangeKey,
    ) -> Result<Consumed, InvitationError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT t.username, t.purpose, t.used_at IS NOT NULL, t.expires_at <= now(),
                        u.status
                 FROM key_tokens t JOIN users u ON u.username = t.username
                 WHERE t.token_hash = $1 FOR UPDATE OF t, u",
                &[&token_hash.as_slice()],
            )
            .await?
        else {
            return Err(InvitationError::UnknownToken);
        };
        let (username, purpose, used, expired, status): (String, String, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if used {
            return Err(InvitationError::UsedToken);
        }
        if expired || status == "blocked" {
            return Err(InvitationError::ExpiredToken);
        }
        let purpose = match purpose.as_str() {
            "invitation" => TokenPurpose::Invitation,
            "key_reset" => TokenPurpose::KeyReset,
            other => return Err(DbError::Corrupt(format!("token purpose {other:?}")).into()),
        };
        let name = super::name(username.clone())?;
        let change = change(name);
        tx.execute(
            "UPDATE key_tokens SET used_at = now() WHERE username = $1 AND used_at IS NULL",
            &[&username],
        )
        .await?;
        tx.execute(
            "UPDATE users SET public_key = $2, updated_at = now() WHERE username = $1",
            &[&username, &change.public_key.to_string()],
        )
        .await?;
        let adding = tx
            .query_opt(
                "SELECT 1 FROM chain_intents WHERE intent_key = $1 AND status <> 'failed'",
                &[&format!("adduser:{username}")],
            )
            .await?
            .is_some();
        let changekey_intent = if adding || matches!(status.as_str(), "registered" | "active") {
            let payload = serde_json::to_string(&change)
                .map_err(|e| DbError::Corrupt(format!("changekey payload: {e}")))?;
            let key = format!("changekey:{}", hex::encode(token_hash));
            let row = tx
                .query_one(
                    "INSERT INTO chain_intents (kind, username, payload, intent_key)
                     VALUES ('changekey', $1, $2::text::jsonb, $3) RETURNING id",
                    &[&username, &payload, &key],
                )
                .await?;
            Some(row.get(0))
        } else {
            None
        };
        tx.commit().await?;
        Ok(Consumed {
            username: name,
            purpose,
            changekey_intent,
        })
    }
}
