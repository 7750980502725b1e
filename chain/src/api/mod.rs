//! Chain HTTP API client (Leap 5 `/v1/chain/*`): typed requests and responses, timeouts, typed Leap errors.
//!
//! Nothing here retries: a transaction is sent at most once per call (the caller checks inclusion
//! and decides), and reads fail fast so callers choose their own policy.

pub mod types;

use std::time::Duration;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bytes::Unpack;
use crate::name::Name;
use crate::transaction::PackedTransaction;

pub use types::*;

/// Why a chain API call failed.
#[derive(Debug, Error)]
pub enum ChainApiError {
    #[error("invalid chain API base URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{endpoint}: no response within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    #[error("{endpoint}: cannot connect: {message}")]
    Connect { endpoint: String, message: String },
    #[error("{endpoint}: request failed: {message}")]
    Transport { endpoint: String, message: String },
    #[error("{endpoint}: HTTP {status}: {body}")]
    Http {
        endpoint: String,
        status: u16,
        body: String,
    },
    #[error(
        "{endpoint}: Leap error {code} {name}: {what}{}",
        details_suffix(details)
    )]
    Leap {
        endpoint: String,
        http_status: u16,
        code: i64,
        name: String,
        what: String,
        details: Vec<String>,
    },
    #[error("{endpoint}: cannot decode the response: {message}")]
    Decode { endpoint: String, message: String },
    #[error("{endpoint}: more than {max_rows} rows")]
    TooManyRows { endpoint: String, max_rows: usize },
}

fn details_suffix(details: &[String]) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join("; "))
    }
}

impl ChainApiError {
    /// The Leap exception name (`expired_tx_exception`, …) if nodeos reported one.
    pub fn leap_name(&self) -> Option<&str> {
        match self {
            ChainApiError::Leap { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Leap's error body: `{"code": 500, "message": "...", "error": {code, name, what, details}}`.
#[derive(Debug, Deserialize)]
struct LeapErrorBody {
    error: LeapError,
}

#[derive(Debug, Deserialize)]
struct LeapError {
    #[serde(default, deserialize_with = "flex::i64")]
    code: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    details: Vec<LeapErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct LeapErrorDetail {
    #[serde(default)]
    message: String,
}

/// Largest part of an unexpected body kept in an error.
const BODY_EXCERPT: usize = 512;

/// Client for one nodeos HTTP endpoint.
#[derive(Debug, Clone)]
pub struct ChainClient {
    base_url: String,
    timeout: Duration,
    http: reqwest::Client,
}

impl ChainClient {
    /// `base_url` like `http://127.0.0.1:8888`; `timeout` bounds every call end to end.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ChainApiError> {
        let trimmed = base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(trimmed).map_err(|e| ChainApiError::BadUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ChainApiError::BadUrl {
                url: base_url.to_owned(),
                reason: "expected http(s)://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ChainApiError::BadUrl {
                url: base_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(ChainClient {
            base_url: trimmed.to_owned(),
            timeout,
            http,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn get_info(&self) -> Result<GetInfo, ChainApiError> {
        self.call("get_info", &serde_json::json!({})).await
    }

    /// `num_or_id`: a block number or a block id in hex.
    pub async fn get_block(&self, num_or_id: &str) -> Result<GetBlock, ChainApiError> {
        self.call(
            "get_block",
            &serde_json::json!({ "block_num_or_id": num_or_id }),
        )
        .await
    }

    pub async fn get_block_info(&self, block_num: u32) -> Result<GetBlockInfo, ChainApiError> {
        self.call(
            "get_block_info",
            &serde_json::json!({ "block_num": block_num }),
        )
        .await
    }

    /// The account's binary ABI, decoded (`abi: None` when the account has no ABI).
    pub async fn get_raw_abi(&self, account: Name) -> Result<RawAbi, ChainApiError> {
        let endpoint = "get_raw_abi";
        let wire: RawAbiWire = self
            .call(endpoint, &serde_json::json!({ "account_name": account }))
            .await?;
        let decode_err = |message: String| ChainApiError::Decode {
            endpoint: self.url(endpoint),
            message,
        };
        let abi = match wire.abi.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let bytes = BASE64
                    .decode(text)
                    .map_err(|e| decode_err(format!("abi is not base64: {e}")))?;
                if bytes.is_empty() {
                    None
                } else {
                    Some(
                        crate::abi::AbiDef::unpacked(&bytes)
                            .map_err(|e| decode_err(format!("binary abi: {e}")))?,
                    )
                }
            }
        };
        Ok(RawAbi {
            account_name: wire.account_name,
            code_hash: wire.code_hash,
            abi_hash: wire.abi_hash,
            abi,
        })
    }

    /// The account's ABI in JSON form (`None` when the account has none).
    pub async fn get_abi(
        &self,
        account: Name,
    ) -> Result<Option<crate::abi::AbiDef>, ChainApiError> {
        let wire: GetAbiWire = self
            .call("get_abi", &serde_json::json!({ "account_name": account }))
            .await?;
        Ok(wire.abi)
    }

    /// One page of rows.
    pub async fn get_table_rows(
        &self,
        params: &TableRowsParams,
    ) -> Result<TableRows, ChainApiError> {
        self.call("get_table_rows", params).await
    }

    /// Every row from `params`' bounds on, following `more`/`next_key` page by page; fails with
    /// `TooManyRows` rather than returning more than `max_rows` or a silently truncated list.
    pub async fn get_all_table_rows(
        &self,
        params: &TableRowsParams,
        max_rows: usize,
    ) -> Result<Vec<serde_json::Value>, ChainApiError> {
        let mut params = params.clone();
        let mut rows = Vec::new();
        let mut last_key: Option<String> = None;
        loop {
            let page = self.get_table_rows(&params).await?;
            rows.extend(page.rows);
            if rows.len() > max_rows {
                return Err(ChainApiError::TooManyRows {
                    endpoint: self.url("get_table_rows"),
                    max_rows,
                });
            }
            if !page.more || page.next_key.is_empty() {
                return Ok(rows);
            }
            if last_key.as_deref() == Some(page.next_key.as_str()) {
                return Err(ChainApiError::Decode {
                    endpoint: self.url("get_table_rows"),
                    message: format!(
                        "next_key {:?} repeats; paging would not progress",
                        page.next_key
                    ),
                });
            }
            if params.reverse {
                params.upper_bound = Some(page.next_key.clone());
            } else {
                params.lower_bound = Some(page.next_key.clone());
            }
            last_key = Some(page.next_key);
        }
    }

    pub async fn get_account(&self, account: Name) -> Result<Account, ChainApiError> {
        self.call(
            "get_account",
            &serde_json::json!({ "account_name": account }),
        )
        .await
    }

    /// `send_transaction` (sent once, never retried).
    pub async fn send_transaction(
        &self,
        trx: &PackedTransaction,
    ) -> Result<SendTransactionResult, ChainApiError> {
        self.call("send_transaction", trx).await
    }

    /// `push_transaction` (sent once, never retried).
    pub async fn push_transaction(
        &self,
        trx: &PackedTransaction,
    ) -> Result<SendTransactionResult, ChainApiError> {
        self.call("push_transaction", trx).await
    }

    /// `send_transaction2` (sent once by us; `retry_trx` asks nodeos itself to re-broadcast).
    pub async fn send_transaction2(
        &self,
        trx: &PackedTransaction,
        options: SendTransaction2Options,
    ) -> Result<SendTransactionResult, ChainApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            options: SendTransaction2Options,
            transaction: &'a PackedTransaction,
        }
        self.call(
            "send_transaction2",
            &Body {
                options,
                transaction: trx,
            },
        )
        .await
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/v1/chain/{endpoint}", self.base_url)
    }

    /// POSTs `body` as JSON and decodes a 2xx response; everything bounded by the timeout.
    async fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<R, ChainApiError> {
        let url = self.url(endpoint);
        let timeout = self.timeout;
        let exchange = async {
            let response = self.http.post(&url).json(body).send().await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => {
                return Err(ChainApiError::Timeout {
                    endpoint: url,
                    timeout,
                })
            }
            Ok(Err(e)) => return Err(transport_error(url, timeout, e)),
            Ok(Ok(pair)) => pair,
        };
        if !status.is_success() {
            tracing::debug!(%url, status = status.as_u16(), "chain API error response");
            return Err(error_from_body(url, status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| ChainApiError::Decode {
            endpoint: url,
            message: format!("{e}; body starts {:?}", excerpt(&bytes)),
        })
    }
}

/// Standard base64, padding optional (nodeos versions differ).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_EXCERPT)]).into_owned()
}

fn transport_error(endpoint: String, timeout: Duration, e: reqwest::Error) -> ChainApiError {
    if e.is_timeout() {
        ChainApiError::Timeout { endpoint, timeout }
    } else if e.is_connect() {
        ChainApiError::Connect {
            endpoint,
            message: error_chain(&e),
        }
    } else {
        ChainApiError::Transport {
            endpoint,
            message: error_chain(&e),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A Leap error body becomes `Leap`; anything else `Http` with an excerpt of the body.
fn error_from_body(endpoint: String, http_status: u16, bytes: &[u8]) -> ChainApiError {
    match serde_json::from_slice::<LeapErrorBody>(bytes) {
        Ok(LeapErrorBody { error }) if !error.name.is_empty() || error.code != 0 => {
            ChainApiError::Leap {
                endpoint,
                http_status,
                code: error.code,
                name: error.name,
                what: error.what,
                details: error.details.into_iter().map(|d| d.message).collect(),
            }
        }
        _ => ChainApiError::Http {
            endpoint,
            status: http_status,
            body: excerpt(bytes),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_error_body_is_typed() {
        let body = br#"{"code":500,"message":"Internal Service Error","error":{"code":3040005,"name":"expired_tx_exception","what":"Expired Transaction","details":[{"message":"expired transaction 1234","file":"producer_plugin.cpp","line_number":1,"method":"x"}]}}"#;
        match error_from_body("x".into(), 500, body) {
            ChainApiError::Leap {
                http_status,
                code,
                name,
                what,
                details,
                ..
            } => {
                assert_eq!((http_status, code), (500, 3040005));
                assert_eq!(name, "expired_tx_exception");
                assert_eq!(what, "Expired Transaction");
                assert_eq!(details, vec!["expired transaction 1234".to_owned()]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            error_from_body("x".into(), 502, b"<html>bad gateway</html>"),
            ChainApiError::Http { status: 502, .. }
        ));
    }

    #[test]
    fn base64_with_or_without_padding() {
        assert_eq!(BASE64.decode("AAE=").ok(), Some(vec![0, 1]));
        assert_eq!(BASE64.decode("AAE").ok(), Some(vec![0, 1]));
    }
}
