//! Reads everything derived from the chain in canonical order (byte-wise `"C"` collation, one
//! repeatable-read snapshot) into a [`Digester`]: the ABI history (without the `get_raw_abi`
//! bootstrap, which depends on when the node started), action receipts by global sequence, the
//! row history and the current rows by key. The registries are views over these tables.

use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::{IsolationLevel, Row};

use crate::db::{Db, DbError};
use crate::digest::{Digester, Field};

const SECTIONS: &[(&str, &str)] = &[
    (
        "chain_abis",
        "SELECT account, block_num, abi FROM chain_abis WHERE block_num > 0
         ORDER BY account COLLATE \"C\", block_num",
    ),
    (
        "chain_actions",
        "SELECT global_sequence, block_num,
                (extract(epoch FROM block_time) * 1000000)::bigint,
                trx_id, action_ordinal::bigint, creator_action_ordinal::bigint,
                receiver, account, name, auth::text, data, decoded::text
         FROM chain_actions ORDER BY global_sequence",
    ),
    (
        "chain_row_history",
        "SELECT code, scope, tbl, pk::text, block_num, present, payer, data, decoded::text
         FROM chain_row_history
         ORDER BY code COLLATE \"C\", scope COLLATE \"C\", tbl COLLATE \"C\", pk, block_num",
    ),
    (
        "chain_rows",
        "SELECT code, scope, tbl, pk::text, block_num, payer, data, decoded::text
         FROM chain_rows
         ORDER BY code COLLATE \"C\", scope COLLATE \"C\", tbl COLLATE \"C\", pk",
    ),
];

/// The digest of the chain-derived data and the number of records it covers.
pub async fn digest(db: &Db) -> Result<(String, u64), DbError> {
    let mut client = db.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut d = Digester::new();
    for (name, sql) in SECTIONS {
        d.section(name);
        let rows = tx.query_raw(*sql, std::iter::empty::<i32>()).await?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            record(&mut d, &row)?;
        }
    }
    tx.commit().await?;
    let records = d.records();
    Ok((d.finish(), records))
}

/// One column value, owned.
enum Value {
    Null,
    Text(String),
    Json(String),
    Int(i64),
    Bytes(Vec<u8>),
    Bool(bool),
}

impl Value {
    fn field(&self) -> Field<'_> {
        match self {
            Value::Null => Field::Null,
            Value::Text(t) => Field::Text(t),
            Value::Json(j) => Field::Json(j),
            Value::Int(i) => Field::Int(*i),
            Value::Bytes(b) => Field::Bytes(b),
            Value::Bool(b) => Field::Bool(*b),
        }
    }
}

/// Adds a row, mapping each column by its type (`auth` and `decoded` hold JSON text).
fn record(d: &mut Digester, row: &Row) -> Result<(), DbError> {
    use tokio_postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let t = col.type_();
        let value = if *t == Type::TEXT {
            let json = matches!(col.name(), "auth" | "decoded");
            match row.try_get::<_, Option<String>>(i)? {
                None => Value::Null,
                Some(s) if json => Value::Json(s),
                Some(s) => Value::Text(s),
            }
        } else if *t == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?
                .map_or(Value::Null, Value::Int)
        } else if *t == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?
                .map_or(Value::Null, Value::Bytes)
        } else if *t == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map_or(Value::Null, Value::Bool)
        } else {
            return Err(DbError::Corrupt(format!("digest: column type {t}")));
        };
        values.push(value);
    }
    let fields: Vec<Field<'_>> = values.iter().map(Value::field).collect();
    d.record(&fields);
    Ok(())
}
