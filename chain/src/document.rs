//! Signed documents: `document2` (version "1.1.0", the current format) and the legacy
//! `document{hash, public_key, signature, meta}`; hashing, signing and verification per
//! documents.md §9–§10.
//!
//! Hash rules (`+` joins hex/ASCII text, `sha256(str)` is lowercase hex of the UTF-8 bytes):
//! - `meta_hash = sha256(JCS(meta))` for "1.1.0"; `sha256(meta)` (the stored `JSON.stringify`
//!   text as given) for "1.0.0" and "";
//! - `hash = sha256(meta_hash + doc_hash)`, `doc_hash` as the factory prints it (UPPERCASE);
//! - `signed_hash = sha256(hash + signed_at)`, `signed_at` as `YYYY-MM-DDTHH:MM:SS`;
//! - each signature is K1 over the 32 raw bytes of `signed_hash`.
//!
//! On the wire the hashes are bytes, so their text case is lost. Verification recomputes `hash`
//! with the UPPERCASE `doc_hash` text (the factory's) and also accepts the lowercase spelling
//! (clients that lower-case hashes before signing); every other hash is lowercase by definition.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::checksum::Checksum256;
use crate::jcs;
use crate::keys::{PrivateKey, PublicKey, Signature};
use crate::name::Name;
use crate::pack_struct;
use crate::time::TimePointSec;

/// The version new documents are emitted with.
pub const DOCUMENT2_VERSION: &str = "1.1.0";

/// Why a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocumentError {
    #[error("unsupported document version {0:?}")]
    UnsupportedVersion(String),
    #[error("meta is not valid JSON (or not an object): {0}")]
    BadMeta(String),
    #[error("doc_hash {0:?} is not 64 hex characters")]
    BadDocHash(String),
    #[error("meta_hash is {found}, but the meta hashes to {computed}")]
    MetaHashMismatch {
        found: Checksum256,
        computed: Checksum256,
    },
    #[error("hash is {found}, but meta_hash + doc_hash give {computed}")]
    HashMismatch {
        found: Checksum256,
        computed: Checksum256,
    },
    #[error("doc_hash is {found}, expected {expected}")]
    DocHashMismatch {
        found: Checksum256,
        expected: Checksum256,
    },
    #[error("document has no signatures")]
    NoSignatures,
    #[error("signature ids must be 1, 2, …: position {position} has id {id}")]
    NonConsecutiveIds { position: usize, id: u32 },
    #[error("signature {id}: signed_hash is {found}, but hash + signed_at give {computed}")]
    SignedHashMismatch {
        id: u32,
        found: Checksum256,
        computed: Checksum256,
    },
    #[error("signature {id} does not verify against {public_key}")]
    BadSignature { id: u32, public_key: PublicKey },
    #[error("signature {id}: signer {signer} is not an expected signer")]
    UnexpectedSigner { id: u32, signer: Name },
    #[error("signature {id}: key {public_key} is not allowed for signer {signer}")]
    SignerKeyNotAllowed {
        id: u32,
        signer: Name,
        public_key: PublicKey,
    },
    #[error("required signer {0} did not sign")]
    MissingSigner(Name),
}

/// `signature_info`: one signature on a `document2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignatureInfo {
    pub id: u32,
    pub signed_hash: Checksum256,
    pub signer: Name,
    pub public_key: PublicKey,
    pub signature: Signature,
    pub signed_at: TimePointSec,
    pub meta: String,
}
pack_struct!(SignatureInfo {
    id,
    signed_hash,
    signer,
    public_key,
    signature,
    signed_at,
    meta
});

/// `document2`: a PDF hash (`doc_hash`) bound to its meta and signed by one or more accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Document2 {
    pub version: String,
    pub hash: Checksum256,
    pub doc_hash: Checksum256,
    pub meta_hash: Checksum256,
    pub meta: String,
    pub signatures: Vec<SignatureInfo>,
}
pack_struct!(Document2 {
    version,
    hash,
    doc_hash,
    meta_hash,
    meta,
    signatures
});

/// Legacy `document` (older chain data only): `signature` covers `hash` alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Document {
    pub hash: Checksum256,
    pub public_key: PublicKey,
    pub signature: Signature,
    pub meta: String,
}
pack_struct!(Document {
    hash,
    public_key,
    signature,
    meta
});

/// What a verifier expects beyond internal consistency.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// The doc_hash the document must carry (e.g. the hash of the stored PDF).
    pub doc_hash: Option<Checksum256>,
    /// If set, every signer must be a key of this map and sign with one of its keys
    /// (e.g. the keys of `signer@active`).
    pub allowed_keys: Option<HashMap<Name, Vec<PublicKey>>>,
    /// Accounts that must have signed.
    pub required_signers: Vec<Name>,
}

/// `meta_hash` for a document version, from the stored meta text.
pub fn meta_hash(version: &str, meta: &str) -> Result<Checksum256, DocumentError> {
    match version {
        DOCUMENT2_VERSION => {
            let value: Value =
                serde_json::from_str(meta).map_err(|e| DocumentError::BadMeta(e.to_string()))?;
            Ok(Checksum256::sha256(jcs::canonicalize(&value)))
        }
        "1.0.0" | "" => Ok(Checksum256::sha256(meta)),
        other => Err(DocumentError::UnsupportedVersion(other.to_owned())),
    }
}

/// `hash = sha256(meta_hash + doc_hash_text)`, both as text.
pub fn document_hash(meta_hash: &Checksum256, doc_hash_text: &str) -> Checksum256 {
    Checksum256::sha256(format!("{}{doc_hash_text}", meta_hash.to_hex()))
}

/// `signed_hash = sha256(hash + signed_at)`, `signed_at` as `YYYY-MM-DDTHH:MM:SS`.
pub fn signed_hash(hash: &Checksum256, signed_at: TimePointSec) -> Checksum256 {
    Checksum256::sha256(format!("{}{signed_at}", hash.to_hex()))
}

impl Document2 {
    /// An unsigned "1.1.0" document for a PDF hash (the factory's hex text, kept as given for
    /// `hash`; UPPERCASE is the factory's form) and a meta object, stored in JCS form.
    pub fn new(doc_hash: &str, meta: &Value) -> Result<Self, DocumentError> {
        let doc_hash_bytes = Checksum256::from_hex(doc_hash)
            .map_err(|_| DocumentError::BadDocHash(doc_hash.chars().take(80).collect()))?;
        let obj = meta
            .as_object()
            .ok_or_else(|| DocumentError::BadMeta("meta must be a JSON object".into()))?;
        if !obj.contains_key("registry_id") {
            return Err(DocumentError::BadMeta(
                "meta must contain registry_id".into(),
            ));
        }
        let meta_text = jcs::canonicalize(meta);
        let meta_hash = Checksum256::sha256(&meta_text);
        Ok(Document2 {
            version: DOCUMENT2_VERSION.to_owned(),
            hash: document_hash(&meta_hash, doc_hash),
            doc_hash: doc_hash_bytes,
            meta_hash,
            meta: meta_text,
            signatures: Vec::new(),
        })
    }

    /// An empty document (`hash == 0`), which contracts treat as "no document".
    pub fn is_empty(&self) -> bool {
        self.hash.is_zero()
    }

    /// The signature `signer` makes with `key` at `signed_at` (meta `"{}"`); not yet attached.
    pub fn signature_info(
        &self,
        signer: Name,
        key: &PrivateKey,
        signed_at: TimePointSec,
        id: u32,
    ) -> SignatureInfo {
        let signed_hash = signed_hash(&self.hash, signed_at);
        SignatureInfo {
            id,
            signed_hash,
            signer,
            public_key: key.public_key(),
            signature: key.sign_digest(&signed_hash),
            signed_at,
            meta: "{}".to_owned(),
        }
    }

    /// Signs and attaches the signature (replacing one with the same id), keeping the list
    /// sorted by id as the SDK does; returns the new signature.
    pub fn sign(
        &mut self,
        signer: Name,
        key: &PrivateKey,
        signed_at: TimePointSec,
        id: u32,
    ) -> SignatureInfo {
        let info = self.signature_info(signer, key, signed_at, id);
        self.signatures.retain(|s| s.id != id);
        self.signatures.push(info.clone());
        self.signatures.sort_by_key(|s| s.id);
        info
    }

    /// Internal consistency only: hashes, ids and every signature (see [`Self::verify`]).
    pub fn verify_integrity(&self) -> Result<(), DocumentError> {
        self.verify(&Expectations::default())
    }

    /// Recomputes meta_hash and hash, checks the expected doc_hash, that ids run 1, 2, …, and
    /// for every signature its signed_hash, the K1 signature against its public key, and the
    /// allowed signers/keys; finally that every required signer signed.
    pub fn verify(&self, expect: &Expectations) -> Result<(), DocumentError> {
        let computed = meta_hash(&self.version, &self.meta)?;
        if computed != self.meta_hash {
            return Err(DocumentError::MetaHashMismatch {
                found: self.meta_hash,
                computed,
            });
        }
        let upper = document_hash(&self.meta_hash, &self.doc_hash.to_hex_upper());
        if upper != self.hash
            && document_hash(&self.meta_hash, &self.doc_hash.to_hex()) != self.hash
        {
            return Err(DocumentError::HashMismatch {
                found: self.hash,
                computed: upper,
            });
        }
        if let Some(expected) = expect.doc_hash {
            if expected != self.doc_hash {
                return Err(DocumentError::DocHashMismatch {
                    found: self.doc_hash,
                    expected,
                });
            }
        }
        if self.signatures.is_empty() {
            return Err(DocumentError::NoSignatures);
        }
        for (position, sig) in self.signatures.iter().enumerate() {
            if usize::try_from(sig.id).ok() != Some(position + 1) {
                return Err(DocumentError::NonConsecutiveIds {
                    position,
                    id: sig.id,
                });
            }
        }
        for sig in &self.signatures {
            verify_signature_info(&self.hash, sig, expect)?;
        }
        for required in &expect.required_signers {
            if !self.signatures.iter().any(|s| s.signer == *required) {
                return Err(DocumentError::MissingSigner(*required));
            }
        }
        Ok(())
    }
}

fn verify_signature_info(
    hash: &Checksum256,
    sig: &SignatureInfo,
    expect: &Expectations,
) -> Result<(), DocumentError> {
    let computed = signed_hash(hash, sig.signed_at);
    if computed != sig.signed_hash {
        return Err(DocumentError::SignedHashMismatch {
            id: sig.id,
            found: sig.signed_hash,
            computed,
        });
    }
    if !sig.signature.verify(&sig.signed_hash, &sig.public_key) {
        return Err(DocumentError::BadSignature {
            id: sig.id,
            public_key: sig.public_key.clone(),
        });
    }
    if let Some(allowed) = &expect.allowed_keys {
        let keys = allowed
            .get(&sig.signer)
            .ok_or(DocumentError::UnexpectedSigner {
                id: sig.id,
                signer: sig.signer,
            })?;
        if !keys.contains(&sig.public_key) {
            return Err(DocumentError::SignerKeyNotAllowed {
                id: sig.id,
                signer: sig.signer,
                public_key: sig.public_key.clone(),
            });
        }
    }
    Ok(())
}

impl Document {
    /// Checks that `signature` over the raw `hash` bytes verifies against `public_key`.
    pub fn verify(&self) -> Result<(), DocumentError> {
        if self.signature.verify(&self.hash, &self.public_key) {
            Ok(())
        } else {
            Err(DocumentError::BadSignature {
                id: 0,
                public_key: self.public_key.clone(),
            })
        }
    }
}
