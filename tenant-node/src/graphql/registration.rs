//! Registration of a new participant: `registerAccount` (no token: the user, their private data
//! and their public key, in one transaction), the registration documents (the four agreements
//! and the application, the caller's own only) and `registerParticipant` (every signed document
//! verified against its stored draft and the signer's key; the package is stored, nothing goes
//! to the chain until the registration payment is PAID).

use std::str::FromStr;
use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Json, Object, Result, SimpleObject};
use base64::Engine as _;
use chain::api::ChainApiError;
use chain::document::Document2;
use chain::keys::PublicKey;
use chain::Name;
use documents::meta::MetaInput;
use documents::model::{Entrepreneur, Individual, Organization, User as Person};
use serde_json::Value;

use super::guard::{self, api, bad_input, conflict, internal, unavailable};
use super::query::parse_name;
use super::types::{valid_email, Account, RegisteredAccount};
use super::Api;
use crate::auth::role_of;
use crate::config::Config;
use crate::db::auth::NewUser;
use crate::db::registration::RegisterError;
use crate::db::Db;
use crate::outbox::{Agreement, RegistrationPackage};
use crate::paperwork::keys::{ChainKeys, StoredKeys};
use crate::paperwork::private::PrivateRecord;
use crate::paperwork::{Paperwork, PaperworkError};
use crate::payments::AccountType;

/// Largest handwritten-signature image accepted by `generateParticipantApplication` (base64).
const MAX_SIGNATURE_B64: usize = 48 * 1024;

/// The registry ids of the four agreements, with the `agreement_type` the chain gets.
pub const AGREEMENTS: [(&str, u32); 4] =
    [("wallet", 1), ("signature", 2), ("privacy", 3), ("user", 4)];
/// The registry id of the participant application (the statement).
pub const STATEMENT: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "AccountType", rename_items = "lowercase")]
pub enum AccountTypeInput {
    Individual,
    Entrepreneur,
    Organization,
}

impl From<AccountTypeInput> for AccountType {
    fn from(t: AccountTypeInput) -> Self {
        match t {
            AccountTypeInput::Individual => AccountType::Individual,
            AccountTypeInput::Entrepreneur => AccountType::Entrepreneur,
            AccountTypeInput::Organization => AccountType::Organization,
        }
    }
}

/// `registerAccount`: exactly the `*_data` of `type` (the documents crate's model; the account's
/// e-mail is used when the data has none).
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegisterAccountInput {
    pub email: String,
    pub username: String,
    /// The key the candidate logs in and signs with until the account is on chain.
    pub public_key: String,
    #[graphql(name = "type")]
    pub account_type: AccountTypeInput,
    pub individual_data: Option<Json<Value>>,
    pub entrepreneur_data: Option<Json<Value>>,
    pub organization_data: Option<Json<Value>>,
}

/// The meta of a registration document to generate (the caller's own: `username` must be the
/// caller). `block_num` is ignored: documents are generated as of the node's synced head.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "GenerateDocumentInput", rename_fields = "snake_case")]
pub struct GenerateDocumentInput {
    pub coopname: String,
    pub username: String,
    pub block_num: Option<i64>,
    pub created_at: Option<String>,
    pub timezone: Option<String>,
    pub lang: Option<String>,
    pub title: Option<String>,
    pub generator: Option<String>,
    pub version: Option<String>,
    pub links: Option<Vec<String>>,
}

/// The participant application: the meta, `links` = the four agreements' doc_hashes, the
/// handwritten signature (base64 PNG/JPEG, stored as the caller's signature image) and
/// `skip_save` for a preview.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ParticipantApplicationGenerateInput {
    pub coopname: String,
    pub username: String,
    pub block_num: Option<i64>,
    pub created_at: Option<String>,
    pub timezone: Option<String>,
    pub lang: Option<String>,
    pub title: Option<String>,
    pub generator: Option<String>,
    pub version: Option<String>,
    pub links: Option<Vec<String>>,
    pub braname: Option<String>,
    pub signature: Option<String>,
    #[graphql(default)]
    pub skip_save: bool,
}

/// A generated document (`binary`: the PDF, base64).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GeneratedDocument {
    pub full_title: String,
    pub html: String,
    pub hash: String,
    pub meta: Json<Value>,
    pub binary: String,
}

/// `registerParticipant`: the signed application and the four signed agreements, each a
/// `document2` ("1.1.0") JSON object; `braname` exactly when the cooperative is branched.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegisterParticipantInput {
    pub username: String,
    pub braname: Option<String>,
    pub statement: Json<Value>,
    pub wallet_agreement: Json<Value>,
    pub signature_agreement: Json<Value>,
    pub privacy_agreement: Json<Value>,
    pub user_agreement: Json<Value>,
}

/// The stored public key of a user who is not on chain yet (the verifier's fallback).
#[derive(Debug, Clone)]
pub struct UserKeys(pub Db);

impl StoredKeys for UserKeys {
    async fn stored_key(&self, username: Name) -> Result<Option<PublicKey>, String> {
        let user = self.0.user(username).await.map_err(|e| e.to_string())?;
        Ok(user
            .and_then(|u| u.public_key)
            .and_then(|k| PublicKey::from_str(&k).ok()))
    }
}

/// The paperwork service of the API, its PDF engine started on first use (a node that never
/// generates a document runs no WeasyPrint workers).
pub struct Documents {
    config: Config,
    db: Db,
    cell: tokio::sync::OnceCell<Paperwork>,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Documents(started: {})", self.cell.initialized())
    }
}

impl Documents {
    pub fn new(config: &Config, db: Db) -> Documents {
        Documents {
            config: config.clone(),
            db,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// The service, starting the PDF engine if it is not running yet.
    pub async fn get(&self) -> anyhow::Result<&Paperwork> {
        self.cell
            .get_or_try_init(|| async {
                let factory = crate::cli::start_factory(&self.config).await?;
                Ok(Paperwork::new(
                    self.db.clone(),
                    self.config.coopname,
                    self.config.contracts.clone(),
                    Arc::new(factory),
                ))
            })
            .await
    }
}

async fn paperwork(api: &Api) -> Result<&Paperwork> {
    api.paperwork.get().await.map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "The document factory cannot start");
        unavailable("document generation is not available on this node")
    })
}

/// A paperwork failure as the caller sees it: refusals with their reason, the rest internal.
fn paperwork_error(e: PaperworkError) -> async_graphql::Error {
    match e {
        PaperworkError::Db(e) => internal(e),
        PaperworkError::Pdf(e) => internal(e),
        other => bad_input(other.to_string()),
    }
}

/// The private data of `type` from the input, e-mail filled in, validated.
fn person(data: &RegisterAccountInput, email: &str) -> Result<Person> {
    let (given, others) = match data.account_type {
        AccountTypeInput::Individual => (
            &data.individual_data,
            [&data.entrepreneur_data, &data.organization_data],
        ),
        AccountTypeInput::Entrepreneur => (
            &data.entrepreneur_data,
            [&data.individual_data, &data.organization_data],
        ),
        AccountTypeInput::Organization => (
            &data.organization_data,
            [&data.individual_data, &data.entrepreneur_data],
        ),
    };
    if others.iter().any(|o| o.is_some()) {
        return Err(bad_input("give only the *_data of the account's type"));
    }
    let mut value = given
        .as_ref()
        .map(|j| j.0.clone())
        .ok_or_else(|| bad_input("the *_data of the account's type is required"))?;
    if let Some(obj) = value.as_object_mut() {
        obj.entry("email")
            .or_insert_with(|| Value::String(email.to_owned()));
    }
    let field_error = |e: serde_json::Error| bad_input(format!("invalid account data: {e}"));
    let person = match data.account_type {
        AccountTypeInput::Individual => {
            Person::Individual(serde_json::from_value::<Individual>(value).map_err(field_error)?)
        }
        AccountTypeInput::Entrepreneur => Person::Entrepreneur(
            serde_json::from_value::<Entrepreneur>(value).map_err(field_error)?,
        ),
        AccountTypeInput::Organization => Person::Organization(
            serde_json::from_value::<Organization>(value).map_err(field_error)?,
        ),
    };
    Ok(person)
}

/// Is `username` free on chain? (an unknown account is the chain's `account_query_exception`)
async fn free_on_chain(api: &Api, username: Name) -> Result<bool> {
    match api.chain.get_account(username).await {
        Ok(_) => Ok(false),
        Err(ChainApiError::Leap { name, .. }) if name == "account_query_exception" => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "get_account failed during registration");
            Err(unavailable("the chain cannot be reached; try again later"))
        }
    }
}

/// Generates `registry_id` for the caller (only their own documents).
async fn generate_own(
    ctx: &Context<'_>,
    registry_id: u32,
    input: MetaInput,
) -> Result<GeneratedDocument> {
    let caller = guard::caller(ctx).await?;
    let username = parse_name("username", &input.username)?;
    if username != caller.username {
        return Err(guard::forbidden());
    }
    let api = api(ctx);
    let doc = paperwork(api)
        .await?
        .generate(registry_id, input)
        .await
        .map_err(paperwork_error)?;
    Ok(GeneratedDocument {
        full_title: doc.full_title,
        html: doc.html,
        hash: doc.doc_hash,
        meta: Json(doc.meta),
        binary: base64::engine::general_purpose::STANDARD.encode(&doc.pdf),
    })
}

fn document(field: &str, value: &Json<Value>) -> Result<Document2> {
    serde_json::from_value::<Document2>(value.0.clone())
        .map_err(|e| bad_input(format!("{field} is not a signed document (document2): {e}")))
}

/// The registry id and links of a document's meta.
fn meta_of(field: &str, doc: &Document2) -> Result<(u64, Vec<String>, Option<String>)> {
    let meta: Value = serde_json::from_str(&doc.meta)
        .map_err(|_| bad_input(format!("{field}: meta is not JSON")))?;
    let registry_id = meta
        .get("registry_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_input(format!("{field}: meta.registry_id is missing")))?;
    let links = meta
        .get("links")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let braname = meta
        .get("braname")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    Ok((registry_id, links, braname))
}

/// Registration: account, documents, participant. See the module docs.
#[derive(Debug, Default)]
pub struct RegistrationMutation;

#[Object]
impl RegistrationMutation {
    /// Creates a user (status `created`) with their private data and public key; returns the
    /// account and tokens. `registration_hash = sha256(username)`.
    async fn register_account(
        &self,
        ctx: &Context<'_>,
        data: RegisterAccountInput,
    ) -> Result<RegisteredAccount> {
        let api = api(ctx);
        let email = data.email.trim().to_owned();
        if !valid_email(&email) {
            return Err(bad_input("email is not a valid address"));
        }
        let username = parse_name("username", &data.username)?;
        if username.to_string().len() != 12 || username.to_string().contains('.') {
            return Err(bad_input(
                "username must be 12 characters of a-z and 1-5 (no dots)",
            ));
        }
        let key = PublicKey::from_str(data.public_key.trim())
            .map_err(|_| bad_input("public_key is not a valid public key"))?;
        let person = person(&data, &email)?;
        let record = PrivateRecord::User(person);
        record
            .validate(&username.to_string(), &api.coopname.to_string())
            .map_err(|e| bad_input(e.to_string()))?;
        if username == api.coopname || !free_on_chain(api, username).await? {
            return Err(conflict("the username is taken"));
        }
        let (json, _) = record.to_stored();
        let json = json.ok_or_else(|| internal("account data does not serialize"))?;
        let account_type: AccountType = data.account_type.into();
        let new = NewUser {
            username,
            email,
            public_key: Some(key.to_string()),
            status: "created".into(),
            account_type: account_type.as_str().into(),
        };
        match api.db.register_account(&new, record.kind(), &json).await {
            Ok(()) => {}
            Err(RegisterError::UsernameTaken) => return Err(conflict("the username is taken")),
            Err(RegisterError::EmailTaken) => return Err(conflict("the e-mail is taken")),
            Err(RegisterError::Db(e)) => return Err(internal(e)),
        }
        tracing::info!(user = %username,
            registration_hash = %crate::outbox::registration_hash(username).to_hex(),
            "Account registered");
        let user = api
            .db
            .user(username)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("the registered user is missing"))?;
        super::mutation::open_session(api, user).await
    }

    /// The privacy policy consent (registry 3) for the caller.
    async fn generate_privacy_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> Result<GeneratedDocument> {
        generate_own(ctx, 3, data.into_meta()).await
    }

    /// The digital signature regulation (registry 2) for the caller.
    async fn generate_signature_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> Result<GeneratedDocument> {
        generate_own(ctx, 2, data.into_meta()).await
    }

    /// The user agreement (registry 4) for the caller.
    async fn generate_user_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> Result<GeneratedDocument> {
        generate_own(ctx, 4, data.into_meta()).await
    }

    /// The "Digital wallet" programme agreement (registry 1) for the caller.
    async fn generate_wallet_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> Result<GeneratedDocument> {
        generate_own(ctx, 1, data.into_meta()).await
    }

    /// The participant application (registry 100) for the caller; `links` must be the four
    /// agreements' doc_hashes for registerParticipant to accept it.
    async fn generate_participant_application(
        &self,
        ctx: &Context<'_>,
        data: ParticipantApplicationGenerateInput,
    ) -> Result<GeneratedDocument> {
        let caller = guard::caller(ctx).await?;
        if parse_name("username", &data.username)? != caller.username {
            return Err(guard::forbidden());
        }
        if data.braname.as_deref().is_some_and(|b| !b.is_empty()) {
            return Err(bad_input(
                "branches (braname) are not supported by this node yet",
            ));
        }
        let api = api(ctx);
        if let Some(sig) = data.signature.as_deref().filter(|s| !s.is_empty()) {
            if sig.len() > MAX_SIGNATURE_B64 {
                return Err(bad_input("signature image is too large"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(sig.trim())
                .map_err(|_| bad_input("signature is not base64"))?;
            if !data.skip_save {
                paperwork(api)
                    .await?
                    .write_signature(&caller.username.to_string(), bytes)
                    .await
                    .map_err(paperwork_error)?;
            }
        }
        let mut meta = MetaInput {
            coopname: data.coopname,
            username: data.username,
            block_num: 0,
            created_at: data.created_at,
            timezone: data.timezone,
            lang: data.lang,
            title: data.title,
            generator: data.generator,
            version: data.version,
            links: data.links.unwrap_or_default(),
            extra: serde_json::Map::new(),
        };
        if data.skip_save {
            meta.extra.insert("skip_save".into(), Value::Bool(true));
        }
        generate_own(ctx, STATEMENT, meta).await
    }

    /// Verifies and stores the signed application and agreements (no chain action).
    async fn register_participant(
        &self,
        ctx: &Context<'_>,
        data: RegisterParticipantInput,
    ) -> Result<Account> {
        let caller = guard::caller(ctx).await?;
        let username = parse_name("username", &data.username)?;
        if username != caller.username {
            return Err(guard::forbidden());
        }
        let api = api(ctx);
        let user = api
            .db
            .user(username)
            .await
            .map_err(internal)?
            .ok_or_else(guard::unauthenticated)?;
        if !matches!(user.status.as_str(), "created" | "joined") {
            return Err(conflict("this account is already registered"));
        }
        let public_key = user
            .public_key
            .as_deref()
            .and_then(|k| PublicKey::from_str(k).ok())
            .ok_or_else(|| bad_input("the account has no stored public key"))?;
        let account_type: AccountType = user.account_type.parse().map_err(internal)?;
        let coop = api
            .registry
            .cooperative(None)
            .await
            .map_err(internal)?
            .ok_or_else(|| unavailable("the cooperative is not synced yet"))?;
        let braname = data
            .braname
            .as_deref()
            .filter(|b| !b.is_empty())
            .map(|b| parse_name("braname", b))
            .transpose()?;
        match (coop.is_branched, braname) {
            (true, None) => {
                return Err(bad_input(
                    "braname is required: the cooperative is branched",
                ))
            }
            (false, Some(_)) => {
                return Err(bad_input(
                    "braname must not be given: the cooperative is not branched",
                ))
            }
            (true, Some(b)) => {
                let branches = api.registry.branches(None).await.map_err(internal)?;
                if !branches.iter().any(|br| br.braname == b) {
                    return Err(bad_input(format!("branch {b} does not exist")));
                }
            }
            (false, None) => {}
        }
        let given = [
            ("wallet_agreement", &data.wallet_agreement),
            ("signature_agreement", &data.signature_agreement),
            ("privacy_agreement", &data.privacy_agreement),
            ("user_agreement", &data.user_agreement),
        ];
        let statement = document("statement", &data.statement)?;
        let mut agreements = Vec::with_capacity(4);
        for ((field, value), (kind, registry_id)) in given.iter().zip(AGREEMENTS) {
            let doc = document(field, value)?;
            let (id, _, _) = meta_of(field, &doc)?;
            if id != u64::from(registry_id) {
                return Err(bad_input(format!(
                    "{field} must be document {registry_id}, got {id}"
                )));
            }
            agreements.push((field, kind, doc));
        }
        let (id, links, statement_branch) = meta_of("statement", &statement)?;
        if id != u64::from(STATEMENT) {
            return Err(bad_input(format!(
                "statement must be document {STATEMENT}, got {id}"
            )));
        }
        if statement_branch != braname.map(|b| b.to_string()) {
            return Err(bad_input("statement.meta.braname does not match braname"));
        }
        for (field, _, doc) in &agreements {
            let hash = doc.doc_hash.to_hex_upper();
            if !links.contains(&hash) {
                return Err(bad_input(format!(
                    "statement.meta.links does not hold the doc_hash of {field}"
                )));
            }
        }
        let keys = ChainKeys::with_stored(api.chain.clone(), UserKeys(api.db.clone()));
        let paperwork = paperwork(api).await?;
        let all = std::iter::once(("statement", &statement))
            .chain(agreements.iter().map(|(f, _, d)| (**f, d)));
        for (field, doc) in all {
            if let Some(other) = doc.signatures.iter().find(|s| s.signer != username) {
                return Err(bad_input(format!(
                    "{field}: signed by {}, only {username} may sign it",
                    other.signer
                )));
            }
            paperwork
                .verify_signed(doc, username, &keys)
                .await
                .map_err(|e| match e {
                    PaperworkError::Signed(s) => bad_input(format!("{field}: {s}")),
                    other => paperwork_error(other),
                })?;
        }
        let package = RegistrationPackage {
            username,
            account_type,
            public_key,
            braname: braname.unwrap_or_default(),
            referer: Name::default(),
            statement,
            agreements: agreements
                .into_iter()
                .map(|(_, kind, document)| Agreement {
                    agreement_type: Name::parse(kind).expect("static agreement type"),
                    document,
                })
                .collect(),
        };
        api.db
            .save_registration_package(&package)
            .await
            .map_err(|e| match e {
                crate::db::payments::PaymentsError::Refused(r) => conflict(r.to_string()),
                crate::db::payments::PaymentsError::Db(e) => internal(e),
            })?;
        tracing::info!(user = %username, "Registration documents stored");
        let user = api
            .db
            .user(username)
            .await
            .map_err(internal)?
            .ok_or_else(guard::unauthenticated)?;
        let roles = api.registry.roles(None).await.map_err(internal)?;
        Ok(Account {
            username: username.to_string(),
            role: role_of(username, &roles),
            provider_account: Some(user.into()),
            participant_account: None,
        })
    }
}

impl GenerateDocumentInput {
    fn into_meta(self) -> MetaInput {
        MetaInput {
            coopname: self.coopname,
            username: self.username,
            block_num: 0,
            created_at: self.created_at,
            timezone: self.timezone,
            lang: self.lang,
            title: self.title,
            generator: self.generator,
            version: self.version,
            links: self.links.unwrap_or_default(),
            extra: serde_json::Map::new(),
        }
    }
}
