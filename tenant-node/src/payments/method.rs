//! Payment methods (pure): bank accounts and SBP phone numbers, validated, and who may read or
//! change whose methods.

use chain::Name;
use serde::{Deserialize, Serialize};

use super::{Caller, PaymentError, Role};

/// Bank details of a Russian account (`BankAccount` in the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// Settlement account: 20 digits.
    pub account_number: String,
    pub bank_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// "RUB".
    pub currency: String,
    pub details: BankDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankDetails {
    /// БИК: 9 digits.
    pub bik: String,
    /// Correspondent account: 20 digits.
    pub corr: String,
    /// КПП of the bank: 9 digits (or empty).
    #[serde(default)]
    pub kpp: String,
}

/// An SBP (fast payment system) phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbpAccount {
    /// `+7` followed by 10 digits.
    pub phone: String,
}

/// A method's data, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodData {
    BankTransfer(BankAccount),
    Sbp(SbpAccount),
}

impl MethodData {
    pub fn method_type(&self) -> &'static str {
        match self {
            MethodData::BankTransfer(_) => "bank_transfer",
            MethodData::Sbp(_) => "sbp",
        }
    }

    /// The JSON stored in the database.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            MethodData::BankTransfer(b) => serde_json::to_value(b),
            MethodData::Sbp(s) => serde_json::to_value(s),
        }
        .expect("plain structs serialise")
    }

    /// Parses and validates `data` of `method_type`.
    pub fn parse(method_type: &str, data: &serde_json::Value) -> Result<MethodData, PaymentError> {
        let bad = |e: serde_json::Error| PaymentError::Invalid(format!("{method_type} data: {e}"));
        let parsed = match method_type {
            "bank_transfer" => {
                MethodData::BankTransfer(serde_json::from_value(data.clone()).map_err(bad)?)
            }
            "sbp" => MethodData::Sbp(serde_json::from_value(data.clone()).map_err(bad)?),
            other => {
                return Err(PaymentError::Invalid(format!(
                    "unknown payment method type {:?} (bank_transfer or sbp)",
                    other.chars().take(32).collect::<String>()
                )))
            }
        };
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), PaymentError> {
        match self {
            MethodData::BankTransfer(b) => b.validate(),
            MethodData::Sbp(s) => {
                let digits = s.phone.strip_prefix("+7").unwrap_or("");
                if digits.len() == 10 && digits.bytes().all(|c| c.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(PaymentError::Invalid(
                        "phone must be +7 followed by 10 digits".into(),
                    ))
                }
            }
        }
    }
}

fn digits(field: &str, value: &str, len: usize) -> Result<(), PaymentError> {
    if value.len() == len && value.bytes().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PaymentError::Invalid(format!(
            "{field} must be {len} digits"
        )))
    }
}

/// Free text: non-empty after trimming, at most `max` characters, no control characters and no
/// `|` (it separates the fields of payment QR codes).
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), PaymentError> {
    if value.trim().is_empty() {
        return Err(PaymentError::Invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(PaymentError::Invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() || c == '|') {
        return Err(PaymentError::Invalid(format!(
            "{field} must not contain '|' or control characters"
        )));
    }
    Ok(())
}

impl BankAccount {
    pub fn validate(&self) -> Result<(), PaymentError> {
        digits("account_number", &self.account_number, 20)?;
        text("bank_name", &self.bank_name, 160)?;
        if self.currency != "RUB" {
            return Err(PaymentError::Invalid("currency must be RUB".into()));
        }
        if let Some(card) = &self.card_number {
            if !(card.len() >= 13 && card.len() <= 19 && card.bytes().all(|c| c.is_ascii_digit())) {
                return Err(PaymentError::Invalid(
                    "card_number must be 13-19 digits".into(),
                ));
            }
        }
        digits("details.bik", &self.details.bik, 9)?;
        digits("details.corr", &self.details.corr, 20)?;
        if !self.details.kpp.is_empty() {
            digits("details.kpp", &self.details.kpp, 9)?;
        }
        Ok(())
    }
}

/// May `caller` read the methods of `owner`? The owner or the chairman; everyone in the
/// cooperative may read the cooperative's own methods (they pay to them).
pub fn may_read(caller: &Caller, owner: Name, coopname: Name) -> Result<(), PaymentError> {
    if caller.username == owner || caller.role == Role::Chairman || owner == coopname {
        Ok(())
    } else {
        Err(PaymentError::Forbidden)
    }
}

/// May `caller` create, change or delete a method of `owner`? Only the owner; the cooperative's
/// own methods only the chairman.
pub fn may_write(caller: &Caller, owner: Name, coopname: Name) -> Result<(), PaymentError> {
    let allowed = if owner == coopname {
        caller.role == Role::Chairman
    } else {
        caller.username == owner
    };
    if allowed {
        Ok(())
    } else {
        Err(PaymentError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn bank() -> serde_json::Value {
        json!({"account_number": "40703810900000000001", "bank_name": "ПАО Сбербанк",
               "currency": "RUB",
               "details": {"bik": "044525225", "corr": "30101810400000000225", "kpp": "773601001"}})
    }

    #[test]
    fn bank_accounts_are_validated() {
        assert!(MethodData::parse("bank_transfer", &bank()).is_ok());
        let mut b = bank();
        b["account_number"] = json!("4070381090000000000");
        assert!(MethodData::parse("bank_transfer", &b).is_err());
        let mut b = bank();
        b["bank_name"] = json!("Bank|Sum=1");
        assert!(MethodData::parse("bank_transfer", &b).is_err());
        let mut b = bank();
        b["extra"] = json!(1);
        assert!(MethodData::parse("bank_transfer", &b).is_err());
        assert!(MethodData::parse("cash", &bank()).is_err());
    }

    #[test]
    fn sbp_phones_are_validated() {
        assert!(MethodData::parse("sbp", &json!({"phone": "+79991234567"})).is_ok());
        assert!(MethodData::parse("sbp", &json!({"phone": "89991234567"})).is_err());
    }

    #[test]
    fn ownership() {
        let n = |s| Name::parse(s).unwrap();
        let coop = n("voskhod");
        let alice = Caller {
            username: n("alice"),
            role: Role::User,
        };
        let chair = Caller {
            username: n("chairman"),
            role: Role::Chairman,
        };
        assert!(may_write(&alice, n("alice"), coop).is_ok());
        assert!(may_write(&alice, n("bob"), coop).is_err());
        assert!(may_write(&chair, n("bob"), coop).is_err());
        assert!(may_write(&alice, coop, coop).is_err());
        assert!(may_write(&chair, coop, coop).is_ok());
        assert!(may_read(&alice, coop, coop).is_ok());
        assert!(may_read(&alice, n("bob"), coop).is_err());
        assert!(may_read(&chair, n("bob"), coop).is_ok());
    }
}
