//! Key custody (pure): the cooperative's private key sealed at rest with XChaCha20-Poly1305
//! under the secret-at-rest key, a random 192-bit nonce per sealing and the cooperative's name as
//! associated data (a sealed key moved to another cooperative's database does not open).
//! Nothing here prints a key: errors carry no key material, `Debug` is redacted.

use std::str::FromStr;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chain::keys::PrivateKey;
use chain::Name;
use thiserror::Error;

/// Why a key cannot be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CustodyError {
    #[error("the secret-at-rest key must be 32 bytes")]
    BadKey,
    #[error("not a valid K1 private key")]
    BadPrivateKey,
    #[error("the stored key cannot be opened with this secret-at-rest key and cooperative")]
    Open,
}

/// A sealed private key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed(<{} bytes>)", self.ciphertext.len())
    }
}

/// Parses a WIF or `PVT_K1_` key; the error never repeats the input.
pub fn parse_private_key(text: &str) -> Result<PrivateKey, CustodyError> {
    if text.len() > 128 {
        return Err(CustodyError::BadPrivateKey);
    }
    PrivateKey::from_str(text.trim()).map_err(|_| CustodyError::BadPrivateKey)
}

fn cipher(secret: &[u8]) -> Result<XChaCha20Poly1305, CustodyError> {
    XChaCha20Poly1305::new_from_slice(secret).map_err(|_| CustodyError::BadKey)
}

/// Seals `key` for `coop`.
pub fn seal(secret: &[u8], coop: Name, key: &PrivateKey) -> Result<Sealed, CustodyError> {
    let cipher = cipher(secret)?;
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = coop.to_string();
    let plain = key.to_bytes();
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CustodyError::BadKey)?;
    Ok(Sealed {
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Opens a sealed key of `coop`.
pub fn open(secret: &[u8], coop: Name, sealed: &Sealed) -> Result<PrivateKey, CustodyError> {
    let cipher = cipher(secret)?;
    if sealed.nonce.len() != 24 {
        return Err(CustodyError::Open);
    }
    let aad = coop.to_string();
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CustodyError::Open)?;
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| CustodyError::Open)?;
    PrivateKey::from_bytes(&bytes).map_err(|_| CustodyError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_cooperative() {
        let secret = [3u8; 32];
        let coop = Name::parse("voskhod").unwrap();
        let key = PrivateKey::from_bytes(&[9; 32]).unwrap();
        let a = seal(&secret, coop, &key).unwrap();
        let b = seal(&secret, coop, &key).unwrap();
        assert_ne!(a.nonce, b.nonce, "a fresh nonce each time");
        assert!(!a.ciphertext.windows(32).any(|w| w == key.to_bytes()));
        assert_eq!(open(&secret, coop, &a).unwrap().to_bytes(), key.to_bytes());
        let zarya = Name::parse("zarya").unwrap();
        assert_eq!(open(&secret, zarya, &a).unwrap_err(), CustodyError::Open);
        assert_eq!(open(&[4u8; 32], coop, &a).unwrap_err(), CustodyError::Open);
        let wif = key.to_wif();
        assert_eq!(parse_private_key(&wif).unwrap().to_bytes(), key.to_bytes());
        let e = parse_private_key("5Kdefinitelynotakey").unwrap_err();
        assert!(!e.to_string().contains("5Kdef"));
    }
}
