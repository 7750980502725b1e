//! Verification of an incoming signed document (`document2` "1.1.0") against what the node
//! generated (pure: the stored records and the signers' keys are loaded by the caller).
//!
//! Checks, in order: the version; the `doc_hash` is stored AND stored for this member; the
//! document is internally consistent (`meta_hash` of its meta, `hash`, every `signed_hash` and
//! K1 signature, ids 1, 2, …); its `meta_hash` is the hash of the stored meta; the member
//! signed; every signer's key is on that signer's `active` permission (or, for an account not
//! yet on chain, is the key stored for it).

use std::collections::HashMap;

use chain::document::{meta_hash, Document2, DocumentError, Expectations, DOCUMENT2_VERSION};
use chain::jcs;
use chain::keys::PublicKey;
use chain::{Checksum256, Name};
use thiserror::Error;

use crate::db::documents::StoredDocument;

/// Where a signer's acceptable keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerKeys {
    /// The keys of the account's `active` permission on chain.
    OnChain(Vec<PublicKey>),
    /// The account is not on chain yet: the public key stored for it at signup.
    Stored(Vec<PublicKey>),
    /// Neither on chain nor known to the node.
    Unknown,
}

/// Why a signed document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignedDocumentError {
    #[error("document version {0:?} is not accepted (only \"1.1.0\")")]
    Version(String),
    #[error("no document with doc_hash {0} was generated here")]
    UnknownHash(String),
    #[error("the document {doc_hash} was not generated for {username}")]
    NotYours { doc_hash: String, username: Name },
    #[error("the document is inconsistent: {0}")]
    Integrity(DocumentError),
    #[error("meta_hash {found} is not the hash {stored} of the meta generated for this document")]
    MetaDiffers {
        found: Checksum256,
        stored: Checksum256,
    },
    #[error("{0} did not sign the document")]
    NotSignedByMember(Name),
    #[error("signer {0} has no account on chain and no stored key")]
    UnknownSigner(Name),
    #[error("signature {id}: key {public_key} is not on {signer}@active")]
    KeyNotActive {
        id: u32,
        signer: Name,
        public_key: PublicKey,
    },
    #[error("the signers' keys could not be looked up: {0}")]
    KeySource(String),
}

/// Verifies `doc` submitted by `username`. `stored` are all records with the document's
/// `doc_hash` (any member); `keys` has an entry for every signer of `doc`.
pub fn verify_signed(
    doc: &Document2,
    username: Name,
    stored: &[StoredDocument],
    keys: &HashMap<Name, SignerKeys>,
) -> Result<(), SignedDocumentError> {
    if doc.version != DOCUMENT2_VERSION {
        return Err(SignedDocumentError::Version(
            doc.version.chars().take(20).collect(),
        ));
    }
    let doc_hash = doc.doc_hash.to_hex_upper();
    if stored.is_empty() {
        return Err(SignedDocumentError::UnknownHash(doc_hash));
    }
    let Some(mine) = stored
        .iter()
        .find(|s| s.username == username.to_string() && s.doc_hash == doc_hash)
    else {
        return Err(SignedDocumentError::NotYours { doc_hash, username });
    };
    // internal consistency first (hashes and signatures), without key expectations
    doc.verify(&Expectations {
        doc_hash: Some(doc.doc_hash),
        ..Expectations::default()
    })
    .map_err(SignedDocumentError::Integrity)?;
    let stored_hash = meta_hash(DOCUMENT2_VERSION, &jcs::canonicalize(&mine.meta))
        .map_err(SignedDocumentError::Integrity)?;
    if stored_hash != doc.meta_hash {
        return Err(SignedDocumentError::MetaDiffers {
            found: doc.meta_hash,
            stored: stored_hash,
        });
    }
    if !doc.signatures.iter().any(|s| s.signer == username) {
        return Err(SignedDocumentError::NotSignedByMember(username));
    }
    for sig in &doc.signatures {
        let allowed = match keys.get(&sig.signer) {
            Some(SignerKeys::OnChain(k) | SignerKeys::Stored(k)) => k,
            Some(SignerKeys::Unknown) | None => {
                return Err(SignedDocumentError::UnknownSigner(sig.signer))
            }
        };
        // keys compare by their bytes (PublicKey equality), never by their text form
        if !allowed.contains(&sig.public_key) {
            return Err(SignedDocumentError::KeyNotActive {
                id: sig.id,
                signer: sig.signer,
                public_key: sig.public_key.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::keys::PrivateKey;
    use chain::time::TimePointSec;
    use serde_json::json;

    const HASH: &str = "DB49450A3392977E6FBF17360D65FADCABE202E5C75FA51CD05C30C1A43D6B2A";

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn key(seed: u8) -> PrivateKey {
        PrivateKey::from_bytes(&[seed; 32]).unwrap()
    }

    fn meta() -> serde_json::Value {
        json!({"title": "Заявление", "registry_id": 100, "username": "ant1", "block_num": 42})
    }

    fn stored(username: &str) -> StoredDocument {
        StoredDocument {
            doc_hash: HASH.into(),
            username: username.into(),
            registry_id: 100,
            block_num: 42,
            data_seq: 1,
            meta: meta(),
            full_title: String::new(),
            html: String::new(),
            pdf: Vec::new(),
        }
    }

    fn signed(meta: &serde_json::Value, signer: &str, seed: u8) -> Document2 {
        let mut doc = Document2::new(HASH, meta).unwrap();
        doc.sign(
            n(signer),
            &key(seed),
            TimePointSec::from_unix(1_738_405_800),
            1,
        );
        doc
    }

    fn keys(signer: &str, seed: u8) -> HashMap<Name, SignerKeys> {
        HashMap::from([(n(signer), SignerKeys::OnChain(vec![key(seed).public_key()]))])
    }

    #[test]
    fn each_failure_has_its_error() {
        let doc = signed(&meta(), "ant1", 30);
        let ok = verify_signed(&doc, n("ant1"), &[stored("ant1")], &keys("ant1", 30));
        assert_eq!(ok, Ok(()));
        assert!(matches!(
            verify_signed(&doc, n("ant1"), &[], &keys("ant1", 30)),
            Err(SignedDocumentError::UnknownHash(_))
        ));
        assert!(matches!(
            verify_signed(&doc, n("ant1"), &[stored("bob")], &keys("ant1", 30)),
            Err(SignedDocumentError::NotYours { .. })
        ));
        let mut other_meta = meta();
        other_meta["block_num"] = json!(43);
        let tampered = signed(&other_meta, "ant1", 30);
        assert!(matches!(
            verify_signed(&tampered, n("ant1"), &[stored("ant1")], &keys("ant1", 30)),
            Err(SignedDocumentError::MetaDiffers { .. })
        ));
        let by_bob = signed(&meta(), "bob", 31);
        assert_eq!(
            verify_signed(&by_bob, n("ant1"), &[stored("ant1")], &keys("bob", 31)),
            Err(SignedDocumentError::NotSignedByMember(n("ant1")))
        );
        assert!(matches!(
            verify_signed(&doc, n("ant1"), &[stored("ant1")], &keys("ant1", 99)),
            Err(SignedDocumentError::KeyNotActive { id: 1, .. })
        ));
        assert_eq!(
            verify_signed(&doc, n("ant1"), &[stored("ant1")], &HashMap::new()),
            Err(SignedDocumentError::UnknownSigner(n("ant1")))
        );
        let mut broken = doc.clone();
        broken.signatures[0].signature = key(31).sign_digest(&broken.signatures[0].signed_hash);
        assert!(matches!(
            verify_signed(&broken, n("ant1"), &[stored("ant1")], &keys("ant1", 30)),
            Err(SignedDocumentError::Integrity(
                DocumentError::BadSignature { .. }
            ))
        ));
        let mut old = doc;
        old.version = "1.0.0".into();
        assert!(matches!(
            verify_signed(&old, n("ant1"), &[stored("ant1")], &keys("ant1", 30)),
            Err(SignedDocumentError::Version(_))
        ));
    }
}
