//! Paperwork: the cooperative's private data, document generation, storage, regeneration and
//! signed-document verification, joining the documents crate with the node's storage.
//!
//! - [`private`] (pure): kinds of private data, validation, versioning rule ([`AsOf`]);
//! - [`signed`] (pure): verification of an incoming signed `document2`;
//! - [`keys`]: where the signers' keys come from (the chain, else a stored key);
//! - [`report`] (pure): the `regenerate` command's text/JSON report and exit code;
//! - this file: [`Paperwork`], the service the CLI and (later) GraphQL call.
//!
//! The data of a document is read as of one snapshot: the synced head block
//! (`sync_checkpoint`, which becomes `meta.block_num`) and the newest private-data version
//! (kept with the document as `data_seq`). Chain data (the cooperative's `registrator::orgs`
//! row, the council) comes from the synced registries as of the same block.

pub mod keys;
pub mod private;
pub mod report;
pub mod signed;

use std::collections::HashMap;
use std::sync::Arc;

use chain::document::Document2;
use chain::Name;
use documents::factory::{Factory, GenerateError};
use documents::image::SignatureImage;
use documents::meta::MetaInput;
use documents::model::{
    BankAccount, Board, BoardMember, Coop, DocumentData, Fees, FreeProject, Individual,
    Organization, User,
};
use documents::pdf::PdfError;
use documents::verify::{Mismatch, Verdict};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::config::Contracts;
use crate::db::documents::StoredDocument;
use crate::db::registry::Registry;
use crate::db::{Db, DbError};
use crate::registry::Cooperative;

use self::keys::KeySource;
use self::private::{AsOf, PrivateDataError, PrivateKind, PrivateRecord, Written};
use self::signed::{SignedDocumentError, SignerKeys};

/// Why a paperwork operation failed.
#[derive(Debug, Error)]
pub enum PaperworkError {
    #[error(transparent)]
    Private(#[from] PrivateDataError),
    #[error("{what} is not stored as of block {block}")]
    Missing { what: String, block: u32 },
    #[error("registry {registry_id}: {what} are not supported by the tenant node yet")]
    Unsupported {
        registry_id: u32,
        what: &'static str,
    },
    #[error("meta.coopname {found:?} is not this cooperative ({expected})")]
    OtherCooperative { expected: String, found: String },
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("no document {doc_hash} is stored{}", .username.as_ref().map(|u| format!(" for {u}")).unwrap_or_default())]
    UnknownDocument {
        doc_hash: String,
        username: Option<String>,
    },
    #[error(transparent)]
    Signed(#[from] SignedDocumentError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The outcome of regenerating one stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regeneration {
    pub doc_hash: String,
    pub username: String,
    pub registry_id: u32,
    pub block_num: u32,
    pub verdict: Verdict,
}

/// The paperwork service of one cooperative.
#[derive(Debug, Clone)]
pub struct Paperwork {
    db: Db,
    registry: Registry,
    coop: Name,
    factory: Arc<Factory>,
}

impl Paperwork {
    pub fn new(db: Db, coop: Name, contracts: Contracts, factory: Arc<Factory>) -> Paperwork {
        Paperwork {
            registry: Registry::new(db.clone(), coop, contracts),
            db,
            coop,
            factory,
        }
    }

    pub fn factory(&self) -> &Factory {
        &self.factory
    }

    /// Validates and appends a version of private data (nothing is written when invalid).
    pub async fn write(
        &self,
        subject: &str,
        record: &PrivateRecord,
    ) -> Result<Written, PaperworkError> {
        record.validate(subject, &self.coop.to_string())?;
        let (data, image) = record.to_stored();
        Ok(self
            .db
            .write_private(record.kind(), subject, data.as_ref(), image.as_deref())
            .await?)
    }

    /// Stores a handwritten signature given as PNG or JPEG bytes (checked: structure, size).
    pub async fn write_signature(
        &self,
        username: &str,
        image: Vec<u8>,
    ) -> Result<Written, PaperworkError> {
        let image = SignatureImage::from_bytes(image).map_err(PrivateDataError::from)?;
        self.write(username, &PrivateRecord::Signature(image)).await
    }

    /// Creates a free-decision project with a fresh random id.
    pub async fn create_project(
        &self,
        question: &str,
        decision: &str,
    ) -> Result<FreeProject, PaperworkError> {
        let id: [u8; 16] = rand::random();
        let project = FreeProject {
            id: hex::encode(id),
            question: question.to_owned(),
            decision: decision.to_owned(),
        };
        self.write(
            &project.id.clone(),
            &PrivateRecord::Project(project.clone()),
        )
        .await?;
        Ok(project)
    }

    /// The newest version of `subject` among `kinds` as of `as_of`.
    pub async fn read(
        &self,
        kinds: &[PrivateKind],
        subject: &str,
        as_of: AsOf,
    ) -> Result<Option<PrivateRecord>, PaperworkError> {
        match self.db.private_at(kinds, subject, as_of).await? {
            Some(v) => Ok(Some(PrivateRecord::from_stored(&v)?)),
            None => Ok(None),
        }
    }

    async fn require(
        &self,
        kinds: &[PrivateKind],
        subject: &str,
        as_of: AsOf,
        what: impl FnOnce() -> String,
    ) -> Result<PrivateRecord, PaperworkError> {
        self.read(kinds, subject, as_of)
            .await?
            .ok_or_else(|| PaperworkError::Missing {
                what: what(),
                block: as_of.block,
            })
    }

    /// A member's data with the separately stored bank account applied.
    async fn user(&self, username: &str, as_of: AsOf) -> Result<User, PaperworkError> {
        let record = self
            .require(&PrivateKind::USER, username, as_of, || {
                format!("the private data of {username}")
            })
            .await?;
        let PrivateRecord::User(mut user) = record else {
            unreachable!("user kinds give user records")
        };
        if let Some(PrivateRecord::BankAccount(bank)) = self
            .read(&[PrivateKind::BankAccount], username, as_of)
            .await?
        {
            match &mut user {
                User::Entrepreneur(e) => e.bank_account = bank,
                User::Organization(o) => o.bank_account = bank,
                User::Individual(_) => {}
            }
        }
        Ok(user)
    }

    /// The cooperative: its organization data, its `registrator::orgs` row and its council
    /// (names from the members' private data), all as of `as_of`.
    async fn coop(&self, as_of: AsOf) -> Result<Coop, PaperworkError> {
        let coopname = self.coop.to_string();
        let missing = |what: String| PaperworkError::Missing {
            what,
            block: as_of.block,
        };
        let org = match self.user(&coopname, as_of).await? {
            User::Organization(o) => o,
            _ => {
                return Err(missing(format!(
                    "the organization data of the cooperative {coopname}"
                )))
            }
        };
        let row = self
            .registry
            .cooperative(Some(as_of.block))
            .await?
            .ok_or_else(|| missing("the cooperative's registrator::orgs row".into()))?;
        let roles = self.registry.roles(Some(as_of.block)).await?;
        let boards = self.registry.boards(Some(as_of.block)).await?;
        let soviet = boards
            .iter()
            .find(|b| b.kind == chain::name!("soviet"))
            .ok_or_else(|| missing("the council (soviet board)".into()))?;
        let chairman = roles
            .chairman
            .ok_or_else(|| missing("the council's chairman".into()))?;
        let mut council = Vec::with_capacity(soviet.members.len());
        for m in &soviet.members {
            let username = m.username.to_string();
            let person = match self.user(&username, as_of).await? {
                User::Individual(i) => i,
                _ => {
                    return Err(missing(format!(
                        "the individual data of council member {username}"
                    )))
                }
            };
            council.push((
                m.username,
                board_member(&username, &person, &m.position_title),
            ));
        }
        Ok(coop_of(&coopname, org, &row, chairman, council))
    }

    /// Reads everything a document of `registry_id` needs for `username` as of `as_of`.
    pub async fn document_data(
        &self,
        registry_id: u32,
        username: &str,
        extra: &Map<String, Value>,
        as_of: AsOf,
    ) -> Result<DocumentData, PaperworkError> {
        let decision = match extra.get("decision_id") {
            Some(id) => Some(self.decision(registry_id, id, as_of).await?),
            None if matches!(registry_id, 501 | 600) => {
                return Err(PaperworkError::Missing {
                    what: "meta.decision_id".into(),
                    block: as_of.block,
                })
            }
            None => None,
        };
        if extra.contains_key("braname") {
            return Err(PaperworkError::Unsupported {
                registry_id,
                what: "branches (braname)",
            });
        }
        let coopname = self.coop.to_string();
        let coop = self.coop(as_of).await?;
        let vars = match self
            .require(&[PrivateKind::Vars], &coopname, as_of, || {
                "the cooperative's document variables".into()
            })
            .await?
        {
            PrivateRecord::Vars(v) => v,
            _ => unreachable!("vars kind gives vars"),
        };
        // The admission decision is about its candidate (the decision's `username`); its
        // meta names the member it was generated for (the chairman who signs it).
        let subject = match &decision {
            Some((row, _)) if registry_id == 501 => row.username.to_string(),
            _ => username.to_owned(),
        };
        let user = self.user(&subject, as_of).await?;
        let signature = if registry_id == 100 {
            match self
                .read(&[PrivateKind::Signature], username, as_of)
                .await?
            {
                Some(PrivateRecord::Signature(s)) => Some(s),
                _ => None,
            }
        } else {
            None
        };
        let project = match extra.get("project_id").and_then(Value::as_str) {
            Some(id) => match self
                .require(&[PrivateKind::Project], id, as_of, || {
                    format!("the free-decision project {id}")
                })
                .await?
            {
                PrivateRecord::Project(p) => Some(p),
                _ => unreachable!("project kind gives projects"),
            },
            None => None,
        };
        Ok(DocumentData {
            coop,
            vars,
            user,
            branch: None,
            decision: decision.map(|(_, d)| d),
            project,
            signature,
        })
    }

    /// The council decision `id` (meta `decision_id`) as of `as_of`: the synced row (also
    /// after it left the agenda) and the documents' view of it (date and time of its creation
    /// in Moscow time, the votes of the voting council members). 501 needs a `joincoop`
    /// decision, 600 a `freedecision`.
    async fn decision(
        &self,
        registry_id: u32,
        id: &Value,
        as_of: AsOf,
    ) -> Result<(crate::registry::Decision, documents::model::Decision), PaperworkError> {
        let id = id
            .as_u64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| PaperworkError::Missing {
                what: "a numeric meta.decision_id".into(),
                block: as_of.block,
            })?;
        let row = self
            .registry
            .decision(id, Some(as_of.block))
            .await?
            .ok_or_else(|| PaperworkError::Missing {
                what: format!("council decision {id}"),
                block: as_of.block,
            })?;
        let expected = match registry_id {
            501 => Some(chain::name!("joincoop")),
            600 => Some(chain::name!("freedecision")),
            _ => None,
        };
        if expected.is_some_and(|k| k != row.kind) {
            return Err(PaperworkError::Missing {
                what: format!("council decision {id} of the kind registry {registry_id} needs"),
                block: as_of.block,
            });
        }
        let roles = self.registry.roles(Some(as_of.block)).await?;
        Ok((row.clone(), decision_of(&row, &roles.voting_members)))
    }

    /// Generates document `registry_id` for `input.username` as of the current snapshot
    /// (synced head block and newest private data) and stores it, unless `skip_save` is true
    /// in the meta extras (a preview). `input.block_num` is replaced by the snapshot's block;
    /// an empty `input.coopname` means this cooperative.
    pub async fn generate(
        &self,
        registry_id: u32,
        mut input: MetaInput,
    ) -> Result<StoredDocument, PaperworkError> {
        let coopname = self.coop.to_string();
        if input.coopname.is_empty() {
            input.coopname.clone_from(&coopname);
        } else if input.coopname != coopname {
            return Err(PaperworkError::OtherCooperative {
                expected: coopname,
                found: input.coopname.chars().take(40).collect(),
            });
        }
        if let Err(problem) = documents::validate::account_name(&input.username) {
            return Err(PaperworkError::Generate(GenerateError::Meta(
                documents::meta::MetaError::Field {
                    field: "username",
                    problem,
                },
            )));
        }
        let snapshot = self.db.private_snapshot().await?;
        input.block_num = u64::from(snapshot.block_num);
        let as_of = AsOf {
            block: snapshot.block_num,
            seq: Some(snapshot.seq),
        };
        let data = self
            .document_data(registry_id, &input.username, &input.extra, as_of)
            .await?;
        let skip_save = input.extra.get("skip_save") == Some(&Value::Bool(true));
        let doc = self.factory.generate(registry_id, input, &data).await?;
        let record = StoredDocument {
            doc_hash: doc.hash,
            username: doc.meta.username.clone(),
            registry_id,
            block_num: snapshot.block_num,
            data_seq: snapshot.seq,
            meta: doc.meta.to_value(),
            full_title: doc.full_title,
            html: doc.html,
            pdf: doc.binary,
        };
        if skip_save {
            return Ok(record);
        }
        Ok(self.db.store_document(&record).await?)
    }

    /// Regenerates a meta (a stored one, or one from a signed document) with the data as of
    /// its `block_num` (and, when given, the private-data snapshot `data_seq`) and compares
    /// the result with `doc_hash` (and `pdf`, when given). `Err` only when nothing could be
    /// decided (database or PDF engine failure).
    pub async fn verify_meta(
        &self,
        meta: &Value,
        doc_hash: &str,
        pdf: Option<&[u8]>,
        data_seq: Option<i64>,
    ) -> Result<Verdict, PaperworkError> {
        let parsed = match documents::verify::parse_stored_meta(meta) {
            Ok(m) => m,
            Err(m) => return Ok(Verdict::Mismatch(m)),
        };
        if parsed.coopname != self.coop.to_string() {
            return Ok(Verdict::Mismatch(Mismatch::Meta(format!(
                "coopname {} is not this cooperative",
                parsed.coopname
            ))));
        }
        let Ok(block) = u32::try_from(parsed.block_num) else {
            return Ok(Verdict::Mismatch(Mismatch::Meta(
                "block_num is out of range".into(),
            )));
        };
        let as_of = AsOf {
            block,
            seq: data_seq,
        };
        let data = match self
            .document_data(parsed.registry_id, &parsed.username, &parsed.extra, as_of)
            .await
        {
            Ok(d) => d,
            Err(PaperworkError::Db(e)) => return Err(PaperworkError::Db(e)),
            Err(e) => return Ok(Verdict::Mismatch(Mismatch::Data(e.to_string()))),
        };
        Ok(documents::verify::verify(&self.factory, meta, &data, doc_hash, pdf).await?)
    }

    /// Regenerates the stored records of `doc_hash` (the member's, or every member's) and
    /// compares each with its hash and stored PDF.
    pub async fn regenerate(
        &self,
        doc_hash: &str,
        username: Option<&str>,
    ) -> Result<Vec<Regeneration>, PaperworkError> {
        let doc_hash = doc_hash.trim().to_ascii_uppercase();
        let records: Vec<StoredDocument> = self
            .db
            .documents_by_hash(&doc_hash)
            .await?
            .into_iter()
            .filter(|d| username.is_none_or(|u| d.username == u))
            .collect();
        if records.is_empty() {
            return Err(PaperworkError::UnknownDocument {
                doc_hash,
                username: username.map(str::to_owned),
            });
        }
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let verdict = if r.meta.get("username").and_then(Value::as_str) != Some(&r.username) {
                Verdict::Mismatch(Mismatch::Meta(format!(
                    "the stored meta names another member than {}",
                    r.username
                )))
            } else {
                self.verify_meta(&r.meta, &r.doc_hash, Some(&r.pdf), Some(r.data_seq))
                    .await?
            };
            out.push(Regeneration {
                doc_hash: r.doc_hash,
                username: r.username,
                registry_id: r.registry_id,
                block_num: r.block_num,
                verdict,
            });
        }
        Ok(out)
    }

    /// Verifies a signed document submitted by `username` against the stored draft and the
    /// signers' keys from `keys`.
    pub async fn verify_signed(
        &self,
        doc: &Document2,
        username: Name,
        keys: &impl KeySource,
    ) -> Result<(), PaperworkError> {
        let stored = self
            .db
            .documents_by_hash(&doc.doc_hash.to_hex_upper())
            .await?;
        let mut signer_keys = HashMap::new();
        if stored.iter().any(|s| s.username == username.to_string()) {
            for sig in &doc.signatures {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    signer_keys.entry(sig.signer)
                {
                    let found = keys
                        .signer_keys(sig.signer)
                        .await
                        .map_err(SignedDocumentError::KeySource)?;
                    slot.insert(found);
                }
            }
        } else {
            signer_keys.insert(username, SignerKeys::Unknown);
        }
        signed::verify_signed(doc, username, &stored, &signer_keys)?;
        Ok(())
    }
}

/// The documents' view of a council decision (pure): creation date and time in Moscow time,
/// votes of the voting members (a vote of someone no longer voting does not count).
fn decision_of(row: &crate::registry::Decision, voting: &[Name]) -> documents::model::Decision {
    use documents::clock::{DateTime, Zone};
    let at = DateTime::in_zone(i64::from(row.created_at.as_unix()), Zone::Moscow);
    let count = |names: &[Name]| names.iter().filter(|n| voting.contains(n)).count() as u32;
    let votes_for = count(&row.votes_for);
    let votes_against = count(&row.votes_against);
    let total = voting.len() as u32;
    let voted = votes_for + votes_against;
    documents::model::Decision {
        id: row.id,
        date: format!(
            "{:04}-{:02}-{:02}",
            at.date.year, at.date.month, at.date.day
        ),
        time: at.time_text(),
        votes_for,
        votes_against,
        votes_abstained: total.saturating_sub(voted),
        voters_percent: if total == 0 {
            0.0
        } else {
            (f64::from(voted) * 100.0 / f64::from(total)).round()
        },
    }
}

fn board_member(username: &str, person: &Individual, position: &str) -> BoardMember {
    BoardMember {
        username: username.to_owned(),
        last_name: person.last_name.clone(),
        first_name: person.first_name.clone(),
        middle_name: person.middle_name.clone(),
        position: position.to_owned(),
    }
}

/// The documents' view of the cooperative (pure).
fn coop_of(
    coopname: &str,
    org: Organization,
    row: &Cooperative,
    chairman: Name,
    council: Vec<(Name, BoardMember)>,
) -> Coop {
    let mut chair = None;
    let mut members = Vec::new();
    for (name, member) in council {
        if name == chairman && chair.is_none() {
            chair = Some(member);
        } else {
            members.push(member);
        }
    }
    let chairman = chair.unwrap_or_else(|| BoardMember {
        username: chairman.to_string(),
        last_name: String::new(),
        first_name: String::new(),
        middle_name: String::new(),
        position: String::new(),
    });
    let bank_account: BankAccount = org.bank_account;
    Coop {
        coopname: coopname.to_owned(),
        short_name: org.short_name,
        full_name: org.full_name,
        full_address: org.full_address,
        fact_address: org.fact_address,
        phone: org.phone,
        email: org.email,
        details: org.details,
        bank_account,
        board: Board { chairman, members },
        fees: Fees {
            registration: row.registration.to_string(),
            minimum: row.minimum.to_string(),
            org_registration: row
                .org_registration
                .as_ref()
                .unwrap_or(&row.registration)
                .to_string(),
            org_minimum: row.org_minimum.as_ref().unwrap_or(&row.minimum).to_string(),
        },
        is_branched: row.is_branched,
    }
}
