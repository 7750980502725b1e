//! SQL of the email outbox: enqueue (idempotent by an optional key), due messages, and the
//! outcome of each delivery attempt.

use std::time::Duration;

use super::{Db, DbError};
use crate::mail::Rendered;

/// A queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub template: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: String,
}

const COLUMNS: &str = "id, template, to_addr, subject, body_text, status, attempts, last_error";

fn queued(row: &tokio_postgres::Row) -> QueuedMail {
    QueuedMail {
        id: row.get(0),
        template: row.get(1),
        to: row.get(2),
        subject: row.get(3),
        body: row.get(4),
        status: row.get(5),
        attempts: row.get(6),
        last_error: row.get(7),
    }
}

impl Db {
    /// Queues a rendered message; with a `dedup_key` already queued, returns that message's id
    /// and queues nothing.
    pub async fn enqueue_mail(
        &self,
        dedup_key: Option<&str>,
        template: &str,
        to: &str,
        mail: &Rendered,
    ) -> Result<i64, DbError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH ins AS (
                    INSERT INTO mail_outbox (dedup_key, template, to_addr, subject, body_text)
                    VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (dedup_key) DO NOTHING RETURNING id)
                 SELECT id FROM ins
                 UNION ALL SELECT id FROM mail_outbox WHERE dedup_key = $1
                 LIMIT 1",
                &[&dedup_key, &template, &to, &mail.subject, &mail.body],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Pending messages whose next attempt is due, oldest first.
    pub async fn due_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, DbError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM mail_outbox
             WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY id LIMIT $1"
        );
        Ok(client
            .query(&sql, &[&limit])
            .await?
            .iter()
            .map(queued)
            .collect())
    }

    /// Every message, oldest first (operators and tests).
    pub async fn mail_outbox(&self) -> Result<Vec<QueuedMail>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM mail_outbox ORDER BY id");
        Ok(client.query(&sql, &[]).await?.iter().map(queued).collect())
    }

    /// The message was handed over (SMTP accepted it, or its file is written).
    pub async fn mail_sent(&self, id: i64) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = now(),
                        last_error = '' WHERE id = $1 AND status = 'pending'",
                &[&id],
            )
            .await?;
        Ok(())
    }

    /// An attempt failed: retry after `delay`, or mark it failed when `give_up`.
    pub async fn mail_attempt_failed(
        &self,
        id: i64,
        error: &str,
        delay: Duration,
        give_up: bool,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2,
                        status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END,
                        next_attempt_at = now() + $3 * interval '1 millisecond'
                 WHERE id = $1 AND status = 'pending'",
                &[&id, &error, &(delay.as_millis() as f64), &give_up],
            )
            .await?;
        Ok(())
    }
}
