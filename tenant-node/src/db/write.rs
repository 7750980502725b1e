//! Storing blocks: one transaction per batch holds the fork undo (if any), the ABI changes,
//! action receipts, row history, current rows, resume positions and the checkpoint, so a crash
//! at any point leaves the database at a block boundary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_postgres::{Object, Transaction};

use crate::batch::Batch;
use crate::db::DbError;

const INSERT_ABIS: &str = "INSERT INTO chain_abis (account, block_num, abi)
    SELECT * FROM unnest($1::text[], $2::int8[], $3::bytea[])
    ON CONFLICT (account, block_num) DO UPDATE SET abi = EXCLUDED.abi";

const INSERT_ACTIONS: &str = "INSERT INTO chain_actions (global_sequence, block_num, block_time,
        trx_id, action_ordinal, creator_action_ordinal, receiver, account, name, auth, data, decoded)
    SELECT gs, bn, bt, trx, ord, cre, rcv, acc, nam, au::jsonb, dat, dec::jsonb
    FROM unnest($1::int8[], $2::int8[], $3::timestamptz[], $4::bytea[], $5::int4[], $6::int4[],
                $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[], $12::text[])
        AS a(gs, bn, bt, trx, ord, cre, rcv, acc, nam, au, dat, dec)
    ON CONFLICT (global_sequence) DO NOTHING";

const INSERT_HISTORY: &str = "INSERT INTO chain_row_history (code, scope, tbl, pk, block_num,
        present, payer, data, decoded)
    SELECT c, s, t, k::numeric, bn, p, py, dat, dec::jsonb
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::bool[],
                $7::text[], $8::bytea[], $9::text[])
        AS r(c, s, t, k, bn, p, py, dat, dec)
    ON CONFLICT (code, scope, tbl, pk, block_num) DO NOTHING";

const UPSERT_CURRENT: &str = "INSERT INTO chain_rows (code, scope, tbl, pk, block_num, payer,
        data, decoded)
    SELECT c, s, t, k::numeric, bn, py, dat, dec::jsonb
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[],
                $7::bytea[], $8::text[])
        AS r(c, s, t, k, bn, py, dat, dec)
    ON CONFLICT (code, scope, tbl, pk) DO UPDATE SET block_num = EXCLUDED.block_num,
        payer = EXCLUDED.payer, data = EXCLUDED.data, decoded = EXCLUDED.decoded";

const DELETE_CURRENT: &str = "DELETE FROM chain_rows c
    USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS d(c, s, t, k)
    WHERE c.code = d.c AND c.scope = d.s AND c.tbl = d.t AND c.pk = d.k::numeric";

const UPSERT_POSITIONS: &str = "INSERT INTO sync_positions (block_num, block_id)
    SELECT * FROM unnest($1::int8[], $2::bytea[])
    ON CONFLICT (block_num) DO UPDATE SET block_id = EXCLUDED.block_id";

const TRIM_POSITIONS: &str = "DELETE FROM sync_positions WHERE block_num < $1";

const UPSERT_CHECKPOINT: &str = "INSERT INTO sync_checkpoint (block_num, block_id,
        last_irreversible)
    VALUES ($1, $2, $3)
    ON CONFLICT (singleton) DO UPDATE SET block_num = EXCLUDED.block_num,
        block_id = EXCLUDED.block_id, last_irreversible = EXCLUDED.last_irreversible,
        updated_at = now()";

/// Undo of every block from $1 on: history and receipts go, current rows of the touched keys
/// are rebuilt from the remaining history.
const ROLLBACK: &[&str] = &[
    "CREATE TEMP TABLE rollback_keys ON COMMIT DROP AS
        SELECT DISTINCT code, scope, tbl, pk FROM chain_row_history WHERE block_num >= $1",
    "DELETE FROM chain_row_history WHERE block_num >= $1",
    "DELETE FROM chain_rows c USING rollback_keys k
        WHERE c.code = k.code AND c.scope = k.scope AND c.tbl = k.tbl AND c.pk = k.pk",
    "INSERT INTO chain_rows (code, scope, tbl, pk, block_num, payer, data, decoded)
        SELECT code, scope, tbl, pk, block_num, payer, data, decoded FROM (
            SELECT DISTINCT ON (h.code, h.scope, h.tbl, h.pk) h.*
            FROM chain_row_history h
            JOIN rollback_keys k USING (code, scope, tbl, pk)
            WHERE h.block_num < $1
            ORDER BY h.code, h.scope, h.tbl, h.pk, h.block_num DESC
        ) latest WHERE present",
    "DELETE FROM chain_actions WHERE block_num >= $1",
    "DELETE FROM chain_abis WHERE block_num >= $1 AND block_num > 0",
    "DELETE FROM sync_positions WHERE block_num >= $1",
];

/// Receipts and rows in one batch above which the connection's encode buffers have grown
/// enough (~0.5 KiB per item, never shrunk) to be worth a fresh connection once at the head.
const GROWN_ITEMS: usize = 512;

/// A connection that stores batches.
#[derive(Debug)]
pub struct Writer {
    client: Object,
    grown: bool,
}

fn to_i64(what: &str, v: u64) -> Result<i64, DbError> {
    i64::try_from(v).map_err(|_| DbError::Range(format!("{what} {v}")))
}

fn block_time(us: i64) -> Result<SystemTime, DbError> {
    u64::try_from(us)
        .ok()
        .and_then(|us| UNIX_EPOCH.checked_add(Duration::from_micros(us)))
        .ok_or_else(|| DbError::Range(format!("block time {us} µs")))
}

impl Writer {
    pub(crate) fn new(client: Object) -> Writer {
        Writer {
            client,
            grown: false,
        }
    }

    /// Whether a large batch went through this connection: its client and connection keep
    /// buffers as large as the largest statement (MiBs while catching up) for as long as it lives.
    pub fn grown(&self) -> bool {
        self.grown
    }

    /// The PostgreSQL server process of this connection (for logs and diagnostics).
    pub async fn backend_pid(&self) -> Result<i32, DbError> {
        Ok(self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0))
    }

    /// Closes the connection (it is not returned to the pool, so its buffers are freed).
    pub(crate) fn close(self) {
        drop(Object::take(self.client));
    }

    /// Stores `batch` and moves the checkpoint to its last block, atomically. A batch without
    /// blocks stores nothing (a fork undo is only committed with its replacement blocks).
    pub async fn commit(&mut self, batch: &Batch) -> Result<(), DbError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let tx = self.client.transaction().await?;
        if let Some(from) = batch.rollback_from {
            rollback(&tx, from).await?;
        }
        insert_abis(&tx, batch).await?;
        insert_actions(&tx, batch).await?;
        insert_rows(&tx, batch).await?;

        let positions = batch.positions_to_keep();
        let nums: Vec<i64> = positions.iter().map(|(n, _)| i64::from(*n)).collect();
        let ids: Vec<&[u8]> = positions.iter().map(|(_, id)| id.0.as_slice()).collect();
        let stmt = tx.prepare_cached(UPSERT_POSITIONS).await?;
        tx.execute(&stmt, &[&nums, &ids]).await?;
        let keep_from = i64::from(last.last_irreversible.min(last.block_num));
        let stmt = tx.prepare_cached(TRIM_POSITIONS).await?;
        tx.execute(&stmt, &[&keep_from]).await?;

        let stmt = tx.prepare_cached(UPSERT_CHECKPOINT).await?;
        tx.execute(
            &stmt,
            &[
                &i64::from(last.block_num),
                &last.block_id.0.as_slice(),
                &i64::from(last.last_irreversible),
            ],
        )
        .await?;
        tx.commit().await?;
        self.grown |= batch.n_actions() + batch.n_rows() > GROWN_ITEMS;
        Ok(())
    }
}

async fn rollback(tx: &Transaction<'_>, from: u32) -> Result<(), DbError> {
    let from = i64::from(from);
    for sql in ROLLBACK {
        if sql.contains("$1") {
            tx.execute(*sql, &[&from]).await?;
        } else {
            tx.execute(*sql, &[]).await?;
        }
    }
    Ok(())
}

async fn insert_abis(tx: &Transaction<'_>, batch: &Batch) -> Result<(), DbError> {
    let mut accounts = Vec::new();
    let mut blocks = Vec::new();
    let mut abis: Vec<&[u8]> = Vec::new();
    for b in &batch.blocks {
        for a in &b.abis {
            accounts.push(a.account.to_string());
            blocks.push(i64::from(b.block_num));
            abis.push(&a.abi);
        }
    }
    if accounts.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare_cached(INSERT_ABIS).await?;
    tx.execute(&stmt, &[&accounts, &blocks, &abis]).await?;
    Ok(())
}

async fn insert_actions(tx: &Transaction<'_>, batch: &Batch) -> Result<(), DbError> {
    let n = batch.n_actions();
    if n == 0 {
        return Ok(());
    }
    let mut gs = Vec::with_capacity(n);
    let mut bn = Vec::with_capacity(n);
    let mut bt = Vec::with_capacity(n);
    let mut trx: Vec<&[u8]> = Vec::with_capacity(n);
    let mut ord = Vec::with_capacity(n);
    let mut cre = Vec::with_capacity(n);
    let mut rcv = Vec::with_capacity(n);
    let mut acc = Vec::with_capacity(n);
    let mut nam = Vec::with_capacity(n);
    let mut auth = Vec::with_capacity(n);
    let mut data: Vec<&[u8]> = Vec::with_capacity(n);
    let mut dec: Vec<Option<&str>> = Vec::with_capacity(n);
    for b in &batch.blocks {
        let time = block_time(b.timestamp_us)?;
        for a in &b.actions {
            gs.push(to_i64("global sequence", a.global_sequence)?);
            bn.push(i64::from(b.block_num));
            bt.push(time);
            trx.push(a.trx_id.0.as_slice());
            ord.push(
                i32::try_from(a.action_ordinal).map_err(|_| DbError::Range("ordinal".into()))?,
            );
            cre.push(
                i32::try_from(a.creator_action_ordinal)
                    .map_err(|_| DbError::Range("creator ordinal".into()))?,
            );
            rcv.push(a.receiver.to_string());
            acc.push(a.account.to_string());
            nam.push(a.name.to_string());
            let levels: Vec<serde_json::Value> = a
                .authorization
                .iter()
                .map(|(actor, perm)| serde_json::json!({"actor": actor, "permission": perm}))
                .collect();
            auth.push(serde_json::Value::Array(levels).to_string());
            data.push(a.data.as_slice());
            dec.push(a.json.as_deref());
        }
    }
    let stmt = tx.prepare_cached(INSERT_ACTIONS).await?;
    tx.execute(
        &stmt,
        &[
            &gs, &bn, &bt, &trx, &ord, &cre, &rcv, &acc, &nam, &auth, &data, &dec,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_rows(tx: &Transaction<'_>, batch: &Batch) -> Result<(), DbError> {
    let n = batch.n_rows();
    if n == 0 {
        return Ok(());
    }
    let (mut c, mut s, mut t, mut k) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut bn, mut p, mut py) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut data: Vec<&[u8]> = Vec::with_capacity(n);
    let mut dec: Vec<Option<&str>> = Vec::with_capacity(n);
    for b in &batch.blocks {
        for r in &b.rows {
            c.push(r.code.to_string());
            s.push(r.scope.to_string());
            t.push(r.table.to_string());
            k.push(r.primary_key.to_string());
            bn.push(i64::from(b.block_num));
            p.push(r.present);
            py.push(r.payer.to_string());
            data.push(r.data.as_slice());
            dec.push(r.json.as_deref());
        }
    }
    let stmt = tx.prepare_cached(INSERT_HISTORY).await?;
    tx.execute(&stmt, &[&c, &s, &t, &k, &bn, &p, &py, &data, &dec])
        .await?;

    let final_rows = batch.final_rows();
    let (present, erased): (Vec<_>, Vec<_>) = final_rows.iter().partition(|(_, r)| r.present);
    if !present.is_empty() {
        let col = |f: fn(&crate::extract::RowRecord) -> String| -> Vec<String> {
            present.iter().map(|(_, r)| f(r)).collect()
        };
        let bn: Vec<i64> = present.iter().map(|(b, _)| i64::from(*b)).collect();
        let data: Vec<&[u8]> = present.iter().map(|(_, r)| r.data.as_slice()).collect();
        let dec: Vec<Option<&str>> = present.iter().map(|(_, r)| r.json.as_deref()).collect();
        let stmt = tx.prepare_cached(UPSERT_CURRENT).await?;
        tx.execute(
            &stmt,
            &[
                &col(|r| r.code.to_string()),
                &col(|r| r.scope.to_string()),
                &col(|r| r.table.to_string()),
                &col(|r| r.primary_key.to_string()),
                &bn,
                &col(|r| r.payer.to_string()),
                &data,
                &dec,
            ],
        )
        .await?;
    }
    if !erased.is_empty() {
        let col = |f: fn(&crate::extract::RowRecord) -> String| -> Vec<String> {
            erased.iter().map(|(_, r)| f(r)).collect()
        };
        let stmt = tx.prepare_cached(DELETE_CURRENT).await?;
        tx.execute(
            &stmt,
            &[
                &col(|r| r.code.to_string()),
                &col(|r| r.scope.to_string()),
                &col(|r| r.table.to_string()),
                &col(|r| r.primary_key.to_string()),
            ],
        )
        .await?;
    }
    Ok(())
}
