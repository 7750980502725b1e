//! Generated documents, one record per `(doc_hash, username)`: the meta, the private-data
//! snapshot it was generated from (`block_num`, `data_seq`), the HTML and the PDF.

use crate::db::{block_num, Db, DbError};

/// A stored generated document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    /// Uppercase hex SHA-256 of `pdf`.
    pub doc_hash: String,
    pub username: String,
    pub registry_id: u32,
    /// `meta.block_num`: the synced head block the data was read at.
    pub block_num: u32,
    /// The newest private-data version the document saw.
    pub data_seq: i64,
    /// The meta as generated (a JSON object).
    pub meta: serde_json::Value,
    pub full_title: String,
    pub html: String,
    pub pdf: Vec<u8>,
}

const COLUMNS: &str =
    "doc_hash, username, registry_id, block_num, data_seq, meta::text, full_title, html, pdf";
const INSERT_COLUMNS: &str =
    "doc_hash, username, registry_id, block_num, data_seq, meta, full_title, html, pdf";

fn document(row: &tokio_postgres::Row) -> Result<StoredDocument, DbError> {
    let registry_id: i32 = row.get(2);
    Ok(StoredDocument {
        doc_hash: row.get(0),
        username: row.get(1),
        registry_id: u32::try_from(registry_id)
            .map_err(|_| DbError::Corrupt(format!("registry id {registry_id}")))?,
        block_num: block_num(row.get(3))?,
        data_seq: row.get(4),
        meta: super::private::json(row.get(5))?
            .ok_or_else(|| DbError::Corrupt("document without meta".into()))?,
        full_title: row.get(6),
        html: row.get(7),
        pdf: row.get(8),
    })
}

impl Db {
    /// Stores a document unless this member already has one with this hash (the same PDF);
    /// returns the record now stored (the earlier one in that case, whose meta the member may
    /// already have signed).
    pub async fn store_document(&self, doc: &StoredDocument) -> Result<StoredDocument, DbError> {
        let client = self.client().await?;
        let registry_id = i32::try_from(doc.registry_id)
            .map_err(|_| DbError::Range(format!("registry id {}", doc.registry_id)))?;
        let inserted = client
            .query_opt(
                &format!(
                    "INSERT INTO generated_documents ({INSERT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9)
                     ON CONFLICT (doc_hash, username) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &doc.doc_hash,
                    &doc.username,
                    &registry_id,
                    &i64::from(doc.block_num),
                    &doc.data_seq,
                    &doc.meta.to_string(),
                    &doc.full_title,
                    &doc.html,
                    &doc.pdf,
                ],
            )
            .await?;
        match inserted {
            Some(row) => document(&row),
            None => self
                .document(&doc.doc_hash, &doc.username)
                .await?
                .ok_or_else(|| DbError::Corrupt("a conflicting document vanished".into())),
        }
    }

    /// The member's document with this hash.
    pub async fn document(
        &self,
        doc_hash: &str,
        username: &str,
    ) -> Result<Option<StoredDocument>, DbError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM generated_documents
                     WHERE doc_hash = $1 AND username = $2"
                ),
                &[&doc_hash, &username],
            )
            .await?;
        row.as_ref().map(document).transpose()
    }

    /// Every member's record of this hash, by username.
    pub async fn documents_by_hash(&self, doc_hash: &str) -> Result<Vec<StoredDocument>, DbError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM generated_documents WHERE doc_hash = $1
                     ORDER BY username"
                ),
                &[&doc_hash],
            )
            .await?
            .iter()
            .map(document)
            .collect()
    }

    /// The records of these hashes without their HTML and PDF (the document registry's join),
    /// by hash then username.
    pub async fn document_headers(
        &self,
        doc_hashes: &[String],
    ) -> Result<Vec<DocumentHeader>, DbError> {
        if doc_hashes.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        client
            .query(
                "SELECT doc_hash, username, registry_id, block_num, meta::text, full_title
                 FROM generated_documents WHERE doc_hash = ANY($1)
                 ORDER BY doc_hash, username",
                &[&doc_hashes],
            )
            .await?
            .iter()
            .map(|row| {
                let registry_id: i32 = row.get(2);
                Ok(DocumentHeader {
                    doc_hash: row.get(0),
                    username: row.get(1),
                    registry_id: u32::try_from(registry_id)
                        .map_err(|_| DbError::Corrupt(format!("registry id {registry_id}")))?,
                    block_num: block_num(row.get(3))?,
                    meta: super::private::json(row.get(4))?
                        .ok_or_else(|| DbError::Corrupt("document without meta".into()))?,
                    full_title: row.get(5),
                })
            })
            .collect()
    }
}

/// A stored document without its HTML and PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentHeader {
    pub doc_hash: String,
    pub username: String,
    pub registry_id: u32,
    pub block_num: u32,
    pub meta: serde_json::Value,
    pub full_title: String,
}
