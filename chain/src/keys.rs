//! K1 keys and signatures: WIF / PVT_K1_ / PUB_K1_ / legacy EOS text forms, wire form, deterministic wharfkit-compatible signing, recovery and verification.
//!
//! Text forms (documents.md §7, `rmd` = RIPEMD-160, base58 = Bitcoin alphabet):
//! - WIF `base58(0x80 ‖ d ‖ sha256d(0x80 ‖ d)[..4])`, `PVT_K1_` + `base58(d ‖ rmd(d ‖ "K1")[..4])`;
//! - `PUB_K1_` + `base58(Q ‖ rmd(Q ‖ "K1")[..4])`, legacy `EOS` + `base58(Q ‖ rmd(Q)[..4])`;
//! - `SIG_K1_` + `base58(S ‖ rmd(S ‖ "K1")[..4])` with `S = (recid + 31) ‖ r ‖ s`.
//!
//! R1 and WebAuthn keys and signatures are carried (parsed, printed, packed, unpacked) so chain
//! data never fails to decode, but only K1 can sign, recover or verify.
//!
//! Signing follows @wharfkit/antelope 1.2.0 byte for byte (documents.md §8): RFC 6979
//! HMAC-SHA256 seeded with `x ‖ (h mod n) ‖ [attempt]`, low-S, retried with the next attempt byte
//! until both r and s are EOSIO-canonical.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
use k256::elliptic_curve::bigint::{CheckedAdd, U256};
use k256::elliptic_curve::ops::LinearCombination;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::point::AffineCoordinates;
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::subtle::Choice;
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::{Curve, FieldBytesEncoding};
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, Secp256k1, SecretKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::bytes::{DecodeError, Pack, Reader, Unpack};
use crate::checksum::Checksum256;

/// Why a key or signature could not be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("unknown key or signature format {0:?}")]
    UnknownFormat(String),
    #[error("invalid base58 data")]
    Base58,
    #[error("expected {expected} bytes of key data, got {got}")]
    BadLength { expected: usize, got: usize },
    #[error("checksum mismatch")]
    BadChecksum,
    #[error("WIF version byte must be 0x80, got {0:#04x}")]
    BadWifVersion(u8),
    #[error("private key scalar is zero or not below the curve order")]
    ScalarOutOfRange,
    #[error("malformed {0} data")]
    BadData(&'static str),
    #[error("operation needs a K1 key or signature")]
    NotK1,
    #[error("signature is invalid or the key cannot be recovered")]
    Recovery,
}

/// Which curve/scheme a key or signature uses (also its wire variant index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    K1 = 0,
    R1 = 1,
    WebAuthn = 2,
}

impl KeyType {
    fn suffix(self) -> &'static str {
        match self {
            KeyType::K1 => "K1",
            KeyType::R1 => "R1",
            KeyType::WebAuthn => "WA",
        }
    }

    fn from_index(offset: usize, index: u32) -> Result<Self, DecodeError> {
        match index {
            0 => Ok(KeyType::K1),
            1 => Ok(KeyType::R1),
            2 => Ok(KeyType::WebAuthn),
            _ => Err(DecodeError::Invalid {
                offset,
                reason: format!("unknown key type {index}"),
            }),
        }
    }
}

fn ripemd160(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Ripemd160::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// `base58(data ‖ rmd(data ‖ suffix)[..4])`.
fn encode_suffixed(data: &[u8], suffix: &str) -> String {
    let check = ripemd160(&[data, suffix.as_bytes()]);
    let mut buf = data.to_vec();
    buf.extend_from_slice(&check[..4]);
    bs58::encode(buf).into_string()
}

/// Decodes base58 and splits off the 4 checksum bytes, checking them with `check`.
fn decode_checked(text: &str, check: impl Fn(&[u8]) -> [u8; 4]) -> Result<Vec<u8>, KeyError> {
    let mut raw = bs58::decode(text)
        .into_vec()
        .map_err(|_| KeyError::Base58)?;
    if raw.len() < 4 {
        return Err(KeyError::BadLength {
            expected: 4,
            got: raw.len(),
        });
    }
    let split = raw.len() - 4;
    if check(&raw[..split]) != raw[split..] {
        return Err(KeyError::BadChecksum);
    }
    raw.truncate(split);
    Ok(raw)
}

fn rmd4(parts: &[&[u8]]) -> [u8; 4] {
    let h = ripemd160(parts);
    [h[0], h[1], h[2], h[3]]
}

fn decode_suffixed(text: &str, suffix: &str) -> Result<Vec<u8>, KeyError> {
    decode_checked(text, |d| rmd4(&[d, suffix.as_bytes()]))
}

fn fixed<const N: usize>(data: &[u8]) -> Result<[u8; N], KeyError> {
    data.try_into().map_err(|_| KeyError::BadLength {
        expected: N,
        got: data.len(),
    })
}

/// Splits `PUB_K1_…`-style text into its type and base58 body.
fn split_prefixed<'a>(s: &'a str, kind: &str) -> Option<(KeyType, &'a str)> {
    let rest = s.strip_prefix(kind)?.strip_prefix('_')?;
    [KeyType::K1, KeyType::R1, KeyType::WebAuthn]
        .into_iter()
        .find_map(|t| {
            rest.strip_prefix(t.suffix())?
                .strip_prefix('_')
                .map(|body| (t, body))
        })
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

// ------------------------------------------------------------------------------------------------
// Public keys

/// A public key: K1 (secp256k1), R1 (secp256r1) or WebAuthn, compared by bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// Compressed secp256k1 point.
    K1([u8; 33]),
    /// Compressed secp256r1 point (carried, not used for crypto).
    R1([u8; 33]),
    /// WebAuthn key: compressed r1 point, user presence flag, relying party id.
    WebAuthn {
        key: [u8; 33],
        user_presence: u8,
        rpid: String,
    },
}

impl PublicKey {
    pub fn key_type(&self) -> KeyType {
        match self {
            PublicKey::K1(_) => KeyType::K1,
            PublicKey::R1(_) => KeyType::R1,
            PublicKey::WebAuthn { .. } => KeyType::WebAuthn,
        }
    }

    /// The 33 compressed bytes of a K1 key.
    pub fn k1_bytes(&self) -> Option<&[u8; 33]> {
        match self {
            PublicKey::K1(b) => Some(b),
            _ => None,
        }
    }

    /// The key data without the variant index (what the text form encodes).
    pub fn data(&self) -> Vec<u8> {
        match self {
            PublicKey::K1(b) | PublicKey::R1(b) => b.to_vec(),
            PublicKey::WebAuthn {
                key,
                user_presence,
                rpid,
            } => {
                let mut out = key.to_vec();
                out.push(*user_presence);
                rpid.pack(&mut out);
                out
            }
        }
    }

    /// Legacy `EOS…` text; only K1 keys have one.
    pub fn to_legacy_string(&self) -> Option<String> {
        let q = self.k1_bytes()?;
        let check = ripemd160(&[q]);
        let mut buf = q.to_vec();
        buf.extend_from_slice(&check[..4]);
        Some(format!("EOS{}", bs58::encode(buf).into_string()))
    }

    fn from_data(t: KeyType, data: &[u8]) -> Result<Self, KeyError> {
        match t {
            KeyType::K1 => Ok(PublicKey::K1(fixed(data)?)),
            KeyType::R1 => Ok(PublicKey::R1(fixed(data)?)),
            KeyType::WebAuthn => {
                let mut r = Reader::new(data);
                let key = Self::unpack_variant(&mut r, KeyType::WebAuthn)
                    .map_err(|_| KeyError::BadData("WebAuthn key"))?;
                r.finish().map_err(|_| KeyError::BadData("WebAuthn key"))?;
                Ok(key)
            }
        }
    }

    fn unpack_variant(r: &mut Reader<'_>, t: KeyType) -> Result<Self, DecodeError> {
        let key = r.take_array::<33>()?;
        Ok(match t {
            KeyType::K1 => PublicKey::K1(key),
            KeyType::R1 => PublicKey::R1(key),
            KeyType::WebAuthn => PublicKey::WebAuthn {
                key,
                user_presence: r.u8()?,
                rpid: r.string()?,
            },
        })
    }

    /// The k256 verifying key of a K1 key (fails if the bytes are not a curve point).
    fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let q = self.k1_bytes().ok_or(KeyError::NotK1)?;
        VerifyingKey::from_sec1_bytes(q).map_err(|_| KeyError::BadData("K1 public key"))
    }

    fn from_verifying_key(vk: &VerifyingKey) -> Self {
        let point = vk.to_encoded_point(true);
        let mut out = [0u8; 33];
        // A compressed SEC1 point is always 33 bytes.
        out.copy_from_slice(point.as_bytes());
        PublicKey::K1(out)
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        if let Some((t, body)) = split_prefixed(s, "PUB") {
            let data = decode_suffixed(body, t.suffix())?;
            return Self::from_data(t, &data);
        }
        if let Some(body) = s.strip_prefix("EOS") {
            let data = decode_checked(body, |d| rmd4(&[d]))?;
            return Ok(PublicKey::K1(fixed(&data)?));
        }
        Err(KeyError::UnknownFormat(short(s)))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.key_type().suffix();
        write!(f, "PUB_{t}_{}", encode_suffixed(&self.data(), t))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl Pack for PublicKey {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(self.key_type() as u8);
        out.extend_from_slice(&self.data());
    }
}

impl Unpack for PublicKey {
    const MIN_SIZE: usize = 34;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        let t = KeyType::from_index(offset, r.varuint32()?)?;
        Self::unpack_variant(r, t)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ------------------------------------------------------------------------------------------------
// Private keys

/// A K1 private key. `Debug` shows only the public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey(SecretKey);

impl PrivateKey {
    /// From the 32 raw scalar bytes; rejects 0 and values ≥ n.
    pub fn from_bytes(d: &[u8; 32]) -> Result<Self, KeyError> {
        SecretKey::from_bytes(&FieldBytes::from(*d))
            .map(PrivateKey)
            .map_err(|_| KeyError::ScalarOutOfRange)
    }

    /// A fresh random key from the OS RNG.
    pub fn generate() -> Self {
        PrivateKey(SecretKey::random(&mut rand::rngs::OsRng))
    }

    /// The 32 raw scalar bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// Legacy WIF (`5…`).
    pub fn to_wif(&self) -> String {
        let mut buf = Vec::with_capacity(37);
        buf.push(0x80);
        buf.extend_from_slice(&self.to_bytes());
        let check = sha256d(&buf);
        buf.extend_from_slice(&check[..4]);
        bs58::encode(buf).into_string()
    }

    /// `PVT_K1_…` (also the `Display` form).
    pub fn to_pvt_k1(&self) -> String {
        format!("PVT_K1_{}", encode_suffixed(&self.to_bytes(), "K1"))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(&VerifyingKey::from(self.0.public_key()))
    }

    /// Deterministic, canonical K1 signature over a 32-byte digest (wharfkit-compatible).
    pub fn sign_digest(&self, digest: &Checksum256) -> Signature {
        let x: Scalar = *self.0.to_nonzero_scalar();
        let x_bytes = self.0.to_bytes();
        let h = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(digest.0));
        let h_bytes = h.to_bytes();
        for attempt in 1u8..=u8::MAX {
            let sig = sign_attempt(&x, &x_bytes, &h, &h_bytes, attempt);
            if is_canonical(&sig) {
                return Signature::K1(sig);
            }
        }
        // Each attempt is canonical with probability ~1/4; 255 failures in a row does not happen
        // (2^-106). Fall back to attempt 0 so this stays total; the result is still a valid
        // low-S signature.
        Signature::K1(sign_attempt(&x, &x_bytes, &h, &h_bytes, 0))
    }
}

/// `n − 1` as big-endian bytes, the exclusive upper bound elliptic puts on k.
const N_MINUS_1: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x40,
];

/// One elliptic `ec.sign(msg, key, {canonical: true, pers: [attempt]})`.
fn sign_attempt(
    x: &Scalar,
    x_bytes: &FieldBytes,
    h: &Scalar,
    h_bytes: &FieldBytes,
    attempt: u8,
) -> [u8; 65] {
    let mut drbg = rfc6979::HmacDrbg::<Sha256>::new(x_bytes, h_bytes, &[attempt]);
    loop {
        let mut k_bytes = [0u8; 32];
        drbg.fill_bytes(&mut k_bytes);
        // elliptic rejects k <= 1 and k >= n - 1.
        let k_small = k_bytes[..31].iter().all(|&b| b == 0) && k_bytes[31] <= 1;
        if k_small || k_bytes >= N_MINUS_1 {
            continue;
        }
        let Some(k) = Option::<Scalar>::from(Scalar::from_repr(k_bytes.into())) else {
            continue;
        };
        let point = (ProjectivePoint::GENERATOR * k).to_affine();
        let rx = point.x();
        let r = <Scalar as Reduce<U256>>::reduce_bytes(&rx);
        if bool::from(r.is_zero()) {
            continue;
        }
        let Some(k_inv) = Option::<Scalar>::from(k.invert()) else {
            continue;
        };
        let mut s = k_inv * (*h + r * x);
        if bool::from(s.is_zero()) {
            continue;
        }
        let r_bytes = r.to_bytes();
        let mut recid = u8::from(bool::from(point.y_is_odd())) | (u8::from(r_bytes != rx) << 1);
        if bool::from(s.is_high()) {
            s = -s;
            recid ^= 1;
        }
        let mut out = [0u8; 65];
        out[0] = recid + 31;
        out[1..33].copy_from_slice(&r_bytes);
        out[33..].copy_from_slice(&s.to_bytes());
        return out;
    }
}

/// EOSIO canonical: neither r nor s has its top bit set or a removable leading zero byte.
fn is_canonical(sig: &[u8; 65]) -> bool {
    let ok = |b: &[u8]| b[0] & 0x80 == 0 && !(b[0] == 0 && b[1] & 0x80 == 0);
    ok(&sig[1..33]) && ok(&sig[33..65])
}

impl FromStr for PrivateKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        if let Some(body) = s.strip_prefix("PVT_K1_") {
            let data = decode_suffixed(body, "K1")?;
            return Self::from_bytes(&fixed(&data)?);
        }
        if s.starts_with("PVT_") {
            return Err(KeyError::NotK1);
        }
        let data = decode_checked(s, |d| {
            let h = sha256d(d);
            [h[0], h[1], h[2], h[3]]
        })?;
        match data.split_first() {
            Some((&0x80, d)) => {
                // 33 bytes ending in 0x01 is the "compressed" WIF variant of the same scalar.
                let d = if d.len() == 33 && d[32] == 1 {
                    &d[..32]
                } else {
                    d
                };
                Self::from_bytes(&fixed(d)?)
            }
            Some((&v, _)) => Err(KeyError::BadWifVersion(v)),
            None => Err(KeyError::BadLength {
                expected: 33,
                got: 0,
            }),
        }
    }
}

impl fmt::Display for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_pvt_k1())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<secret> for {})", self.public_key())
    }
}

// ------------------------------------------------------------------------------------------------
// Signatures

/// A signature: K1 (recoverable, verifiable), R1 or WebAuthn (carried only).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Signature {
    /// `(recid + 31) ‖ r ‖ s`.
    K1([u8; 65]),
    /// `(recid + 31) ‖ r ‖ s` over secp256r1.
    R1([u8; 65]),
    /// WebAuthn assertion: compact r1 signature, authenticator data, client data JSON.
    WebAuthn {
        compact: [u8; 65],
        auth_data: Vec<u8>,
        client_json: String,
    },
}

impl Signature {
    pub fn key_type(&self) -> KeyType {
        match self {
            Signature::K1(_) => KeyType::K1,
            Signature::R1(_) => KeyType::R1,
            Signature::WebAuthn { .. } => KeyType::WebAuthn,
        }
    }

    /// The 65 bytes of a K1 signature.
    pub fn k1_bytes(&self) -> Option<&[u8; 65]> {
        match self {
            Signature::K1(b) => Some(b),
            _ => None,
        }
    }

    /// The signature data without the variant index (what the text form encodes).
    pub fn data(&self) -> Vec<u8> {
        match self {
            Signature::K1(b) | Signature::R1(b) => b.to_vec(),
            Signature::WebAuthn {
                compact,
                auth_data,
                client_json,
            } => {
                let mut out = compact.to_vec();
                crate::bytes::pack_bytes(auth_data, &mut out);
                client_json.pack(&mut out);
                out
            }
        }
    }

    /// Whether r and s are EOSIO-canonical (always true for what [`PrivateKey::sign_digest`] makes).
    pub fn is_canonical(&self) -> bool {
        self.k1_bytes().is_some_and(is_canonical)
    }

    /// k256 signature (low-S normalised) and recovery id of a K1 signature.
    fn k1_parts(&self) -> Result<(EcdsaSignature, RecoveryId), KeyError> {
        let b = self.k1_bytes().ok_or(KeyError::NotK1)?;
        let mut recid = b[0].checked_sub(27).ok_or(KeyError::Recovery)?;
        // 27..=30 is the uncompressed-key convention, 31..=34 compressed; both mean recid & 3.
        if recid >= 4 {
            recid -= 4;
        }
        let r: [u8; 32] = fixed(&b[1..33])?;
        let s: [u8; 32] = fixed(&b[33..65])?;
        let mut sig = EcdsaSignature::from_scalars(r, s).map_err(|_| KeyError::Recovery)?;
        if let Some(low) = sig.normalize_s() {
            sig = low;
            recid ^= 1;
        }
        let id = RecoveryId::from_byte(recid).ok_or(KeyError::Recovery)?;
        Ok((sig, id))
    }

    /// Recovers the K1 public key that produced this signature over `digest`.
    ///
    /// `Q = r⁻¹(s·R − h·G)` with R rebuilt from r and the recovery id; unlike k256's
    /// `recover_from_prehash` this does not verify again afterwards (the equation already
    /// guarantees it), which halves the cost.
    pub fn recover(&self, digest: &Checksum256) -> Result<PublicKey, KeyError> {
        let (sig, id) = self.k1_parts()?;
        let (r, s) = sig.split_scalars();
        let mut x = r.to_repr();
        if id.is_x_reduced() {
            let restored = Option::<U256>::from(
                <U256 as FieldBytesEncoding<Secp256k1>>::decode_field_bytes(&x)
                    .checked_add(&Secp256k1::ORDER),
            )
            .ok_or(KeyError::Recovery)?;
            x = <U256 as FieldBytesEncoding<Secp256k1>>::encode_field_bytes(&restored);
        }
        let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
            &x,
            Choice::from(u8::from(id.is_y_odd())),
        ))
        .ok_or(KeyError::Recovery)?;
        let h = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(digest.0));
        let r_inv = Option::<Scalar>::from(r.invert()).ok_or(KeyError::Recovery)?;
        let u1 = -(r_inv * h);
        let u2 = r_inv * *s;
        let q = ProjectivePoint::lincomb(
            &ProjectivePoint::GENERATOR,
            &u1,
            &ProjectivePoint::from(big_r),
            &u2,
        );
        let vk = VerifyingKey::from_affine(q.to_affine()).map_err(|_| KeyError::Recovery)?;
        Ok(PublicKey::from_verifying_key(&vk))
    }

    /// True if this is a valid K1 signature over `digest` by `key` (high S accepted).
    pub fn verify(&self, digest: &Checksum256, key: &PublicKey) -> bool {
        let (Ok((sig, _)), Ok(vk)) = (self.k1_parts(), key.verifying_key()) else {
            return false;
        };
        vk.verify_prehash(&digest.0, &sig).is_ok()
    }

    fn from_data(t: KeyType, data: &[u8]) -> Result<Self, KeyError> {
        match t {
            KeyType::K1 => Ok(Signature::K1(fixed(data)?)),
            KeyType::R1 => Ok(Signature::R1(fixed(data)?)),
            KeyType::WebAuthn => {
                let mut r = Reader::new(data);
                let sig = Self::unpack_variant(&mut r, KeyType::WebAuthn)
                    .map_err(|_| KeyError::BadData("WebAuthn signature"))?;
                r.finish()
                    .map_err(|_| KeyError::BadData("WebAuthn signature"))?;
                Ok(sig)
            }
        }
    }

    fn unpack_variant(r: &mut Reader<'_>, t: KeyType) -> Result<Self, DecodeError> {
        let compact = r.take_array::<65>()?;
        Ok(match t {
            KeyType::K1 => Signature::K1(compact),
            KeyType::R1 => Signature::R1(compact),
            KeyType::WebAuthn => Signature::WebAuthn {
                compact,
                auth_data: r.bytes()?.to_vec(),
                client_json: r.string()?,
            },
        })
    }
}

impl FromStr for Signature {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (t, body) =
            split_prefixed(s, "SIG").ok_or_else(|| KeyError::UnknownFormat(short(s)))?;
        let data = decode_suffixed(body, t.suffix())?;
        Self::from_data(t, &data)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.key_type().suffix();
        write!(f, "SIG_{t}_{}", encode_suffixed(&self.data(), t))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl Pack for Signature {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(self.key_type() as u8);
        out.extend_from_slice(&self.data());
    }
}

impl Unpack for Signature {
    const MIN_SIZE: usize = 66;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        let t = KeyType::from_index(offset, r.varuint32()?)?;
        Self::unpack_variant(r, t)
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_key_forms() {
        let k: PrivateKey = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3"
            .parse()
            .unwrap();
        assert_eq!(
            k.to_pvt_k1(),
            "PVT_K1_2bfGi9rYsXQSXXTvJbDAPhHLQUojjaNLomdm3cEJ1XTzMqUt3V"
        );
        let p = k.public_key();
        assert_eq!(
            p.to_string(),
            "PUB_K1_6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5BoDq63"
        );
        assert_eq!(
            p.to_legacy_string().unwrap(),
            "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
        );
        assert_eq!(format!("{k:?}"), format!("PrivateKey(<secret> for {p})"));
    }

    #[test]
    fn high_s_and_uncompressed_recid_forms_recover() {
        let k: PrivateKey = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3"
            .parse()
            .unwrap();
        let digest = Checksum256::sha256(b"x");
        let sig = k.sign_digest(&digest);
        let b = *sig.k1_bytes().unwrap();
        // s' = n - s with the parity flipped describes the same signature
        let s = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::clone_from_slice(&b[33..])))
            .unwrap();
        let mut high = b;
        high[0] = ((b[0] - 31) ^ 1) + 31;
        high[33..].copy_from_slice(&(-s).to_bytes());
        let high = Signature::K1(high);
        assert!(!high.is_canonical());
        assert_eq!(high.recover(&digest).unwrap(), k.public_key());
        assert!(high.verify(&digest, &k.public_key()));
        // 27..=30 header bytes
        let mut legacy = b;
        legacy[0] -= 4;
        assert_eq!(
            Signature::K1(legacy).recover(&digest).unwrap(),
            k.public_key()
        );
        let mut bad = b;
        bad[0] = 5;
        assert_eq!(Signature::K1(bad).recover(&digest), Err(KeyError::Recovery));
    }

    #[test]
    fn wire_variants_round_trip() {
        let wa = PublicKey::WebAuthn {
            key: [2; 33],
            user_presence: 1,
            rpid: "example.org".into(),
        };
        let r1 = PublicKey::R1([3; 33]);
        for key in [wa, r1] {
            assert_eq!(PublicKey::unpacked(&key.packed()).unwrap(), key);
            assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
        }
        let sig = Signature::WebAuthn {
            compact: [31; 65],
            auth_data: vec![1, 2, 3],
            client_json: "{}".into(),
        };
        assert_eq!(Signature::unpacked(&sig.packed()).unwrap(), sig);
        assert_eq!(sig.to_string().parse::<Signature>().unwrap(), sig);
        assert!(Signature::unpacked(&[3; 66]).is_err());
    }
}
