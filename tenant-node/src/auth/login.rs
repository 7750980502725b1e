//! Signature login checks (pure): the client signs `sha256(utf8(now))` where `now` is the chain
//! head block time it read; the node recovers the key, refuses a `now` more than
//! [`MAX_SKEW_SECS`] away from the head time it asks the chain for, and compares keys as keys
//! (`EOS…` and `PUB_K1_…` spell the same key).

use std::str::FromStr;

use chain::api::Account;
use chain::keys::{PublicKey, Signature};
use chain::time::TimePoint;
use chain::{Checksum256, Name};
use thiserror::Error;

/// How far `now` may be from the chain head time (either way).
pub const MAX_SKEW_SECS: i64 = 30;

/// Why a login is refused. The client sees one message for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    #[error("`now` is not a chain time")]
    BadTime,
    #[error("the signature is malformed or not a K1 signature")]
    BadSignature,
    #[error("`now` is {0} s away from the chain head time")]
    Stale(i64),
    #[error("the key is not allowed to log in as this account")]
    WrongKey,
}

/// Checks the signed time against the chain head time and returns the signing key.
pub fn recover_signed_time(
    now: &str,
    signature: &str,
    head_time: TimePoint,
) -> Result<PublicKey, LoginError> {
    if now.len() > 64 || signature.len() > 512 {
        return Err(LoginError::BadTime);
    }
    let signed_at = TimePoint::parse(now).map_err(|_| LoginError::BadTime)?;
    let skew_micros = head_time.as_micros() - signed_at.as_micros();
    if skew_micros.abs() > MAX_SKEW_SECS * 1_000_000 {
        return Err(LoginError::Stale(skew_micros / 1_000_000));
    }
    let sig = Signature::from_str(signature).map_err(|_| LoginError::BadSignature)?;
    let digest = Checksum256::sha256(now.as_bytes());
    sig.recover(&digest).map_err(|_| LoginError::BadSignature)
}

/// True if `key` is one of the keys of `account`'s `permission` (compared as keys).
pub fn key_on_permission(account: &Account, permission: Name, key: &PublicKey) -> bool {
    account
        .permission(permission)
        .is_some_and(|p| p.required_auth.keys.iter().any(|k| &k.key == key))
}

/// Compares a stored key text (any spelling) with a key.
pub fn same_key(stored: &str, key: &PublicKey) -> bool {
    PublicKey::from_str(stored).is_ok_and(|k| &k == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::keys::PrivateKey;

    #[test]
    fn the_signed_time_must_be_recent_and_well_signed() {
        let k = PrivateKey::from_bytes(&[7; 32]).unwrap();
        let head = TimePoint::parse("2025-02-13T12:00:30.000").unwrap();
        let now = "2025-02-13T12:00:10.500";
        let sig = k.sign_digest(&Checksum256::sha256(now)).to_string();
        assert_eq!(recover_signed_time(now, &sig, head), Ok(k.public_key()));
        let old = "2025-02-13T11:59:59.500";
        let sig_old = k.sign_digest(&Checksum256::sha256(old)).to_string();
        assert_eq!(
            recover_signed_time(old, &sig_old, head),
            Err(LoginError::Stale(30))
        );
        let older = "2025-02-13T11:59:59.000";
        let sig_older = k.sign_digest(&Checksum256::sha256(older)).to_string();
        assert_eq!(
            recover_signed_time(older, &sig_older, head),
            Err(LoginError::Stale(31))
        );
        // a signature over another text recovers another key
        assert_ne!(recover_signed_time(now, &sig_old, head), Ok(k.public_key()));
        assert_eq!(
            recover_signed_time("yesterday", &sig, head),
            Err(LoginError::BadTime)
        );
        assert_eq!(
            recover_signed_time(now, "SIG_K1_bogus", head),
            Err(LoginError::BadSignature)
        );
    }

    #[test]
    fn keys_compare_as_keys_not_strings() {
        let k = PrivateKey::from_bytes(&[7; 32]).unwrap().public_key();
        let legacy = k.to_legacy_string().unwrap();
        assert!(legacy.starts_with("EOS"));
        assert!(same_key(&legacy, &k));
        assert!(same_key(&k.to_string(), &k));
        assert!(!same_key("garbage", &k));
    }
}
