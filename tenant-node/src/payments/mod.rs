//! Payments domain (pure, no I/O): payment kinds and statuses with the explicit transition
//! table, who may change a status, the amounts owed (from the cooperative's fees on chain) and
//! deposit amounts checked against the cooperative's symbol.
//!
//! The SQL lives in `db::payments`; the `qrpay` provider in [`qrpay`]; payment methods in
//! [`method`]. The caller's identity is a typed [`Caller`] handed in by the API layer.

pub mod method;
pub mod qrpay;

use std::fmt;
use std::str::FromStr;

use chain::asset::{Asset, Symbol};
use chain::Name;
use thiserror::Error;

use crate::registry::Cooperative;

/// How long a new payment stays PENDING before the sweep expires it.
pub const DEFAULT_TTL_SECS: u64 = 24 * 60 * 60;

/// A payment's public identifier: 32 lowercase hex digits (random).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(String);

impl PaymentId {
    /// A fresh random id.
    pub fn generate() -> PaymentId {
        let bytes: [u8; 16] = rand::random();
        PaymentId(hex::encode(bytes))
    }

    /// Checks the text form.
    pub fn parse(s: &str) -> Result<PaymentId, PaymentError> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(PaymentId(s.to_owned()))
        } else {
            Err(PaymentError::BadId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentId({})", self.0)
    }
}

/// The roles of the cooperative's people (they come from the council board on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Member,
    Chairman,
}

/// Who is calling: the authenticated account and its role. The API layer builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub username: Name,
    pub role: Role,
}

impl Caller {
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Member | Role::Chairman)
    }
}

/// What a payment pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentKind {
    /// Entrance fee + minimum share fee; PAID triggers the on-chain registration.
    Registration,
    /// A share deposit.
    Deposit,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Registration => "registration",
            PaymentKind::Deposit => "deposit",
        }
    }
}

impl FromStr for PaymentKind {
    type Err = PaymentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "registration" => Ok(PaymentKind::Registration),
            "deposit" => Ok(PaymentKind::Deposit),
            _ => Err(PaymentError::BadKind(s.chars().take(32).collect())),
        }
    }
}

/// A payment's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Completed,
    Failed,
    Expired,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Pending,
        PaymentStatus::Paid,
        PaymentStatus::Completed,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::Completed => "COMPLETED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Expired => "EXPIRED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentStatus {
    type Err = PaymentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PaymentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| PaymentError::BadStatus(s.chars().take(32).collect()))
    }
}

/// Who drives a transition: a person through the API, or the node itself (the outbox sender,
/// the expiry sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Person,
    System,
}

/// The transition table. Every other change is refused.
///
/// | from | to | by |
/// |---|---|---|
/// | PENDING | PAID | person (chairman/member, not the payer) |
/// | PENDING | FAILED | person (cancelled) or system |
/// | PENDING | EXPIRED | system (the sweep) |
/// | PAID | COMPLETED | system (the chain effect is confirmed) |
/// | PAID | FAILED | system (the chain refused the effect permanently) |
/// | COMPLETED, FAILED | REFUNDED | person (the money went back) |
///
/// EXPIRED and REFUNDED are final. A transition to the current status is not a change: callers
/// get [`Transition::Unchanged`] and nothing is written.
pub fn transition(
    from: PaymentStatus,
    to: PaymentStatus,
    driver: Driver,
) -> Result<Transition, PaymentError> {
    use Driver::{Person, System};
    use PaymentStatus::*;
    if from == to {
        return Ok(Transition::Unchanged);
    }
    let allowed = match (from, to) {
        (Pending, Paid) => driver == Person,
        (Pending, Failed) => true,
        (Pending, Expired) => driver == System,
        (Paid, Completed) | (Paid, Failed) => driver == System,
        (Completed, Refunded) | (Failed, Refunded) => driver == Person,
        _ => false,
    };
    if allowed {
        Ok(Transition::Change)
    } else {
        Err(PaymentError::IllegalTransition { from, to })
    }
}

/// The outcome of [`transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Change,
    Unchanged,
}

/// May `caller` set a status on a payment of `payer`? Only the chairman or a council member,
/// and never on their own payment.
pub fn may_set_status(caller: &Caller, payer: Name) -> Result<(), PaymentError> {
    if !caller.is_staff() {
        return Err(PaymentError::Forbidden);
    }
    if caller.username == payer {
        return Err(PaymentError::OwnPayment);
    }
    Ok(())
}

/// May `caller` read the payments of `username`? Themselves, the chairman or a member.
pub fn may_read(caller: &Caller, username: Name) -> Result<(), PaymentError> {
    if caller.username == username || caller.is_staff() {
        Ok(())
    } else {
        Err(PaymentError::Forbidden)
    }
}

/// May `caller` create a payment for `username`? Themselves, the chairman or a member.
pub fn may_create(caller: &Caller, username: Name) -> Result<(), PaymentError> {
    may_read(caller, username)
}

/// The kind of participant, which decides the fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountType {
    Individual,
    Entrepreneur,
    Organization,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Individual => "individual",
            AccountType::Entrepreneur => "entrepreneur",
            AccountType::Organization => "organization",
        }
    }
}

impl FromStr for AccountType {
    type Err = PaymentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "individual" => Ok(AccountType::Individual),
            "entrepreneur" => Ok(AccountType::Entrepreneur),
            "organization" => Ok(AccountType::Organization),
            _ => Err(PaymentError::BadAccountType(s.chars().take(32).collect())),
        }
    }
}

/// The registration payment: entrance fee + minimum share fee, the organization fees for
/// organizations (the chain's `reguser` opens an income of exactly `initial + minimum`).
pub fn registration_amount(coop: &Cooperative, kind: AccountType) -> Result<Asset, PaymentError> {
    let (initial, minimum) = match kind {
        AccountType::Individual | AccountType::Entrepreneur => (coop.initial, coop.minimum),
        AccountType::Organization => match (coop.org_initial, coop.org_minimum) {
            (Some(i), Some(m)) => (i, m),
            _ => return Err(PaymentError::NoOrgFees),
        },
    };
    if initial.symbol != minimum.symbol {
        return Err(PaymentError::FeeSymbols);
    }
    let amount = initial
        .amount
        .checked_add(minimum.amount)
        .filter(|a| *a > 0)
        .ok_or(PaymentError::BadFees)?;
    Ok(Asset::new(amount, initial.symbol))
}

/// The cooperative's currency: the symbol of its entrance fee.
pub fn coop_symbol(coop: &Cooperative) -> Symbol {
    coop.initial.symbol
}

/// A deposit amount: exactly the cooperative's symbol and precision, positive.
pub fn deposit_amount(text: &str, symbol: Symbol) -> Result<Asset, PaymentError> {
    let asset = Asset::parse_as(text.trim(), symbol).map_err(|e| PaymentError::BadAmount {
        expected: symbol.to_string(),
        reason: e.to_string(),
    })?;
    if asset.amount <= 0 {
        return Err(PaymentError::BadAmount {
            expected: symbol.to_string(),
            reason: "the amount must be positive".into(),
        });
    }
    Ok(asset)
}

/// Why a payment operation was refused. Every message is safe to show to the caller.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PaymentError {
    #[error("payment id must be 32 lowercase hex digits")]
    BadId,
    #[error("unknown payment kind {0:?}")]
    BadKind(String),
    #[error("unknown payment status {0:?}")]
    BadStatus(String),
    #[error("unknown account type {0:?}")]
    BadAccountType(String),
    #[error("a payment cannot go from {from} to {to}")]
    IllegalTransition {
        from: PaymentStatus,
        to: PaymentStatus,
    },
    #[error("only the chairman or a council member may do this")]
    Forbidden,
    #[error("nobody may set the status of their own payment")]
    OwnPayment,
    #[error("the cooperative has no organization fees on chain")]
    NoOrgFees,
    #[error("the cooperative's fees on chain use different symbols")]
    FeeSymbols,
    #[error("the cooperative's fees on chain are not a positive amount")]
    BadFees,
    #[error("amount must be like \"100.0000 {expected}\" (the cooperative's currency): {reason}")]
    BadAmount { expected: String, reason: String },
    #[error("the cooperative's registry row is not synced yet")]
    NoCooperative,
    #[error("no registration package is stored for this account")]
    NoPackage,
    #[error("payment not found")]
    NotFound,
    #[error("payment method not found")]
    MethodNotFound,
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

    #[test]
    fn transition_table_is_explicit() {
        let person_allowed = [
            (Pending, Paid),
            (Pending, Failed),
            (Completed, Refunded),
            (Failed, Refunded),
        ];
        let system_allowed = [
            (Pending, Failed),
            (Pending, Expired),
            (Paid, Completed),
            (Paid, Failed),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                for (driver, list) in [
                    (Driver::Person, &person_allowed),
                    (Driver::System, &system_allowed),
                ] {
                    let got = transition(from, to, driver);
                    if from == to {
                        assert_eq!(got, Ok(Transition::Unchanged));
                    } else if list.contains(&(from, to)) {
                        assert_eq!(got, Ok(Transition::Change), "{from}->{to} {driver:?}");
                    } else {
                        assert_eq!(
                            got,
                            Err(PaymentError::IllegalTransition { from, to }),
                            "{from}->{to} {driver:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn status_and_kind_round_trip() {
        for st in PaymentStatus::ALL {
            assert_eq!(st.as_str().parse::<PaymentStatus>(), Ok(st));
        }
        assert!("paid".parse::<PaymentStatus>().is_err());
        assert_eq!("deposit".parse::<PaymentKind>(), Ok(PaymentKind::Deposit));
        assert!("gift".parse::<PaymentKind>().is_err());
    }

    #[test]
    fn only_staff_and_never_on_own_payment() {
        let n = |s| Name::parse(s).unwrap();
        let user = Caller {
            username: n("alice"),
            role: Role::User,
        };
        let member = Caller {
            username: n("member1"),
            role: Role::Member,
        };
        assert_eq!(
            may_set_status(&user, n("bob")),
            Err(PaymentError::Forbidden)
        );
        assert_eq!(
            may_set_status(&user, n("alice")),
            Err(PaymentError::Forbidden)
        );
        assert_eq!(
            may_set_status(&member, n("member1")),
            Err(PaymentError::OwnPayment)
        );
        assert_eq!(may_set_status(&member, n("alice")), Ok(()));
        assert_eq!(may_read(&user, n("alice")), Ok(()));
        assert_eq!(may_read(&user, n("bob")), Err(PaymentError::Forbidden));
    }

    #[test]
    fn deposit_amount_uses_the_coop_symbol() {
        let rub = Symbol::parse("4,RUB").unwrap();
        assert_eq!(
            deposit_amount("100.5000 RUB", rub).unwrap().to_string(),
            "100.5000 RUB"
        );
        assert!(deposit_amount("100.50 RUB", rub).is_err());
        assert!(deposit_amount("100.0000 USD", rub).is_err());
        assert!(deposit_amount("0.0000 RUB", rub).is_err());
        assert!(deposit_amount("-1.0000 RUB", rub).is_err());
    }

    #[test]
    fn payment_ids_are_checked() {
        let id = PaymentId::generate();
        assert_eq!(PaymentId::parse(id.as_str()), Ok(id));
        assert!(PaymentId::parse("ABC").is_err());
        assert!(PaymentId::parse(&"G".repeat(32)).is_err());
    }
}
