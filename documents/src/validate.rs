//! Checks of Russian requisites and contact fields: INN, OGRN/OGRNIP, KPP, BIK, bank accounts
//! (the control key computed with the BIK), email, phone, account names and money amounts.
//!
//! Every check is a pure function returning a [`Problem`] that says what is wrong in words a
//! person filling a form understands.

use thiserror::Error;

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("must not be empty")]
    Empty,
    #[error("is too long ({len} characters, at most {max})")]
    TooLong { len: usize, max: usize },
    #[error("INN must be {expected} digits, got {got:?}")]
    InnFormat { expected: &'static str, got: String },
    #[error("INN {0} has a wrong check digit")]
    InnChecksum(String),
    #[error("OGRN must be 13 digits, got {0:?}")]
    OgrnFormat(String),
    #[error("OGRNIP must be 15 digits, got {0:?}")]
    OgrnipFormat(String),
    #[error("{kind} {number} has a wrong check digit")]
    OgrnChecksum { kind: &'static str, number: String },
    #[error("KPP must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits; got {0:?}")]
    KppFormat(String),
    #[error("BIK must be 9 digits starting with 04, got {0:?}")]
    BikFormat(String),
    #[error("{kind} account must be 20 digits, got {got:?}")]
    AccountFormat { kind: &'static str, got: String },
    #[error("correspondent account {0} must start with 30101")]
    CorrPrefix(String),
    #[error("{kind} account {account} does not match BIK {bik} (control key)")]
    AccountKey {
        kind: &'static str,
        account: String,
        bik: String,
    },
    #[error("{0:?} is not an email address")]
    Email(String),
    #[error("{0:?} is not a Russian phone number (+7 and 10 digits)")]
    Phone(String),
    #[error("{0}")]
    Date(#[from] crate::clock::ClockError),
    #[error("{0:?} is not an account name (1-12 characters a-z, 1-5 and '.')")]
    AccountName(String),
    #[error("{0:?} is not an amount like \"100.0000 RUB\"")]
    Amount(String),
    #[error("must be one of {allowed}, got {got:?}")]
    NotOneOf { allowed: &'static str, got: String },
    #[error("{0}")]
    Other(String),
}

/// Input text clipped for error messages.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

fn all_digits(s: &str, len: usize) -> Option<Vec<u32>> {
    if s.len() != len {
        return None;
    }
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn weighted(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// Which kind of taxpayer an INN belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnKind {
    /// 10 digits: a legal entity.
    Organization,
    /// 12 digits: a person or an individual entrepreneur.
    Person,
}

/// Checks an INN of the given kind, including its check digit(s).
pub fn inn(value: &str, kind: InnKind) -> Result<(), Problem> {
    let (len, expected) = match kind {
        InnKind::Organization => (10, "10 (organization)"),
        InnKind::Person => (12, "12 (person or entrepreneur)"),
    };
    let d = all_digits(value, len).ok_or_else(|| Problem::InnFormat {
        expected,
        got: clip(value),
    })?;
    let check = |n: usize, w: &[u32]| weighted(&d[..n], w) % 11 % 10 == d[n];
    let ok = match kind {
        InnKind::Organization => check(9, &[2, 4, 10, 3, 5, 9, 4, 6, 8]),
        InnKind::Person => {
            check(10, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
                && check(11, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::InnChecksum(value.to_owned()))
    }
}

/// `number mod m` of a decimal string, digit by digit (no overflow for any length).
fn decimal_mod(digits: &[u32], m: u64) -> u64 {
    digits
        .iter()
        .fold(0u64, |acc, &d| (acc * 10 + u64::from(d)) % m)
}

/// Checks a 13-digit OGRN (legal entity): the last digit is (first 12 mod 11) mod 10.
pub fn ogrn(value: &str) -> Result<(), Problem> {
    let d = all_digits(value, 13).ok_or_else(|| Problem::OgrnFormat(clip(value)))?;
    if decimal_mod(&d[..12], 11) % 10 == u64::from(d[12]) {
        Ok(())
    } else {
        Err(Problem::OgrnChecksum {
            kind: "OGRN",
            number: value.to_owned(),
        })
    }
}

/// Checks a 15-digit OGRNIP (entrepreneur): the last digit is (first 14 mod 13) mod 10.
pub fn ogrnip(value: &str) -> Result<(), Problem> {
    let d = all_digits(value, 15).ok_or_else(|| Problem::OgrnipFormat(clip(value)))?;
    if decimal_mod(&d[..14], 13) % 10 == u64::from(d[14]) {
        Ok(())
    } else {
        Err(Problem::OgrnChecksum {
            kind: "OGRNIP",
            number: value.to_owned(),
        })
    }
}

/// Checks a KPP: `NNNN` tax office, `PP` reason (digits or A–Z since 2019), `NNN` number.
pub fn kpp(value: &str) -> Result<(), Problem> {
    let b = value.as_bytes();
    let ok = b.len() == 9
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..6]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[6..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(())
    } else {
        Err(Problem::KppFormat(clip(value)))
    }
}

/// Checks a BIK: 9 digits, starting with the Russian country code 04.
pub fn bik(value: &str) -> Result<(), Problem> {
    match all_digits(value, 9) {
        Some(_) if value.starts_with("04") => Ok(()),
        _ => Err(Problem::BikFormat(clip(value))),
    }
}

/// The control-key test for a 20-digit account: prefix ‖ account, weights 7,1,3 repeated,
/// the weighted sum must end in 0.
fn account_key_ok(prefix: &[u32], account: &[u32]) -> bool {
    const W: [u32; 3] = [7, 1, 3];
    let sum: u32 = prefix
        .iter()
        .chain(account)
        .enumerate()
        .map(|(i, d)| d * W[i % 3])
        .sum();
    sum % 10 == 0
}

/// Checks a settlement (client) account against its bank's BIK: the key is computed over the
/// last three BIK digits followed by the account.
pub fn settlement_account(account: &str, bik_value: &str) -> Result<(), Problem> {
    bik(bik_value)?;
    let a = all_digits(account, 20).ok_or_else(|| Problem::AccountFormat {
        kind: "settlement",
        got: clip(account),
    })?;
    let b = all_digits(bik_value, 9).ok_or_else(|| Problem::BikFormat(clip(bik_value)))?;
    if account_key_ok(&b[6..9], &a) {
        Ok(())
    } else {
        Err(Problem::AccountKey {
            kind: "settlement",
            account: account.to_owned(),
            bik: bik_value.to_owned(),
        })
    }
}

/// Checks a correspondent account against the bank's BIK: it starts with 30101 and the key is
/// computed over "0", BIK digits 5–6, then the account.
pub fn correspondent_account(account: &str, bik_value: &str) -> Result<(), Problem> {
    bik(bik_value)?;
    let a = all_digits(account, 20).ok_or_else(|| Problem::AccountFormat {
        kind: "correspondent",
        got: clip(account),
    })?;
    if !account.starts_with("30101") {
        return Err(Problem::CorrPrefix(account.to_owned()));
    }
    let b = all_digits(bik_value, 9).ok_or_else(|| Problem::BikFormat(clip(bik_value)))?;
    if account_key_ok(&[0, b[4], b[5]], &a) {
        Ok(())
    } else {
        Err(Problem::AccountKey {
            kind: "correspondent",
            account: account.to_owned(),
            bik: bik_value.to_owned(),
        })
    }
}

/// A plain email check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn email(value: &str) -> Result<(), Problem> {
    let bad = || Problem::Email(clip(value));
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if local.is_empty() || local.len() > 64 || domain.contains('@') || !labels_ok {
        return Err(bad());
    }
    Ok(())
}

/// A Russian phone number: `+7` and 10 digits; spaces, dashes and parentheses are allowed
/// between digits.
pub fn phone(value: &str) -> Result<(), Problem> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    match compact.strip_prefix("+7") {
        Some(rest) if rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(Problem::Phone(clip(value))),
    }
}

/// A chain account name in its canonical spelling.
pub fn account_name(value: &str) -> Result<(), Problem> {
    let ok = !value.is_empty()
        && value.len() <= 12
        && value
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'1'..=b'5' | b'.'))
        && !value.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(Problem::AccountName(clip(value)))
    }
}

/// An asset amount as the chain prints it: digits, an optional fraction, a space, a symbol of
/// 1–7 capital letters (`"100.0000 RUB"`).
pub fn amount(value: &str) -> Result<(), Problem> {
    let bad = || Problem::Amount(clip(value));
    let (number, symbol) = value.split_once(' ').ok_or_else(bad)?;
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (number.len() == int.len() || (!frac.is_empty() && frac.len() <= 18))
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (1..=7).contains(&symbol.len())
        && symbol.bytes().all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A required text field: non-blank and at most `max` characters.
pub fn text(value: &str, max: usize) -> Result<(), Problem> {
    let len = value.chars().count();
    if value.trim().is_empty() {
        Err(Problem::Empty)
    } else if len > max {
        Err(Problem::TooLong { len, max })
    } else {
        Ok(())
    }
}

/// An optional text field (may be empty, e.g. a missing patronymic): at most `max` characters.
pub fn optional_text(value: &str, max: usize) -> Result<(), Problem> {
    let len = value.chars().count();
    if len > max {
        Err(Problem::TooLong { len, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inn_check_digits() {
        assert_eq!(inn("7707083893", InnKind::Organization), Ok(()));
        assert_eq!(inn("500100732259", InnKind::Person), Ok(()));
        assert!(matches!(
            inn("7707083894", InnKind::Organization),
            Err(Problem::InnChecksum(_))
        ));
        assert!(matches!(
            inn("7707083893", InnKind::Person),
            Err(Problem::InnFormat { .. })
        ));
        assert!(matches!(
            inn("77070838a3", InnKind::Organization),
            Err(Problem::InnFormat { .. })
        ));
    }

    #[test]
    fn ogrn_and_ogrnip_check_digits() {
        assert_eq!(ogrn("1027700132195"), Ok(()));
        assert!(matches!(
            ogrn("1027700132196"),
            Err(Problem::OgrnChecksum { .. })
        ));
        assert_eq!(ogrnip("304500116000157"), Ok(()));
        assert!(matches!(
            ogrnip("304500116000158"),
            Err(Problem::OgrnChecksum { .. })
        ));
        assert!(matches!(ogrn("12345"), Err(Problem::OgrnFormat(_))));
    }

    #[test]
    fn bank_requisites() {
        // Sberbank (Moscow): BIK 044525225, corr 30101810400000000225.
        assert_eq!(bik("044525225"), Ok(()));
        assert!(bik("144525225").is_err());
        assert_eq!(
            correspondent_account("30101810400000000225", "044525225"),
            Ok(())
        );
        assert_eq!(
            settlement_account("40702810938000060478", "044525225"),
            Ok(())
        );
        assert!(matches!(
            settlement_account("40702810938000060473", "044525225"),
            Err(Problem::AccountKey { .. })
        ));
        assert!(matches!(
            correspondent_account("30101810400000000226", "044525225"),
            Err(Problem::AccountKey { .. })
        ));
        assert!(matches!(
            correspondent_account("40702810938000060478", "044525225"),
            Err(Problem::CorrPrefix(_))
        ));
    }

    #[test]
    fn kpp_email_phone_amount_names() {
        assert_eq!(kpp("773601001"), Ok(()));
        assert_eq!(kpp("7736AB001"), Ok(()));
        assert!(kpp("7736ab001").is_err());
        assert!(kpp("77360100").is_err());
        assert_eq!(email("ivan@example.ru"), Ok(()));
        for bad in [
            "ivan",
            "ivan@",
            "@example.ru",
            "iv an@example.ru",
            "ivan@ru",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert_eq!(phone("+7 (912) 345-67-89"), Ok(()));
        assert!(phone("89123456789").is_err());
        assert!(phone("+7912345678").is_err());
        assert_eq!(amount("100.0000 RUB"), Ok(()));
        assert_eq!(amount("5 RUB"), Ok(()));
        for bad in ["100.0000", "1. RUB", "100.0000 rub", "-1.0 RUB"] {
            assert!(amount(bad).is_err(), "{bad}");
        }
        assert_eq!(account_name("voskhod"), Ok(()));
        assert!(account_name("Voskhod").is_err());
        assert!(account_name("toolongname123").is_err());
    }
}
