//! GraphQL inputs and outputs. Field names follow the reference schema (snake_case fields,
//! camelCase pagination). Outputs carry only what their operation's guard allows.

use async_graphql::{Enum, InputObject, Json, OutputType, SimpleObject};

use crate::auth::Role;
use crate::db::auth::User;
use crate::db::system::SystemStatus;
use crate::registry;

/// A page request: `page` from 1, `limit` at most 100.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct PaginationInput {
    #[graphql(default = 1, validator(minimum = 1, maximum = 100000))]
    pub page: i32,
    #[graphql(default = 10, validator(minimum = 1, maximum = 100))]
    pub limit: i32,
}

impl Default for PaginationInput {
    fn default() -> Self {
        PaginationInput { page: 1, limit: 10 }
    }
}

impl PaginationInput {
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

/// One page of a list.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(concrete(name = "AccountsPaginationResult", params(Account)))]
#[graphql(concrete(name = "AgendaPaginationResult", params(AgendaItem)))]
#[graphql(concrete(name = "DocumentsPaginationResult", params(DocumentPackage)))]
#[graphql(concrete(name = "BranchesPaginationResult", params(Branch)))]
#[graphql(concrete(name = "PaymentPaginationResult", params(Payment)))]
pub struct Page<T: OutputType> {
    pub items: Vec<T>,
    pub total_count: i64,
    pub total_pages: i64,
    pub current_page: i32,
}

impl<T: OutputType> Page<T> {
    /// A page of an in-memory list.
    pub fn of(all: Vec<T>, p: PaginationInput) -> Page<T> {
        let total = all.len() as i64;
        let offset = usize::try_from(p.offset()).unwrap_or(usize::MAX);
        let items: Vec<T> = all
            .into_iter()
            .skip(offset)
            .take(p.limit as usize)
            .collect();
        Page::from_parts(items, total, p)
    }

    pub fn from_parts(items: Vec<T>, total: i64, p: PaginationInput) -> Page<T> {
        let limit = i64::from(p.limit);
        Page {
            items,
            total_count: total,
            total_pages: (total + limit - 1) / limit,
            current_page: p.page,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct BlockchainInfo {
    pub chain_id: String,
    pub head_block_num: u32,
    pub head_block_time: String,
    pub last_irreversible_block_num: u32,
}

/// The cooperative's public chain record (`registrator::orgs`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CooperativeAccount {
    pub username: String,
    pub announce: String,
    pub description: String,
    pub is_cooperative: bool,
    pub is_branched: bool,
    pub registration: String,
    pub initial: String,
    pub minimum: String,
    pub org_registration: Option<String>,
    pub org_initial: Option<String>,
    pub org_minimum: Option<String>,
    pub status: Option<String>,
}

impl From<registry::Cooperative> for CooperativeAccount {
    fn from(c: registry::Cooperative) -> Self {
        CooperativeAccount {
            username: c.username.to_string(),
            announce: c.announce,
            description: c.description,
            is_cooperative: c.is_cooperative,
            is_branched: c.is_branched,
            registration: c.registration.to_string(),
            initial: c.initial.to_string(),
            minimum: c.minimum.to_string(),
            org_registration: c.org_registration.map(|a| a.to_string()),
            org_initial: c.org_initial.map(|a| a.to_string()),
            org_minimum: c.org_minimum.map(|a| a.to_string()),
            status: c.status.map(|s| s.to_string()),
        }
    }
}

/// Public information about the node (no personal data).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SystemInfo {
    pub coopname: String,
    pub system_status: SystemStatus,
    /// `None` when the chain does not answer.
    pub blockchain_info: Option<BlockchainInfo>,
    pub synced_block: Option<u32>,
    pub cooperator_account: Option<CooperativeAccount>,
    /// The cooperative's public variables from `initSystem`.
    pub vars: Option<Json<serde_json::Value>>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Token {
    pub token: String,
    /// ISO time (UTC).
    pub expires: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Tokens {
    pub access: Token,
    pub refresh: Token,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct RegisteredAccount {
    pub account: Account,
    pub tokens: Tokens,
}

/// The node's record of a user (personal data: e-mail).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct MonoAccount {
    pub email: String,
    pub status: String,
    pub public_key: Option<String>,
    #[graphql(name = "type")]
    pub account_type: String,
    pub is_email_verified: bool,
    pub created_at: String,
}

impl From<User> for MonoAccount {
    fn from(u: User) -> Self {
        MonoAccount {
            email: u.email,
            status: u.status,
            public_key: u.public_key,
            account_type: u.account_type,
            is_email_verified: u.is_email_verified,
            created_at: time(u.created_at),
        }
    }
}

/// Membership in the cooperative (`soviet::participants`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ParticipantAccount {
    pub username: String,
    pub status: String,
    pub braname: Option<String>,
    pub is_initial: bool,
    pub is_minimum: bool,
    pub has_vote: bool,
    pub created_at: String,
    pub last_update: String,
}

impl From<registry::Participant> for ParticipantAccount {
    fn from(p: registry::Participant) -> Self {
        ParticipantAccount {
            username: p.username.to_string(),
            status: p.status.to_string(),
            braname: p.braname.filter(|b| !b.is_empty()).map(|b| b.to_string()),
            is_initial: p.is_initial,
            is_minimum: p.is_minimum,
            has_vote: p.has_vote,
            created_at: p.created_at.to_string(),
            last_update: p.last_update.to_string(),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Account {
    pub username: String,
    pub role: Role,
    pub provider_account: Option<MonoAccount>,
    pub participant_account: Option<ParticipantAccount>,
}

/// A decision on the council's agenda.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AgendaItem {
    pub id: String,
    pub username: String,
    #[graphql(name = "type")]
    pub kind: String,
    pub statement_hash: String,
    pub votes_for: Vec<String>,
    pub votes_against: Vec<String>,
    pub validated: bool,
    pub approved: bool,
    pub authorized: bool,
    pub created_at: String,
    pub block_num: u32,
}

impl From<registry::Decision> for AgendaItem {
    fn from(d: registry::Decision) -> Self {
        let names = |v: Vec<chain::Name>| v.into_iter().map(|n| n.to_string()).collect();
        AgendaItem {
            id: d.id.to_string(),
            username: d.username.to_string(),
            kind: d.kind.to_string(),
            statement_hash: d.statement.hash.to_hex(),
            votes_for: names(d.votes_for),
            votes_against: names(d.votes_against),
            validated: d.validated,
            approved: d.approved,
            authorized: d.authorized,
            created_at: d.created_at.to_string(),
            block_num: d.block_num,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AgreementRef {
    #[graphql(name = "type")]
    pub kind: String,
    pub hash: String,
    pub doc_hash: Option<String>,
}

/// A document package (statement, decision, agreements) by hash, joined with the documents the
/// node holds for those hashes.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DocumentPackage {
    pub package: String,
    pub username: String,
    pub action: String,
    pub statement_hash: Option<String>,
    pub statement_doc_hash: Option<String>,
    pub decision_hash: Option<String>,
    pub decision_doc_hash: Option<String>,
    pub declined: bool,
    pub agreements: Vec<AgreementRef>,
    pub opened_block: u32,
    pub resolved_block: Option<u32>,
    /// The stored documents whose `doc_hash` the package names on chain (statement, decision,
    /// agreements), each as generated by this node.
    pub documents: Vec<StoredDocument>,
}

impl DocumentPackage {
    /// Every PDF hash the package names on chain.
    pub fn doc_hashes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .statement_doc_hash
            .iter()
            .chain(self.decision_doc_hash.iter())
            .chain(self.agreements.iter().filter_map(|a| a.doc_hash.as_ref()))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

impl From<registry::DocumentPackage> for DocumentPackage {
    fn from(p: registry::DocumentPackage) -> Self {
        let hex = |h: Option<chain::Checksum256>| h.map(|h| h.to_hex());
        // PDF hashes are written uppercase, as documents carry them (`doc_hash`)
        let upper = |h: Option<chain::Checksum256>| h.map(|h| h.to_hex_upper());
        DocumentPackage {
            package: p.package.to_hex(),
            username: p.username.to_string(),
            action: p.action.to_string(),
            statement_hash: hex(p.statement_hash),
            statement_doc_hash: upper(p.statement_doc_hash),
            decision_hash: hex(p.decision_hash),
            decision_doc_hash: upper(p.decision_doc_hash),
            declined: p.declined,
            agreements: p
                .agreements
                .into_iter()
                .map(|a| AgreementRef {
                    kind: a.kind.to_string(),
                    hash: a.hash.to_hex(),
                    doc_hash: upper(a.doc_hash),
                })
                .collect(),
            opened_block: p.opened_block,
            resolved_block: p.resolved_block,
            documents: Vec::new(),
        }
    }
}

/// A document this node generated and stored (its PDF is fetched only when asked for).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case", complex)]
pub struct StoredDocument {
    pub doc_hash: String,
    /// The member the document was generated for.
    pub username: String,
    pub registry_id: u32,
    pub block_num: u32,
    pub full_title: String,
    pub meta: Json<serde_json::Value>,
}

#[async_graphql::ComplexObject(rename_fields = "snake_case")]
impl StoredDocument {
    /// The PDF, base64.
    #[graphql(name = "pdf_base64")]
    async fn pdf_base64(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<String> {
        use base64::Engine as _;
        let doc = super::guard::api(ctx)
            .db
            .document(&self.doc_hash, &self.username)
            .await
            .map_err(super::guard::internal)?
            .ok_or_else(|| super::guard::internal("a listed document disappeared"))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(doc.pdf))
    }
}

impl From<crate::db::documents::DocumentHeader> for StoredDocument {
    fn from(d: crate::db::documents::DocumentHeader) -> Self {
        StoredDocument {
            doc_hash: d.doc_hash,
            username: d.username,
            registry_id: d.registry_id,
            block_num: d.block_num,
            full_title: d.full_title,
            meta: Json(d.meta),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Branch {
    pub braname: String,
    pub trustee: String,
    pub trusted: Vec<String>,
    pub block_num: u32,
}

impl From<registry::Branch> for Branch {
    fn from(b: registry::Branch) -> Self {
        Branch {
            braname: b.braname.to_string(),
            trustee: b.trustee.to_string(),
            trusted: b.trusted.iter().map(|n| n.to_string()).collect(),
            block_num: b.block_num,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PaymentDirection {
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PaymentStatus {
    Pending,
    Completed,
    Declined,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Payment {
    pub direction: PaymentDirection,
    pub hash: String,
    pub username: String,
    pub quantity: String,
    pub status: PaymentStatus,
    pub reason: Option<String>,
    pub created_block: u32,
    pub settled_block: Option<u32>,
}

impl From<registry::Payment> for Payment {
    fn from(p: registry::Payment) -> Self {
        Payment {
            direction: match p.direction {
                registry::Direction::Incoming => PaymentDirection::Incoming,
                registry::Direction::Outgoing => PaymentDirection::Outgoing,
            },
            hash: p.hash.to_hex(),
            username: p.username.to_string(),
            quantity: p.quantity.to_string(),
            status: status(p.status),
            reason: p.reason,
            created_block: p.created_block,
            settled_block: p.settled_block,
        }
    }
}

pub fn status(s: registry::PaymentStatus) -> PaymentStatus {
    match s {
        registry::PaymentStatus::Pending => PaymentStatus::Pending,
        registry::PaymentStatus::Completed => PaymentStatus::Completed,
        registry::PaymentStatus::Declined => PaymentStatus::Declined,
    }
}

/// Unix seconds as an ISO time.
pub fn time(unix: i64) -> String {
    chain::time::TimePointSec::from_unix(u32::try_from(unix.max(0)).unwrap_or(u32::MAX)).to_string()
}

// ---- inputs

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetAccountInput {
    pub username: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetAccountsInput {
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetDocumentsInput {
    /// Only this participant's packages (a `user` may ask only for their own).
    pub username: Option<String>,
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetBranchesInput {
    pub braname: Option<String>,
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetPaymentsInput {
    /// Only this participant's payments (a `user` may ask only for their own).
    pub username: Option<String>,
    pub status: Option<PaymentStatus>,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LoginInput {
    #[graphql(validator(max_length = 254))]
    pub email: String,
    /// The chain head block time the client read, as the chain prints it.
    #[graphql(validator(max_length = 64))]
    pub now: String,
    /// K1 signature of `sha256(utf8(now))`.
    #[graphql(validator(max_length = 512))]
    pub signature: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RefreshInput {
    #[graphql(validator(max_length = 256))]
    pub refresh_token: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LogoutInput {
    #[graphql(validator(max_length = 256))]
    pub refresh_token: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SetWifInput {
    /// Must be the cooperative.
    pub username: String,
    #[graphql(validator(max_length = 128))]
    pub wif: String,
    #[graphql(default_with = "\"active\".to_string()")]
    pub permission: String,
}

impl OrganizationDataInput {
    /// Checks what the field validators cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let digits = |v: &str, n: usize| v.len() == n && v.bytes().all(|b| b.is_ascii_digit());
        if !digits(&self.inn, 10) {
            return Err("organization_data.inn must be 10 digits".into());
        }
        if !digits(&self.ogrn, 13) {
            return Err("organization_data.ogrn must be 13 digits".into());
        }
        if !digits(&self.kpp, 9) {
            return Err("organization_data.kpp must be 9 digits".into());
        }
        if !valid_email(&self.email) {
            return Err("organization_data.email is not an e-mail address".into());
        }
        Ok(())
    }
}

/// A plausible e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

/// The cooperative's organisation (stored with `initSystem`).
#[derive(Debug, Clone, InputObject, serde::Serialize)]
#[graphql(rename_fields = "snake_case")]
pub struct OrganizationDataInput {
    #[graphql(validator(min_length = 1, max_length = 300))]
    pub full_name: String,
    #[graphql(validator(min_length = 1, max_length = 150))]
    pub short_name: String,
    /// 10 digits.
    pub inn: String,
    /// 13 digits.
    pub ogrn: String,
    /// 9 digits.
    pub kpp: String,
    #[graphql(validator(min_length = 3, max_length = 254))]
    pub email: String,
    #[graphql(validator(min_length = 5, max_length = 32))]
    pub phone: String,
    #[graphql(validator(min_length = 1, max_length = 500))]
    pub full_address: String,
    #[graphql(validator(max_length = 500))]
    pub fact_address: Option<String>,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InitInput {
    pub organization_data: OrganizationDataInput,
    /// The cooperative's public variables: a JSON object (at most 100 keys, 16 KiB).
    pub vars: Json<serde_json::Value>,
}

/// A seat on the council.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "snake_case")]
pub enum SovietRole {
    Chairman,
    Member,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SovietMemberInput {
    /// An existing chain account.
    pub username: String,
    pub role: SovietRole,
    #[graphql(validator(min_length = 1, max_length = 100))]
    pub position_title: String,
    #[graphql(default = true)]
    pub is_voting: bool,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InstallInput {
    #[graphql(validator(min_items = 1, max_items = 50))]
    pub soviet: Vec<SovietMemberInput>,
    #[graphql(validator(max_length = 128))]
    pub wif: String,
}
