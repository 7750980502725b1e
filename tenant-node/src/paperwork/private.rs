//! Private data (pure): the kinds the node keeps, their validation with the documents crate's
//! checks before anything is written, their stored form, and the versioning rule.
//!
//! Versioning: every write appends a version tagged with the node's synced head block at the
//! write (the `sync_checkpoint` block, 0 before the first block is stored) and a sequence
//! number. A read [`AsOf`] block N returns the newest version with `block_num <= N`; a
//! document also records the highest sequence number it saw, and its regeneration reads with
//! that bound too, so data written later (even within the same block) never changes it.

use documents::image::{ImageError, SignatureImage};
use documents::model::check::ValidationErrors;
use documents::model::{BankAccount, FreeProject, User, Vars};
use documents::validate::{self, Problem};
use serde_json::Value;
use thiserror::Error;

/// What a private-data version is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivateKind {
    /// A person (subject: the account).
    Individual,
    /// An individual entrepreneur (subject: the account).
    Entrepreneur,
    /// An organization (subject: the account; the cooperative's own data has the cooperative
    /// as subject).
    Organization,
    /// The default bank account of an account (or of the cooperative); it replaces the bank
    /// account embedded in the entrepreneur or organization data.
    BankAccount,
    /// The cooperative's document variables (subject: the cooperative).
    Vars,
    /// The handwritten signature image (subject: the account).
    Signature,
    /// A free-decision project (subject: its id).
    Project,
}

impl PrivateKind {
    pub const ALL: [PrivateKind; 7] = [
        PrivateKind::Individual,
        PrivateKind::Entrepreneur,
        PrivateKind::Organization,
        PrivateKind::BankAccount,
        PrivateKind::Vars,
        PrivateKind::Signature,
        PrivateKind::Project,
    ];

    /// The three account types of a member.
    pub const USER: [PrivateKind; 3] = [
        PrivateKind::Individual,
        PrivateKind::Entrepreneur,
        PrivateKind::Organization,
    ];

    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            PrivateKind::Individual => "individual",
            PrivateKind::Entrepreneur => "entrepreneur",
            PrivateKind::Organization => "organization",
            PrivateKind::BankAccount => "bank_account",
            PrivateKind::Vars => "vars",
            PrivateKind::Signature => "signature",
            PrivateKind::Project => "project",
        }
    }

    pub fn parse(text: &str) -> Option<PrivateKind> {
        PrivateKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Which version a read returns: the newest with `block_num <= block` and, when `seq` is set,
/// `seq <= seq` (the snapshot a document was generated from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    pub block: u32,
    pub seq: Option<i64>,
}

impl AsOf {
    pub fn block(block: u32) -> AsOf {
        AsOf { block, seq: None }
    }
}

/// One version of private data as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    pub seq: i64,
    pub kind: PrivateKind,
    pub subject: String,
    pub block_num: u32,
    pub data: Option<Value>,
    pub image: Option<Vec<u8>>,
}

/// Where a write landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub seq: i64,
    pub block_num: u32,
}

/// A validated piece of private data.
#[derive(Debug, Clone, PartialEq)]
pub enum PrivateRecord {
    User(User),
    BankAccount(BankAccount),
    Vars(Vars),
    Signature(SignatureImage),
    Project(FreeProject),
}

/// Why private data was refused (nothing was written).
#[derive(Debug, Error)]
pub enum PrivateDataError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("subject {subject:?}: {problem}")]
    Subject { subject: String, problem: Problem },
    #[error("the variables name cooperative {found:?}, this node serves {expected:?}")]
    OtherCooperative { expected: String, found: String },
    #[error("the project id is {record:?} but it is written as {subject:?}")]
    ProjectId { subject: String, record: String },
    #[error("stored {kind} data of {subject:?} is unreadable: {message}")]
    Corrupt {
        kind: &'static str,
        subject: String,
        message: String,
    },
}

impl PrivateRecord {
    pub fn kind(&self) -> PrivateKind {
        match self {
            PrivateRecord::User(User::Individual(_)) => PrivateKind::Individual,
            PrivateRecord::User(User::Entrepreneur(_)) => PrivateKind::Entrepreneur,
            PrivateRecord::User(User::Organization(_)) => PrivateKind::Organization,
            PrivateRecord::BankAccount(_) => PrivateKind::BankAccount,
            PrivateRecord::Vars(_) => PrivateKind::Vars,
            PrivateRecord::Signature(_) => PrivateKind::Signature,
            PrivateRecord::Project(_) => PrivateKind::Project,
        }
    }

    /// Checks the record and its subject for a write by the node of `coopname`.
    pub fn validate(&self, subject: &str, coopname: &str) -> Result<(), PrivateDataError> {
        let subject_err = |problem| PrivateDataError::Subject {
            subject: subject.chars().take(40).collect(),
            problem,
        };
        match self {
            PrivateRecord::Project(p) => {
                validate::text(subject, 100).map_err(subject_err)?;
                if p.id != subject {
                    return Err(PrivateDataError::ProjectId {
                        subject: subject.to_owned(),
                        record: p.id.chars().take(100).collect(),
                    });
                }
                p.validate()?;
            }
            other => {
                validate::account_name(subject).map_err(subject_err)?;
                match other {
                    PrivateRecord::User(u) => u.validate()?,
                    PrivateRecord::BankAccount(b) => b.validate()?,
                    PrivateRecord::Vars(v) => {
                        if subject != coopname || v.coopname != coopname {
                            return Err(PrivateDataError::OtherCooperative {
                                expected: coopname.to_owned(),
                                found: if subject != coopname {
                                    subject.to_owned()
                                } else {
                                    v.coopname.clone()
                                },
                            });
                        }
                        v.validate()?;
                    }
                    // checked when the image was built (PNG/JPEG structure, size limits)
                    PrivateRecord::Signature(_) | PrivateRecord::Project(_) => {}
                }
            }
        }
        Ok(())
    }

    /// The stored form: JSON data, or the image bytes for a signature.
    pub fn to_stored(&self) -> (Option<Value>, Option<Vec<u8>>) {
        let json = |v: Result<Value, serde_json::Error>| v.ok();
        match self {
            PrivateRecord::User(User::Individual(i)) => (json(serde_json::to_value(i)), None),
            PrivateRecord::User(User::Entrepreneur(e)) => (json(serde_json::to_value(e)), None),
            PrivateRecord::User(User::Organization(o)) => (json(serde_json::to_value(o)), None),
            PrivateRecord::BankAccount(b) => (json(serde_json::to_value(b)), None),
            PrivateRecord::Vars(v) => (json(serde_json::to_value(v)), None),
            PrivateRecord::Project(p) => (json(serde_json::to_value(p)), None),
            PrivateRecord::Signature(s) => (None, Some(s.bytes().to_vec())),
        }
    }

    /// Parses a stored version back (and re-checks a signature image).
    pub fn from_stored(v: &StoredVersion) -> Result<PrivateRecord, PrivateDataError> {
        let corrupt = |message: String| PrivateDataError::Corrupt {
            kind: v.kind.as_str(),
            subject: v.subject.clone(),
            message,
        };
        if v.kind == PrivateKind::Signature {
            let bytes = v.image.clone().ok_or_else(|| corrupt("no image".into()))?;
            return SignatureImage::from_bytes(bytes)
                .map(PrivateRecord::Signature)
                .map_err(|e| corrupt(e.to_string()));
        }
        let data = v.data.clone().ok_or_else(|| corrupt("no data".into()))?;
        let parsed = match v.kind {
            PrivateKind::Individual => {
                serde_json::from_value(data).map(|i| PrivateRecord::User(User::Individual(i)))
            }
            PrivateKind::Entrepreneur => {
                serde_json::from_value(data).map(|e| PrivateRecord::User(User::Entrepreneur(e)))
            }
            PrivateKind::Organization => {
                serde_json::from_value(data).map(|o| PrivateRecord::User(User::Organization(o)))
            }
            PrivateKind::BankAccount => {
                serde_json::from_value(data).map(PrivateRecord::BankAccount)
            }
            PrivateKind::Vars => serde_json::from_value(data).map(PrivateRecord::Vars),
            PrivateKind::Project => serde_json::from_value(data).map(PrivateRecord::Project),
            PrivateKind::Signature => unreachable!("handled above"),
        };
        parsed.map_err(|e| corrupt(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use documents::model::AccountType;
    use documents::sample;

    #[test]
    fn records_round_trip_through_their_stored_form() {
        for record in [
            PrivateRecord::User(sample::user(AccountType::Individual)),
            PrivateRecord::User(sample::user(AccountType::Entrepreneur)),
            PrivateRecord::User(sample::user(AccountType::Organization)),
            PrivateRecord::Vars(sample::vars()),
            PrivateRecord::Project(sample::project()),
            PrivateRecord::Signature(sample::signature()),
        ] {
            let (data, image) = record.to_stored();
            let v = StoredVersion {
                seq: 1,
                kind: record.kind(),
                subject: "x".into(),
                block_num: 1,
                data,
                image,
            };
            assert_eq!(PrivateRecord::from_stored(&v).unwrap(), record);
            assert_eq!(
                PrivateKind::parse(record.kind().as_str()),
                Some(record.kind())
            );
        }
    }

    #[test]
    fn validation_refuses_bad_fields_subjects_and_foreign_vars() {
        let mut user = sample::user(AccountType::Entrepreneur);
        if let User::Entrepreneur(e) = &mut user {
            // a wrong check digit
            let last = e
                .details
                .inn
                .pop()
                .and_then(|c| c.to_digit(10))
                .unwrap_or(0);
            e.details
                .inn
                .push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
            e.email = "not-an-email".into();
        }
        let e = PrivateRecord::User(user)
            .validate("smirnova.op", "voskhod")
            .unwrap_err();
        let PrivateDataError::Invalid(errors) = e else {
            panic!("{e}")
        };
        assert!(errors.has("user.entrepreneur.details.inn"), "{errors}");
        assert!(errors.has("user.entrepreneur.email"), "{errors}");
        let ok = PrivateRecord::User(sample::user(AccountType::Individual));
        assert!(ok.validate("ivanov.ii", "voskhod").is_ok());
        assert!(matches!(
            ok.validate("Not A Name", "voskhod"),
            Err(PrivateDataError::Subject { .. })
        ));
        let vars = PrivateRecord::Vars(sample::vars());
        assert!(vars.validate("voskhod", "voskhod").is_ok());
        assert!(matches!(
            vars.validate("zarya", "zarya"),
            Err(PrivateDataError::OtherCooperative { .. })
        ));
        let project = PrivateRecord::Project(sample::project());
        assert!(matches!(
            project.validate("other-id", "voskhod"),
            Err(PrivateDataError::ProjectId { .. })
        ));
    }
}
