//! `ChainError`: why a request or transaction was refused, with the Leap exception code, name
//! and `what` text that the HTTP API puts into its error JSON.

use thiserror::Error;

use chain::Name;

/// A refused request or transaction (no state was changed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    #[error("expired transaction: {0}")]
    Expired(String),
    #[error("transaction expiration too far: {0}")]
    ExpirationTooFar(String),
    #[error("invalid reference block: {0}")]
    InvalidRefBlock(String),
    #[error("duplicate transaction {0}")]
    Duplicate(String),
    #[error("transaction has no actions")]
    NoActions,
    #[error("unsatisfied authorization: {0}")]
    UnsatisfiedAuthorization(String),
    #[error("missing authority of {0}")]
    MissingAuth(Name),
    #[error("irrelevant signature: {0}")]
    IrrelevantSignature(String),
    #[error("duplicate signature")]
    DuplicateSignature,
    #[error("no ABI for {0}")]
    AbiNotFound(Name),
    #[error("cannot decode: {0}")]
    Unpack(String),
    #[error("invalid ABI: {0}")]
    InvalidAbi(String),
    #[error("account {0} already exists")]
    AccountExists(Name),
    #[error("invalid action arguments: {0}")]
    InvalidActionArgs(String),
    #[error("assertion failure with message: {0}")]
    Assert(String),
    #[error("unknown account {0}")]
    UnknownAccount(Name),
    #[error("unknown block {0}")]
    UnknownBlock(String),
    #[error("invalid permission: {0}")]
    InvalidPermission(String),
    #[error("inline action depth exceeds {0}")]
    TooDeep(u32),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("table query: {0}")]
    TableQuery(String),
    #[error("the devchain is shutting down")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ChainError {
    /// `(code, name, what)` as Leap reports it.
    pub fn leap(&self) -> (i64, &'static str, &'static str) {
        use ChainError::*;
        match self {
            Expired(_) => (3040005, "expired_tx_exception", "Expired Transaction"),
            ExpirationTooFar(_) => (
                3040006,
                "tx_exp_too_far_exception",
                "Transaction Expiration Too Far",
            ),
            InvalidRefBlock(_) => (
                3040007,
                "invalid_ref_block_exception",
                "Invalid Reference Block",
            ),
            Duplicate(_) => (3040008, "tx_duplicate", "Duplicate transaction"),
            NoActions => (
                3040002,
                "tx_no_action",
                "Transaction should have at least one normal action",
            ),
            UnsatisfiedAuthorization(_) => (
                3090003,
                "unsatisfied_authorization",
                "Provided keys, permissions, and delays do not satisfy declared authorizations",
            ),
            MissingAuth(_) => (
                3090004,
                "missing_auth_exception",
                "Missing required authority",
            ),
            IrrelevantSignature(_) => (
                3090002,
                "tx_irrelevant_sig",
                "Irrelevant signature included",
            ),
            DuplicateSignature => (3090001, "tx_duplicate_sig", "Duplicate signature included"),
            AbiNotFound(_) => (3015001, "abi_not_found_exception", "No ABI found"),
            Unpack(_) => (3015013, "unpack_exception", "Unpack data exception"),
            InvalidAbi(_) => (3015000, "abi_exception", "ABI exception"),
            AccountExists(_) => (
                3050001,
                "account_name_exists_exception",
                "Account name already exists",
            ),
            InvalidActionArgs(_) => (
                3050002,
                "invalid_action_args_exception",
                "Invalid Action Arguments",
            ),
            Assert(_) => (
                3050003,
                "eosio_assert_message_exception",
                "eosio_assert_message assertion failure",
            ),
            UnknownAccount(_) => (
                3060002,
                "account_query_exception",
                "Account Query Exception",
            ),
            UnknownBlock(_) => (3100002, "unknown_block_exception", "Unknown block"),
            InvalidPermission(_) => (3090007, "invalid_permission", "Invalid Permission"),
            TooDeep(_) => (
                3080003,
                "transaction_exception",
                "Max inline action depth per transaction reached",
            ),
            BadRequest(_) => (3200006, "invalid_http_request", "invalid http request"),
            TableQuery(_) => (
                3060003,
                "contract_table_query_exception",
                "Contract Table Query Exception",
            ),
            Unavailable => (3200000, "http_exception", "http exception"),
            Internal(_) => (3000000, "chain_exception", "blockchain exception"),
        }
    }

    /// The HTTP status Leap uses for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ChainError::BadRequest(_) => 400,
            ChainError::Unavailable => 503,
            _ => 500,
        }
    }

    /// Leap's error body: `{"code", "message", "error": {code, name, what, details}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let (code, name, what) = self.leap();
        let status = self.http_status();
        let message = match status {
            400 => "Invalid Request",
            503 => "Service Unavailable",
            _ => "Internal Service Error",
        };
        serde_json::json!({
            "code": status,
            "message": message,
            "error": {
                "code": code,
                "name": name,
                "what": what,
                "details": [{
                    "message": self.to_string(),
                    "file": "devchain",
                    "line_number": 0,
                    "method": name,
                }],
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_shape() {
        let json = ChainError::Expired("at 2025".into()).to_json();
        assert_eq!(json["code"], 500);
        assert_eq!(json["error"]["code"], 3040005);
        assert_eq!(json["error"]["name"], "expired_tx_exception");
        assert_eq!(json["error"]["what"], "Expired Transaction");
    }
}
