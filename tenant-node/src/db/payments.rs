//! SQL of payments, payment methods and stored registration packages. A registration payment
//! turning PAID commits, in the same transaction, its chain intent (one per payment).

use std::time::{Duration, SystemTime};

use chain::asset::Asset;
use chain::Name;
use thiserror::Error;
use tokio_postgres::Row;

use super::{Db, DbError};
use crate::outbox::RegistrationPackage;
use crate::payments::method::{self, MethodData};
use crate::payments::{
    self, transition, AccountType, Caller, Driver, PaymentError, PaymentId, PaymentKind,
    PaymentStatus, Transition,
};
use crate::registry::Cooperative;

/// Why a payment operation failed: refused (safe to show) or the database.
#[derive(Debug, Error)]
pub enum PaymentsError {
    #[error(transparent)]
    Refused(#[from] PaymentError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for PaymentsError {
    fn from(e: tokio_postgres::Error) -> Self {
        PaymentsError::Db(DbError::Postgres(e))
    }
}

impl From<deadpool_postgres::PoolError> for PaymentsError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PaymentsError::Db(e.into())
    }
}

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    /// Auto-increment order number (the legacy chain `deposit_id`).
    pub order_num: i64,
    pub username: Name,
    pub kind: PaymentKind,
    pub provider: String,
    pub status: PaymentStatus,
    pub amount: Asset,
    pub message: String,
    pub expired_at: SystemTime,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
}

const PAYMENT_COLUMNS: &str =
    "id, order_num, username, kind, provider, status, amount, message, expired_at, created_at, updated_at";

pub(crate) fn payment_from_row(row: &Row) -> Result<Payment, DbError> {
    let corrupt = |what: &str| DbError::Corrupt(format!("payment {what}"));
    Ok(Payment {
        id: PaymentId::parse(row.get(0)).map_err(|_| corrupt("id"))?,
        order_num: row.get(1),
        username: super::name(row.get(2))?,
        kind: row.get::<_, &str>(3).parse().map_err(|_| corrupt("kind"))?,
        provider: row.get(4),
        status: row
            .get::<_, &str>(5)
            .parse()
            .map_err(|_| corrupt("status"))?,
        amount: Asset::parse(row.get(6)).map_err(|_| corrupt("amount"))?,
        message: row.get(7),
        expired_at: row.get(8),
        created_at: row.get(9),
        updated_at: row.get(10),
    })
}

/// What `set_payment_status` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub payment: Payment,
    /// False when the payment already had that status (nothing was written).
    pub changed: bool,
    /// True when this call created the payment's chain intent.
    pub intent_created: bool,
}

/// A payment method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    pub method_id: i64,
    pub username: Name,
    pub is_default: bool,
    pub data: MethodData,
}

/// Filter for [`Db::payments`].
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub username: Option<Name>,
    pub status: Option<PaymentStatus>,
    pub limit: i64,
    pub offset: i64,
}

impl Db {
    /// Stores (or replaces, while not yet paid) a candidate's verified registration package.
    pub async fn save_registration_package(
        &self,
        package: &RegistrationPackage,
    ) -> Result<(), PaymentsError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = serde_json::to_string(&package.statement)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let agreements = serde_json::to_string(&package.agreements)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let n = tx
            .execute(
                "INSERT INTO registration_packages
                   (username, account_type, public_key, braname, referer, statement, agreements)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb)
                 ON CONFLICT (username) DO UPDATE SET account_type = EXCLUDED.account_type,
                   public_key = EXCLUDED.public_key, braname = EXCLUDED.braname,
                   referer = EXCLUDED.referer, statement = EXCLUDED.statement,
                   agreements = EXCLUDED.agreements, updated_at = now()
                 WHERE registration_packages.status = 'stored'",
                &[
                    &package.username.to_string(),
                    &package.account_type.as_str(),
                    &package.public_key.to_string(),
                    &package.braname.to_string(),
                    &package.referer.to_string(),
                    &statement,
                    &agreements,
                ],
            )
            .await?;
        if n == 0 {
            return Err(PaymentError::Invalid(
                "the registration is already paid; its documents can no longer change".into(),
            )
            .into());
        }
        // the user (if the node has one) has joined: documents stored, payment next
        tx.execute(
            "UPDATE users SET status = 'joined', updated_at = now()
             WHERE username = $1 AND status = 'created'",
            &[&package.username.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// This part's view of a candidate: `stored`, `paid`, `registered` or `failed`.
    pub async fn registration_status(&self, username: Name) -> Result<Option<String>, DbError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "SELECT status FROM registration_packages WHERE username = $1",
                &[&username.to_string()],
            )
            .await?
            .map(|r| r.get(0)))
    }

    /// The registration payment of `username` (entrance + minimum share fee from the
    /// cooperative's fees on chain): the live one if there is one, else a new PENDING one.
    pub async fn create_initial_payment(
        &self,
        caller: &Caller,
        coop: &Cooperative,
        username: Name,
        ttl: Duration,
    ) -> Result<Payment, PaymentsError> {
        payments::may_create(caller, username)?;
        let client = self.client().await?;
        let kind: AccountType = client
            .query_opt(
                "SELECT account_type FROM registration_packages WHERE username = $1",
                &[&username.to_string()],
            )
            .await?
            .ok_or(PaymentError::NoPackage)?
            .get::<_, &str>(0)
            .parse()?;
        let amount = payments::registration_amount(coop, kind)?;
        let expired_at = SystemTime::now() + ttl;
        let sql = format!(
            "INSERT INTO payments (id, username, kind, provider, status, amount, expired_at)
             VALUES ($1, $2, 'registration', $3, 'PENDING', $4, $5)
             ON CONFLICT (username) WHERE kind = 'registration'
                AND status IN ('PENDING', 'PAID', 'COMPLETED') DO NOTHING
             RETURNING {PAYMENT_COLUMNS}"
        );
        let id = PaymentId::generate();
        let inserted = client
            .query_opt(
                &sql,
                &[
                    &id.as_str(),
                    &username.to_string(),
                    &payments::qrpay::PROVIDER,
                    &amount.to_string(),
                    &expired_at,
                ],
            )
            .await?;
        if let Some(row) = inserted {
            return Ok(payment_from_row(&row)?);
        }
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE username = $1 AND kind = 'registration'
               AND status IN ('PENDING', 'PAID', 'COMPLETED')"
        );
        let row = client.query_one(&sql, &[&username.to_string()]).await?;
        Ok(payment_from_row(&row)?)
    }

    /// A new PENDING share deposit of `quantity` (the cooperative's symbol and precision).
    pub async fn create_deposit_payment(
        &self,
        caller: &Caller,
        coop: &Cooperative,
        username: Name,
        quantity: &str,
        ttl: Duration,
    ) -> Result<Payment, PaymentsError> {
        payments::may_create(caller, username)?;
        let amount = payments::deposit_amount(quantity, payments::coop_symbol(coop))?;
        let client = self.client().await?;
        let sql = format!(
            "INSERT INTO payments (id, username, kind, provider, status, amount, expired_at)
             VALUES ($1, $2, 'deposit', $3, 'PENDING', $4, $5) RETURNING {PAYMENT_COLUMNS}"
        );
        let row = client
            .query_one(
                &sql,
                &[
                    &PaymentId::generate().as_str(),
                    &username.to_string(),
                    &payments::qrpay::PROVIDER,
                    &amount.to_string(),
                    &(SystemTime::now() + ttl),
                ],
            )
            .await?;
        Ok(payment_from_row(&row)?)
    }

    /// One payment, if `caller` may read it.
    pub async fn payment(&self, caller: &Caller, id: &PaymentId) -> Result<Payment, PaymentsError> {
        let client = self.client().await?;
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
        let p = client
            .query_opt(&sql, &[&id.as_str()])
            .await?
            .map(|r| payment_from_row(&r))
            .transpose()?
            .ok_or(PaymentError::NotFound)?;
        // Somebody else's payment is "not found" for a plain user (no probing of ids).
        payments::may_read(caller, p.username).map_err(|_| PaymentError::NotFound)?;
        Ok(p)
    }

    /// Payments, newest first: a plain user sees only their own.
    pub async fn payments(
        &self,
        caller: &Caller,
        filter: &PaymentFilter,
    ) -> Result<Vec<Payment>, PaymentsError> {
        let username = match filter.username {
            Some(u) => {
                payments::may_read(caller, u)?;
                Some(u)
            }
            None if caller.is_staff() => None,
            None => Some(caller.username),
        };
        let client = self.client().await?;
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments
             WHERE ($1::text IS NULL OR username = $1) AND ($2::text IS NULL OR status = $2)
             ORDER BY order_num DESC LIMIT $3 OFFSET $4"
        );
        let limit = filter.limit.clamp(1, 1000);
        let offset = filter.offset.max(0);
        client
            .query(
                &sql,
                &[
                    &username.map(|u| u.to_string()),
                    &filter.status.map(|s| s.as_str()),
                    &limit,
                    &offset,
                ],
            )
            .await?
            .iter()
            .map(|r| Ok(payment_from_row(r)?))
            .collect()
    }

    /// `setPaymentStatus` by a person (chairman or member, never on their own payment). A
    /// registration payment turning PAID creates its chain intent in the same transaction; a
    /// repeated PAID changes nothing and says so (`changed: false`).
    pub async fn set_payment_status(
        &self,
        caller: &Caller,
        id: &PaymentId,
        to: PaymentStatus,
        message: &str,
    ) -> Result<StatusChange, PaymentsError> {
        if message.chars().count() > 500 {
            return Err(
                PaymentError::Invalid("message must be at most 500 characters".into()).into(),
            );
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE");
        let current = tx
            .query_opt(&sql, &[&id.as_str()])
            .await?
            .map(|r| payment_from_row(&r))
            .transpose()?
            .ok_or(PaymentError::NotFound)?;
        payments::may_set_status(caller, current.username)?;
        if transition(current.status, to, Driver::Person)? == Transition::Unchanged {
            return Ok(StatusChange {
                payment: current,
                changed: false,
                intent_created: false,
            });
        }
        let mut intent_created = false;
        if to == PaymentStatus::Paid && current.kind == PaymentKind::Registration {
            let package = tx
                .query_opt(
                    "SELECT username, account_type, public_key, braname, referer,
                            statement::text, agreements::text
                     FROM registration_packages WHERE username = $1 FOR UPDATE",
                    &[&current.username.to_string()],
                )
                .await?
                .ok_or(PaymentError::NoPackage)?;
            let payload = package_json(&package)?;
            intent_created = tx
                .execute(
                    "INSERT INTO chain_intents (kind, payment_id, username, payload)
                     VALUES ('registration', $1, $2, $3::text::jsonb)
                     ON CONFLICT (payment_id) DO NOTHING",
                    &[&id.as_str(), &current.username.to_string(), &payload],
                )
                .await?
                == 1;
            tx.execute(
                "UPDATE registration_packages SET status = 'paid', updated_at = now()
                 WHERE username = $1",
                &[&current.username.to_string()],
            )
            .await?;
        }
        let updated =
            write_status(&tx, &current, to, &caller.username.to_string(), message).await?;
        tx.commit().await?;
        Ok(StatusChange {
            payment: updated,
            changed: true,
            intent_created,
        })
    }

    /// Expires every PENDING payment whose `expired_at` has passed; returns how many.
    pub async fn expire_due_payments(&self) -> Result<u64, DbError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH expired AS (
                    UPDATE payments SET status = 'EXPIRED', updated_at = now(),
                           message = 'Срок оплаты истёк'
                    WHERE status = 'PENDING' AND expired_at <= now()
                    RETURNING id),
                 logged AS (
                    INSERT INTO payment_events (payment_id, from_status, to_status, actor)
                    SELECT id, 'PENDING', 'EXPIRED', 'system' FROM expired RETURNING 1)
                 SELECT count(*) FROM logged",
                &[],
            )
            .await?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// The status history of a payment: `(from, to, actor)`, oldest first.
    pub async fn payment_events(
        &self,
        id: &PaymentId,
    ) -> Result<Vec<(String, String, String)>, DbError> {
        let client = self.client().await?;
        Ok(client
            .query(
                "SELECT from_status, to_status, actor FROM payment_events
                 WHERE payment_id = $1 ORDER BY at",
                &[&id.as_str()],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Payment methods of `owner`.
    pub async fn payment_methods(
        &self,
        caller: &Caller,
        owner: Name,
        coopname: Name,
    ) -> Result<Vec<PaymentMethod>, PaymentsError> {
        method::may_read(caller, owner, coopname)?;
        let client = self.client().await?;
        client
            .query(
                "SELECT method_id, username, is_default, method_type, data::text
                 FROM payment_methods WHERE username = $1 ORDER BY method_id",
                &[&owner.to_string()],
            )
            .await?
            .iter()
            .map(method_row)
            .collect()
    }

    /// Adds a method for `owner` (the owner only; the cooperative's own: the chairman).
    pub async fn create_payment_method(
        &self,
        caller: &Caller,
        owner: Name,
        coopname: Name,
        data: &MethodData,
        is_default: bool,
    ) -> Result<PaymentMethod, PaymentsError> {
        method::may_write(caller, owner, coopname)?;
        data.validate()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if is_default {
            clear_default(&tx, owner, data.method_type()).await?;
        }
        let row = tx
            .query_one(
                "INSERT INTO payment_methods (username, method_type, is_default, data)
                 VALUES ($1, $2, $3, $4::text::jsonb)
                 RETURNING method_id, username, is_default, method_type, data::text",
                &[
                    &owner.to_string(),
                    &data.method_type(),
                    &is_default,
                    &data.to_json().to_string(),
                ],
            )
            .await?;
        tx.commit().await?;
        method_row(&row)
    }

    /// Replaces a method's data (same type) and default flag; someone else's method is
    /// "not found".
    pub async fn update_payment_method(
        &self,
        caller: &Caller,
        owner: Name,
        coopname: Name,
        method_id: i64,
        data: &MethodData,
        is_default: bool,
    ) -> Result<PaymentMethod, PaymentsError> {
        method::may_write(caller, owner, coopname)?;
        data.validate()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if is_default {
            clear_default(&tx, owner, data.method_type()).await?;
        }
        let row = tx
            .query_opt(
                "UPDATE payment_methods SET data = $4::text::jsonb, is_default = $3,
                        updated_at = now()
                 WHERE method_id = $1 AND username = $2 AND method_type = $5
                 RETURNING method_id, username, is_default, method_type, data::text",
                &[
                    &method_id,
                    &owner.to_string(),
                    &is_default,
                    &data.to_json().to_string(),
                    &data.method_type(),
                ],
            )
            .await?
            .ok_or(PaymentError::MethodNotFound)?;
        tx.commit().await?;
        method_row(&row)
    }

    /// Deletes a method of `owner`; someone else's method is "not found".
    pub async fn delete_payment_method(
        &self,
        caller: &Caller,
        owner: Name,
        coopname: Name,
        method_id: i64,
    ) -> Result<(), PaymentsError> {
        method::may_write(caller, owner, coopname)?;
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM payment_methods WHERE method_id = $1 AND username = $2",
                &[&method_id, &owner.to_string()],
            )
            .await?;
        if n == 0 {
            return Err(PaymentError::MethodNotFound.into());
        }
        Ok(())
    }
}

async fn clear_default(
    tx: &tokio_postgres::Transaction<'_>,
    owner: Name,
    method_type: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE payment_methods SET is_default = false, updated_at = now()
         WHERE username = $1 AND method_type = $2 AND is_default",
        &[&owner.to_string(), &method_type],
    )
    .await
    .map(drop)
}

fn method_row(row: &Row) -> Result<PaymentMethod, PaymentsError> {
    let data: serde_json::Value = serde_json::from_str(row.get(4))
        .map_err(|e| DbError::Corrupt(format!("payment method data: {e}")))?;
    let data = MethodData::parse(row.get(3), &data)
        .map_err(|e| DbError::Corrupt(format!("payment method data: {e}")))?;
    Ok(PaymentMethod {
        method_id: row.get(0),
        username: super::name(row.get(1))?,
        is_default: row.get(2),
        data,
    })
}

/// The intent payload: the package row as JSON (a [`RegistrationPackage`]).
fn package_json(row: &Row) -> Result<String, PaymentsError> {
    let parse = |i: usize| -> Result<serde_json::Value, PaymentsError> {
        serde_json::from_str(row.get(i))
            .map_err(|e| DbError::Corrupt(format!("registration package: {e}")).into())
    };
    let value = serde_json::json!({
        "username": row.get::<_, &str>(0),
        "account_type": row.get::<_, &str>(1),
        "public_key": row.get::<_, &str>(2),
        "braname": row.get::<_, &str>(3),
        "referer": row.get::<_, &str>(4),
        "statement": parse(5)?,
        "agreements": parse(6)?,
    });
    // Refuse a package that would not build a transaction, before anything is committed.
    serde_json::from_value::<RegistrationPackage>(value.clone())
        .map_err(|e| DbError::Corrupt(format!("registration package: {e}")))?;
    Ok(value.to_string())
}

/// Writes a status change and its event (inside the caller's transaction).
pub(crate) async fn write_status(
    tx: &tokio_postgres::Transaction<'_>,
    current: &Payment,
    to: PaymentStatus,
    actor: &str,
    message: &str,
) -> Result<Payment, PaymentsError> {
    let sql = format!(
        "UPDATE payments SET status = $2, message = $3, updated_at = now() WHERE id = $1
         RETURNING {PAYMENT_COLUMNS}"
    );
    let row = tx
        .query_one(&sql, &[&current.id.as_str(), &to.as_str(), &message])
        .await?;
    tx.execute(
        "INSERT INTO payment_events (payment_id, from_status, to_status, actor, message)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &current.id.as_str(),
            &current.status.as_str(),
            &to.as_str(),
            &actor,
            &message,
        ],
    )
    .await?;
    Ok(payment_from_row(&row)?)
}
