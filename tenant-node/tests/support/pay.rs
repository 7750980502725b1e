//! Payment and registration fixtures: a candidate's signed registration package (statement and
//! four agreements, signed with the candidate's own key as a real client does), and callers.

use chain::keys::PrivateKey;
use tenant_node::outbox::{Agreement, RegistrationPackage};
use tenant_node::payments::{AccountType, Caller, Role};

use super::chain::{n, signed_document};

/// The package registerParticipant would store for `username` with `key`.
pub fn package(username: &str, key: &PrivateKey, account_type: AccountType) -> RegistrationPackage {
    RegistrationPackage {
        username: n(username),
        account_type,
        public_key: key.public_key(),
        braname: Default::default(),
        referer: Default::default(),
        statement: signed_document(100, username, username, key),
        agreements: ["wallet", "signature", "privacy", "user"]
            .iter()
            .enumerate()
            .map(|(i, kind)| Agreement {
                agreement_type: n(kind),
                document: signed_document(1 + i as u64, username, username, key),
            })
            .collect(),
    }
}

pub fn caller(username: &str, role: Role) -> Caller {
    Caller {
        username: n(username),
        role,
    }
}

pub fn member() -> Caller {
    caller("member1", Role::Member)
}

pub fn chairman() -> Caller {
    caller("chairman", Role::Chairman)
}
