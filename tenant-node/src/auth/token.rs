//! Tokens (pure): short-lived HS256 access JWTs bound to one cooperative (issuer and audience)
//! and opaque random refresh tokens, of which only the SHA-256 is ever stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Lifetime of an access token.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Lifetime of a refresh token (and of its family's newest member).
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
/// The only token type that authenticates requests.
pub const ACCESS: &str = "access";
/// Longest token accepted for parsing (a bound on work for hostile input).
const MAX_TOKEN_LEN: usize = 4096;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a token is refused (one message for the client: "invalid or expired token").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token issued for another cooperative")]
    WrongCooperative,
    #[error("not an access token")]
    WrongType,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: `tenant-node:<coopname>`.
    pub iss: String,
    /// Audience: the cooperative.
    pub aud: String,
    /// The account name.
    pub sub: String,
    /// Token type (`access`).
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
    /// Random id (two tokens issued in one second differ).
    pub jti: String,
}

/// Issues and verifies access tokens of one cooperative.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    coop: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, <key redacted>)", self.coop)
    }
}

fn issuer(coop: &str) -> String {
    format!("tenant-node:{coop}")
}

impl Signer {
    pub fn new(key: &[u8], coop: &str) -> Signer {
        Signer {
            key: key.to_vec(),
            coop: coop.to_owned(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// An access token for `username`, issued at `now` (unix seconds); returns it and its expiry.
    pub fn issue(&self, username: &str, now: i64) -> (String, i64) {
        let mut jti = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut jti);
        let claims = Claims {
            iss: issuer(&self.coop),
            aud: self.coop.clone(),
            sub: username.to_owned(),
            typ: ACCESS.to_owned(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            jti: B64.encode(jti),
        };
        let payload = serde_json::to_vec(&claims).expect("claims serialize");
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        (format!("{signing_input}.{sig}"), claims.exp)
    }

    /// Verifies signature, cooperative, type and expiry at `now`; returns the claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = B64.decode(h).map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
        let payload = B64.decode(p).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.aud != self.coop || claims.iss != issuer(&self.coop) {
            return Err(TokenError::WrongCooperative);
        }
        if claims.typ != ACCESS {
            return Err(TokenError::WrongType);
        }
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A new opaque refresh token (256 random bits, base64url).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// What is stored for a refresh token: its SHA-256.
pub fn refresh_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new refresh-token family id (128 random bits).
pub fn new_family() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_verifies_only_for_its_cooperative_key_and_lifetime() {
        let s = Signer::new(KEY, "voskhod");
        let (t, exp) = s.issue("alice", 1000);
        assert_eq!(exp, 1000 + ACCESS_TTL_SECS);
        let c = s.verify(&t, 1001).unwrap();
        assert_eq!((c.sub.as_str(), c.aud.as_str()), ("alice", "voskhod"));
        assert_eq!(s.verify(&t, exp), Err(TokenError::Expired));
        let other_coop = Signer::new(KEY, "zarya");
        assert_eq!(
            other_coop.verify(&t, 1001),
            Err(TokenError::WrongCooperative)
        );
        let other_key = Signer::new(b"another key of at least 32 bytes!", "voskhod");
        assert_eq!(other_key.verify(&t, 1001), Err(TokenError::Signature));
        assert_eq!(s.verify("a.b", 1001), Err(TokenError::Malformed));
        // a flipped payload byte breaks the signature
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut claims: Claims = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
        claims.sub = "mallory".into();
        parts[1] = B64.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(s.verify(&parts.join("."), 1001), Err(TokenError::Signature));
        // alg "none" is refused
        parts[0] = B64.encode(r#"{"alg":"none"}"#);
        assert_eq!(s.verify(&parts.join("."), 1001), Err(TokenError::Malformed));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(refresh_hash(&a), refresh_hash(&a));
        assert_ne!(refresh_hash(&a), refresh_hash(&b));
        assert_ne!(new_family(), new_family());
    }
}
