//! The chain-intent outbox: effects on the chain committed in the database together with their
//! cause (a registration payment turning PAID), then sent exactly once by the [`sender`].
//!
//! This file is the pure part: the registration package, the actions of the registration
//! transaction (`registrator::newaccount` if the account does not exist, `registrator::reguser`,
//! `gateway::incomplete`, one `soviet::sndagreement` per agreement, all as `coopname@active`),
//! the council actions (`soviet::authorize` + `exec`, `soviet::declinedec`), the actions of
//! members added on paper (`registrator::newaccount` + `adduser`) and of key changes
//! (`registrator::changekey`), the classification
//! of chain errors and the retry backoff.
//!
//! Exactly-once rule: a transaction is recorded (id + expiration) BEFORE it is sent; while it may
//! still be included, no other transaction is built for the intent. A new one is built only after
//! the chain's last irreversible block is past its expiration and the synced data (covering that
//! block) does not contain it. Confirmation is its inclusion in an irreversible synced block.

pub mod custody_key;
pub mod sender;

use std::time::Duration;

use chain::abi::Abi;
use chain::api::ChainApiError;
use chain::bytes::Bytes;
use chain::document::Document2;
use chain::keys::PublicKey;
use chain::transaction::{Action, PermissionLevel};
use chain::Name;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Contracts;
use crate::payments::AccountType;

/// One signed agreement of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// `wallet`, `signature`, `privacy`, `user`.
    pub agreement_type: Name,
    pub document: Document2,
}

/// A candidate's verified registration documents, stored by registerParticipant and sent when
/// the registration payment is PAID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationPackage {
    pub username: Name,
    #[serde(with = "account_type")]
    pub account_type: AccountType,
    pub public_key: PublicKey,
    /// Empty unless the cooperative is branched.
    #[serde(default)]
    pub braname: Name,
    #[serde(default)]
    pub referer: Name,
    pub statement: Document2,
    pub agreements: Vec<Agreement>,
}

mod account_type {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::payments::AccountType;

    pub(super) fn serialize<S: Serializer>(v: &AccountType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AccountType, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `registration_hash = sha256(username)` (hex of the UTF-8 name).
pub fn registration_hash(username: Name) -> chain::Checksum256 {
    chain::coop::registration_hash(username)
}

/// The ABIs the registration transaction is encoded with.
#[derive(Debug, Clone)]
pub struct RegistrationAbis {
    pub registrator: Abi,
    pub gateway: Abi,
    pub soviet: Abi,
}

/// One action of `account` named `name` (a static name), its data encoded with `abi`,
/// authorized by `coopname@active`.
fn coop_action(
    coopname: Name,
    account: Name,
    abi: &Abi,
    name: &str,
    data: &serde_json::Value,
) -> Result<Action, chain::abi::AbiError> {
    let name = Name::parse(name).expect("static action name");
    Ok(Action {
        account,
        name,
        authorization: vec![PermissionLevel::new(
            coopname,
            Name::parse("active").expect("static permission name"),
        )],
        data: Bytes(abi.encode_action(name, data)?),
    })
}

/// The actions of the registration transaction, in order, all authorized by `coopname@active`.
pub fn registration_actions(
    coopname: Name,
    contracts: &Contracts,
    abis: &RegistrationAbis,
    package: &RegistrationPackage,
    account_exists: bool,
) -> Result<Vec<Action>, chain::abi::AbiError> {
    let act = |account: Name, abi: &Abi, name: &str, data: serde_json::Value| {
        coop_action(coopname, account, abi, name, &data)
    };
    let hash = registration_hash(package.username);
    let mut actions = Vec::with_capacity(3 + package.agreements.len());
    if !account_exists {
        actions.push(act(
            contracts.registrator,
            &abis.registrator,
            "newaccount",
            json!({"coopname": coopname, "referer": package.referer,
                   "username": package.username, "public_key": package.public_key, "meta": ""}),
        )?);
    }
    actions.push(act(
        contracts.registrator,
        &abis.registrator,
        "reguser",
        json!({"coopname": coopname, "braname": package.braname, "username": package.username,
               "type": package.account_type.as_str(), "statement": package.statement,
               "registration_hash": hash}),
    )?);
    actions.push(act(
        contracts.gateway,
        &abis.gateway,
        "incomplete",
        json!({"coopname": coopname, "income_hash": hash}),
    )?);
    for agreement in &package.agreements {
        actions.push(act(
            contracts.soviet,
            &abis.soviet,
            "sndagreement",
            json!({"coopname": coopname, "administrator": coopname,
                   "username": package.username, "agreement_type": agreement.agreement_type,
                   "document": agreement.document}),
        )?);
    }
    Ok(actions)
}

/// A council action the node sends with the cooperative's key for the chairman.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CouncilAction {
    /// `soviet::authorize` with the chairman's signed decision document, then `soviet::exec`.
    Authorize {
        decision_id: u64,
        chairman: Name,
        document: Document2,
    },
    /// `soviet::declinedec`.
    Decline { decision_id: u64 },
}

impl CouncilAction {
    pub fn decision_id(&self) -> u64 {
        match self {
            CouncilAction::Authorize { decision_id, .. }
            | CouncilAction::Decline { decision_id } => *decision_id,
        }
    }

    /// The intent key: one council intent per decision, whichever action came first.
    pub fn intent_key(&self) -> String {
        format!("decision:{}", self.decision_id())
    }
}

/// A member added on paper (`addParticipant`): `registrator::newaccount` (if the account does
/// not exist; its keys are the cooperative's own until the member sets theirs with a
/// `changekey`) and `registrator::adduser`. One per user (`adduser:<username>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddUser {
    pub username: Name,
    #[serde(with = "account_type")]
    pub account_type: AccountType,
    #[serde(default)]
    pub referer: Name,
    /// The key the new account is created with: the cooperative's active key.
    pub placeholder_key: PublicKey,
    pub created_at: chain::time::TimePointSec,
    pub initial: chain::asset::Asset,
    pub minimum: chain::asset::Asset,
    pub spread_initial: bool,
}

impl AddUser {
    pub fn intent_key(&self) -> String {
        format!("adduser:{}", self.username)
    }
}

/// A member's new key (`resetKey`): `registrator::changekey`. One per consumed token
/// (`changekey:<token hash>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeKey {
    pub username: Name,
    pub public_key: PublicKey,
}

/// What an intent's transaction is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentPayload {
    Registration(RegistrationPackage),
    Council(CouncilAction),
    AddUser(AddUser),
    ChangeKey(ChangeKey),
}

impl IntentPayload {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            IntentPayload::Registration(_) => "registration",
            IntentPayload::Council(_) => "council",
            IntentPayload::AddUser(_) => "adduser",
            IntentPayload::ChangeKey(_) => "changekey",
        }
    }
}

/// The actions of an `adduser` or `changekey` intent, all authorized by `coopname@active`.
pub fn member_actions(
    coopname: Name,
    contracts: &Contracts,
    registrator: &Abi,
    payload: &IntentPayload,
    account_exists: bool,
) -> Result<Vec<Action>, chain::abi::AbiError> {
    let act = |name: &str, data: serde_json::Value| {
        coop_action(coopname, contracts.registrator, registrator, name, &data)
    };
    match payload {
        IntentPayload::AddUser(a) => {
            let mut actions = Vec::with_capacity(2);
            if !account_exists {
                actions.push(act(
                    "newaccount",
                    json!({"coopname": coopname, "referer": a.referer, "username": a.username,
                           "public_key": a.placeholder_key, "meta": ""}),
                )?);
            }
            actions.push(act(
                "adduser",
                json!({"coopname": coopname, "referer": a.referer, "username": a.username,
                       "type": a.account_type.as_str(), "created_at": a.created_at,
                       "initial": a.initial, "minimum": a.minimum,
                       "spread_initial": a.spread_initial, "meta": "",
                       "registration_hash": registration_hash(a.username)}),
            )?);
            Ok(actions)
        }
        IntentPayload::ChangeKey(c) => Ok(vec![act(
            "changekey",
            json!({"coopname": coopname, "changer": coopname, "username": c.username,
                   "public_key": c.public_key}),
        )?]),
        IntentPayload::Registration(_) | IntentPayload::Council(_) => Ok(Vec::new()),
    }
}

/// The actions of a council intent, all authorized by `coopname@active`.
pub fn council_actions(
    coopname: Name,
    contracts: &Contracts,
    soviet: &Abi,
    action: &CouncilAction,
) -> Result<Vec<Action>, chain::abi::AbiError> {
    let act = |name: &str, data: serde_json::Value| {
        coop_action(coopname, contracts.soviet, soviet, name, &data)
    };
    match action {
        CouncilAction::Authorize {
            decision_id,
            chairman,
            document,
        } => Ok(vec![
            act(
                "authorize",
                json!({"coopname": coopname, "chairman": chairman, "decision_id": decision_id,
                       "document": document, "permission": "active"}),
            )?,
            act(
                "exec",
                json!({"executer": chairman, "coopname": coopname, "decision_id": decision_id}),
            )?,
        ]),
        CouncilAction::Decline { decision_id } => Ok(vec![act(
            "declinedec",
            json!({"coopname": coopname, "decision_id": decision_id}),
        )?]),
    }
}

/// What a failed send means for the intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The chain refused the transaction for a reason that will not change (a contract check,
    /// authorization, bad data): it was not included; the intent fails.
    Permanent,
    /// The node already has this transaction.
    Duplicate,
    /// Unknown outcome or a passing condition (timeout, connection, resources, expired): the
    /// transaction may or may not be in a block; wait for inclusion or expiry.
    Transient,
}

/// Classifies a `send_transaction` error.
pub fn classify(e: &ChainApiError) -> SendFailure {
    match e {
        ChainApiError::Leap { name, .. } => match name.as_str() {
            "tx_duplicate" => SendFailure::Duplicate,
            "eosio_assert_message_exception"
            | "eosio_assert_code_exception"
            | "unsatisfied_authorization"
            | "missing_auth_exception"
            | "irrelevant_auth_exception"
            | "invalid_action_args_exception"
            | "account_name_exists_exception"
            | "unpack_exception"
            | "abi_not_found_exception"
            | "action_validate_exception"
            | "tx_no_auths"
            | "invalid_permission" => SendFailure::Permanent,
            _ => SendFailure::Transient,
        },
        _ => SendFailure::Transient,
    }
}

/// Backoff before attempt `n` (1-based) after a transient failure: 1 s doubling, capped at
/// `max`.
pub fn backoff(n: u32, max: Duration) -> Duration {
    let secs = 1u64
        .checked_shl(n.saturating_sub(1).min(20))
        .unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let max = Duration::from_secs(300);
        assert_eq!(backoff(1, max), Duration::from_secs(1));
        assert_eq!(backoff(2, max), Duration::from_secs(2));
        assert_eq!(backoff(5, max), Duration::from_secs(16));
        assert_eq!(backoff(50, max), max);
    }

    #[test]
    fn chain_errors_are_classified() {
        let leap = |name: &str| ChainApiError::Leap {
            endpoint: "send_transaction".into(),
            http_status: 500,
            code: 1,
            name: name.into(),
            what: String::new(),
            details: vec![],
        };
        assert_eq!(
            classify(&leap("eosio_assert_message_exception")),
            SendFailure::Permanent
        );
        assert_eq!(classify(&leap("tx_duplicate")), SendFailure::Duplicate);
        assert_eq!(
            classify(&leap("expired_tx_exception")),
            SendFailure::Transient
        );
        assert_eq!(
            classify(&leap("ram_usage_exceeded")),
            SendFailure::Transient
        );
        let timeout = ChainApiError::Timeout {
            endpoint: "send_transaction".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(classify(&timeout), SendFailure::Transient);
    }
}
