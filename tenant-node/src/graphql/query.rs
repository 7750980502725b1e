//! Queries. Each starts with its guard: `getSystemInfo` is public (no personal data); registry
//! reads take an optional `block` (the state after that block) and return one page.

use async_graphql::{Context, Json, Object, Result};
use chain::Name;

use super::guard::{self, api, bad_input, forbidden, internal, Caller};
use super::types::*;
use crate::auth::{role_of, Role};
use crate::db::system::SystemStatus;

const COUNCIL: &[Role] = &[Role::Chairman, Role::Member];
const ANYONE: &[Role] = &[Role::Chairman, Role::Member, Role::User];

pub fn parse_name(field: &str, text: &str) -> Result<Name> {
    match Name::parse(text) {
        Ok(n) if !n.is_empty() && n.to_string() == text => Ok(n),
        _ => Err(bad_input(format!("{field} is not an account name"))),
    }
}

/// Whose records a list may show: the council sees everyone's (or the one asked for); a
/// `user` only their own, and asking for someone else's is refused.
fn owner_filter(caller: &Caller, asked: Option<&str>) -> Result<Option<Name>> {
    let asked = asked.map(|u| parse_name("username", u)).transpose()?;
    if caller.is_any(COUNCIL) {
        return Ok(asked);
    }
    match asked {
        Some(u) if u != caller.username => Err(forbidden()),
        _ => Ok(Some(caller.username)),
    }
}

/// The public system information.
pub async fn system_info(api: &super::Api) -> Result<SystemInfo> {
    let state = api.db.system_state().await.map_err(internal)?;
    let (system_status, vars) = match state {
        Some((status, init)) => {
            let init: serde_json::Value = serde_json::from_str(&init).map_err(internal)?;
            (status, init.get("vars").cloned().map(Json))
        }
        None => (SystemStatus::Maintenance, None),
    };
    let blockchain_info = match api.chain.get_info().await {
        Ok(i) => Some(BlockchainInfo {
            chain_id: i.chain_id.to_hex(),
            head_block_num: i.head_block_num,
            head_block_time: i.head_block_time.to_string(),
            last_irreversible_block_num: i.last_irreversible_block_num,
        }),
        Err(e) => {
            tracing::debug!(error = %e, "get_info failed");
            None
        }
    };
    let synced_block = api
        .db
        .checkpoint()
        .await
        .map_err(internal)?
        .map(|c| c.block_num);
    let cooperator_account = api
        .registry
        .cooperative(None)
        .await
        .map_err(internal)?
        .map(CooperativeAccount::from);
    Ok(SystemInfo {
        coopname: api.coopname.to_string(),
        system_status,
        blockchain_info,
        synced_block,
        cooperator_account,
        vars,
    })
}

/// System information and the registries. Other domains add their own objects to
/// [`super::Query`].
#[derive(Debug, Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// Public information about the node and the cooperative (no authentication).
    async fn get_system_info(&self, ctx: &Context<'_>) -> Result<SystemInfo> {
        system_info(api(ctx)).await
    }

    /// One account: the council, or the account's own user.
    async fn get_account(&self, ctx: &Context<'_>, data: GetAccountInput) -> Result<Account> {
        let caller = guard::caller(ctx).await?;
        let username = parse_name("username", &data.username)?;
        if !(caller.is_any(COUNCIL) || caller.username == username) {
            return Err(forbidden());
        }
        let api = api(ctx);
        let roles = api.registry.roles(None).await.map_err(internal)?;
        let user = api.db.user(username).await.map_err(internal)?;
        let participant = api
            .registry
            .participant(username, None)
            .await
            .map_err(internal)?;
        if user.is_none() && participant.is_none() {
            return Err(bad_input("no such account"));
        }
        Ok(Account {
            username: username.to_string(),
            role: role_of(username, &roles),
            provider_account: user.map(MonoAccount::from),
            participant_account: participant.map(ParticipantAccount::from),
        })
    }

    /// The node's users (chairman and members only).
    async fn get_accounts(
        &self,
        ctx: &Context<'_>,
        data: Option<GetAccountsInput>,
        options: Option<PaginationInput>,
    ) -> Result<Page<Account>> {
        let options = options.unwrap_or_default();
        guard::require(ctx, COUNCIL).await?;
        let api = api(ctx);
        let roles = api.registry.roles(None).await.map_err(internal)?;
        let participants = api.registry.participants(None).await.map_err(internal)?;
        let participant = |u: Name| {
            participants
                .iter()
                .find(|p| p.username == u)
                .cloned()
                .map(ParticipantAccount::from)
        };
        let wanted = data.and_then(|d| d.role);
        if let Some(role @ (Role::Chairman | Role::Member)) = wanted {
            let mut accounts = Vec::new();
            for u in roles.members.iter().copied() {
                if role_of(u, &roles) != role {
                    continue;
                }
                let user = api.db.user(u).await.map_err(internal)?;
                accounts.push(Account {
                    username: u.to_string(),
                    role,
                    provider_account: user.map(MonoAccount::from),
                    participant_account: participant(u),
                });
            }
            return Ok(Page::of(accounts, options));
        }
        let (users, total) = api
            .db
            .users_page(options.offset(), i64::from(options.limit))
            .await
            .map_err(internal)?;
        let items = users
            .into_iter()
            .map(|u| Account {
                username: u.username.to_string(),
                role: role_of(u.username, &roles),
                participant_account: participant(u.username),
                provider_account: Some(MonoAccount::from(u)),
            })
            .filter(|a| wanted.is_none_or(|r| a.role == r))
            .collect();
        Ok(Page::from_parts(items, total, options))
    }

    /// The council's agenda (chairman and members only).
    async fn get_agenda(
        &self,
        ctx: &Context<'_>,
        block: Option<u32>,
        options: Option<PaginationInput>,
    ) -> Result<Page<AgendaItem>> {
        let options = options.unwrap_or_default();
        guard::require(ctx, COUNCIL).await?;
        let agenda = api(ctx).registry.agenda(block).await.map_err(internal)?;
        Ok(Page::of(
            agenda.into_iter().map(AgendaItem::from).collect(),
            options,
        ))
    }

    /// Document packages: the council sees all; a user only their own.
    async fn get_documents(
        &self,
        ctx: &Context<'_>,
        data: Option<GetDocumentsInput>,
        block: Option<u32>,
        options: Option<PaginationInput>,
    ) -> Result<Page<DocumentPackage>> {
        let options = options.unwrap_or_default();
        let caller = guard::require(ctx, ANYONE).await?;
        let data = data.unwrap_or_default();
        let owner = owner_filter(&caller, data.username.as_deref())?;
        let packages = api(ctx)
            .registry
            .document_packages(block)
            .await
            .map_err(internal)?;
        let items = packages
            .into_iter()
            .filter(|p| owner.is_none_or(|o| p.username == o))
            .map(DocumentPackage::from)
            .collect();
        let mut page = Page::of(items, options);
        // the join: the node's stored documents for the hashes on this page
        let hashes: Vec<String> = page
            .items
            .iter()
            .flat_map(DocumentPackage::doc_hashes)
            .collect();
        let stored = api(ctx)
            .db
            .document_headers(&hashes)
            .await
            .map_err(internal)?;
        for package in &mut page.items {
            let wanted = package.doc_hashes();
            package.documents = stored
                .iter()
                .filter(|d| wanted.binary_search(&d.doc_hash).is_ok())
                .cloned()
                .map(StoredDocument::from)
                .collect();
        }
        Ok(page)
    }

    /// Branches (any authenticated role: branch data is public on chain).
    async fn get_branches(
        &self,
        ctx: &Context<'_>,
        data: Option<GetBranchesInput>,
        block: Option<u32>,
        options: Option<PaginationInput>,
    ) -> Result<Page<Branch>> {
        let options = options.unwrap_or_default();
        guard::require(ctx, ANYONE).await?;
        let braname = data
            .and_then(|d| d.braname)
            .map(|b| parse_name("braname", &b))
            .transpose()?;
        let branches = api(ctx).registry.branches(block).await.map_err(internal)?;
        let items = branches
            .into_iter()
            .filter(|b| braname.is_none_or(|n| b.braname == n))
            .map(Branch::from)
            .collect();
        Ok(Page::of(items, options))
    }

    /// Gateway payments: the council sees all; a user only their own.
    async fn get_payments(
        &self,
        ctx: &Context<'_>,
        data: Option<GetPaymentsInput>,
        block: Option<u32>,
        options: Option<PaginationInput>,
    ) -> Result<Page<Payment>> {
        let options = options.unwrap_or_default();
        let caller = guard::require(ctx, ANYONE).await?;
        let data = data.unwrap_or_default();
        let owner = owner_filter(&caller, data.username.as_deref())?;
        let payments = api(ctx).registry.payments(block).await.map_err(internal)?;
        let items = payments
            .into_iter()
            .filter(|p| owner.is_none_or(|o| p.username == o))
            .filter(|p| data.status.is_none_or(|s| status(p.status) == s))
            .map(Payment::from)
            .collect();
        Ok(Page::of(items, options))
    }
}
