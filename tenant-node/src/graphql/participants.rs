//! Members who joined on paper and key recovery: `addParticipant` (chairman only) commits the
//! user, their private data, the `adduser` chain intent and an invitation mail with a
//! single-use, expiring token in one transaction; `startResetKey` queues a key-reset mail (the
//! same answer whether or not the email is known); `resetKey` consumes a token once, stores the
//! new key and, for an account on chain, commits the `changekey` intent. The outbox sender
//! puts both on chain exactly once with the cooperative's key.
//!
//! Tokens are 256 random bits (base64url) sent only in the mail; the database keeps their
//! SHA-256. The `[invitations]` configuration section sets the link and the lifetimes.

use std::str::FromStr;
use std::time::Duration;

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chain::asset::Asset;
use chain::keys::PublicKey;
use chain::time::TimePointSec;
use chain::{name, Name};
use documents::model::User;
use serde::Deserialize;

use super::guard::{self, api, bad_input, internal, unavailable};
use super::query::parse_name;
use crate::auth::token::{new_refresh_token, refresh_hash};
use crate::auth::Role;
use crate::db::invitations::{InvitationError, NewParticipant, TokenMail};
use crate::mail::{check_address, render, Mail};
use crate::outbox::{AddUser, ChangeKey};
use crate::paperwork::private::{AsOf, PrivateKind, PrivateRecord};
use crate::payments::AccountType;

/// The invitation and key-reset links and lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTokenConfig {
    /// The page that takes the token: the mail links to `<link_base>?token=<token>`. Without
    /// it `addParticipant` is refused and `startResetKey` sends nothing.
    pub link_base: Option<String>,
    pub invitation_ttl: Duration,
    pub reset_ttl: Duration,
}

impl Default for KeyTokenConfig {
    fn default() -> Self {
        KeyTokenConfig {
            link_base: None,
            invitation_ttl: Duration::from_secs(72 * 3600),
            reset_ttl: Duration::from_secs(30 * 60),
        }
    }
}

/// The `[invitations]` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationsFile {
    pub link_base: Option<String>,
    pub invitation_ttl_hours: Option<u64>,
    pub reset_ttl_minutes: Option<u64>,
}

impl InvitationsFile {
    pub fn validate(self) -> Result<KeyTokenConfig, String> {
        let d = KeyTokenConfig::default();
        if let Some(base) = &self.link_base {
            let ok = (base.starts_with("https://") || base.starts_with("http://"))
                && base.len() <= 500
                && !base.contains('?')
                && !base.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err("invitations.link_base must be an http(s) URL without a query".into());
            }
        }
        let invitation_ttl = self
            .invitation_ttl_hours
            .map_or(d.invitation_ttl, |h| Duration::from_secs(h * 3600));
        if !(Duration::from_secs(3600)..=Duration::from_secs(30 * 86_400)).contains(&invitation_ttl)
        {
            return Err("invitations.invitation_ttl_hours must be 1..=720".into());
        }
        let reset_ttl = self
            .reset_ttl_minutes
            .map_or(d.reset_ttl, |m| Duration::from_secs(m * 60));
        if !(Duration::from_secs(5 * 60)..=Duration::from_secs(86_400)).contains(&reset_ttl) {
            return Err("invitations.reset_ttl_minutes must be 5..=1440".into());
        }
        Ok(KeyTokenConfig {
            link_base: self.link_base,
            invitation_ttl,
            reset_ttl,
        })
    }
}

/// `addParticipant` input: exactly one of the three data objects (fields as in private data).
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AddParticipantInput {
    /// The new account name (12 characters a–z, 1–5).
    pub username: String,
    pub email: String,
    pub referer: Option<String>,
    /// When the member joined (chain time, e.g. `2024-12-28T06:58:52`); default now.
    pub created_at: Option<String>,
    /// Paid entrance fee, e.g. `"100.0000 RUB"`; default the cooperative's.
    pub initial: Option<String>,
    /// Paid minimum share fee; default the cooperative's.
    pub minimum: Option<String>,
    /// Whether the entrance fee goes to the cooperative's funds as paid; default false.
    pub spread_initial: Option<bool>,
    pub individual_data: Option<Json<serde_json::Value>>,
    pub entrepreneur_data: Option<Json<serde_json::Value>>,
    pub organization_data: Option<Json<serde_json::Value>>,
}

/// `startResetKey` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct StartResetKeyInput {
    pub email: String,
}

/// `resetKey` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ResetKeyInput {
    /// The token of an invitation or a key-reset mail.
    pub token: String,
    /// The new key (`PUB_K1_…` or legacy `EOS…`).
    pub public_key: String,
}

/// The member added on paper.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AddedParticipant {
    pub username: String,
    pub email: String,
    /// `created` until the `adduser` transaction is irreversibly on chain, then `registered`.
    pub status: String,
}

/// The private data record of the input, validated.
fn private_user(data: &AddParticipantInput) -> Result<(User, AccountType)> {
    let given = [
        ("individual", &data.individual_data, AccountType::Individual),
        (
            "entrepreneur",
            &data.entrepreneur_data,
            AccountType::Entrepreneur,
        ),
        (
            "organization",
            &data.organization_data,
            AccountType::Organization,
        ),
    ];
    let mut present = given.iter().filter(|(_, v, _)| v.is_some());
    let (Some((key, Some(value), kind)), None) = (present.next(), present.next()) else {
        return Err(bad_input(
            "give exactly one of individual_data, entrepreneur_data, organization_data",
        ));
    };
    let user: User = serde_json::from_value(serde_json::json!({ *key: value.0 }))
        .map_err(|e| bad_input(format!("{key}_data: {e}")))?;
    Ok((user, *kind))
}

fn asset(field: &str, text: Option<&str>, default: Asset) -> Result<Asset> {
    match text {
        None => Ok(default),
        Some(t) => {
            let a = Asset::from_str(t.trim()).map_err(|e| bad_input(format!("{field}: {e}")))?;
            if a.symbol != default.symbol {
                return Err(bad_input(format!("{field} must be in {}", default.symbol)));
            }
            if a.amount < 0 {
                return Err(bad_input(format!("{field} must not be negative")));
            }
            Ok(a)
        }
    }
}

fn link(base: &str, token: &str) -> String {
    format!("{base}?token={token}")
}

/// "DD.MM.YYYY HH:MM UTC" of now + `ttl` (shown in the mail).
fn expiry_text(ttl: Duration) -> String {
    let at = TimePointSec::now().as_unix() as i64 + ttl.as_secs() as i64;
    let t = TimePointSec::from_unix(at.clamp(0, i64::from(u32::MAX)) as u32).to_string();
    // `YYYY-MM-DDTHH:MM:SS`
    match (t.get(0..4), t.get(5..7), t.get(8..10), t.get(11..16)) {
        (Some(y), Some(m), Some(d), Some(hm)) => format!("{d}.{m}.{y} {hm} UTC"),
        _ => t,
    }
}

fn refused(e: InvitationError) -> async_graphql::Error {
    match e {
        InvitationError::Db(e) => internal(e),
        other => bad_input(other.to_string()),
    }
}

/// Participant mutations.
#[derive(Debug, Default)]
pub struct ParticipantsMutation;

#[Object]
impl ParticipantsMutation {
    /// Chairman only: adds a member who joined on paper. Commits the user, their private data,
    /// the `registrator::adduser` intent (sent once by the outbox with the cooperative's key)
    /// and an invitation mail whose single-use link sets the member's key (`resetKey`).
    async fn add_participant(
        &self,
        ctx: &Context<'_>,
        data: AddParticipantInput,
    ) -> Result<AddedParticipant> {
        guard::require(ctx, &[Role::Chairman]).await?;
        let api = api(ctx);
        let Some(base) = api.keys.link_base.as_deref() else {
            return Err(unavailable(
                "invitations are not configured on this node (invitations.link_base)",
            ));
        };
        let username = parse_name("username", &data.username)?;
        if data.username.len() != 12 {
            return Err(bad_input("username must be 12 characters"));
        }
        let email = data.email.trim();
        check_address(email).map_err(|e| bad_input(e.to_string()))?;
        let referer = match data.referer.as_deref() {
            Some(r) if !r.is_empty() => parse_name("referer", r)?,
            _ => Name::default(),
        };
        let (user, account_type) = private_user(&data)?;
        let record = PrivateRecord::User(user.clone());
        let coop = api.coopname.to_string();
        record
            .validate(&data.username, &coop)
            .map_err(|e| bad_input(e.to_string()))?;
        let (Some(private_data), _) = record.to_stored() else {
            return Err(internal("private data has no JSON form"));
        };
        let cooperative = api
            .registry
            .cooperative(None)
            .await
            .map_err(internal)?
            .ok_or_else(|| unavailable("the cooperative is not on chain yet"))?;
        let initial = asset("initial", data.initial.as_deref(), cooperative.initial)?;
        let minimum = asset("minimum", data.minimum.as_deref(), cooperative.minimum)?;
        let created_at = match data.created_at.as_deref() {
            None => TimePointSec::now(),
            Some(t) => {
                let t = t.trim();
                let t = t.split_once('.').map_or(t, |(s, _)| s);
                TimePointSec::parse(t).map_err(|e| bad_input(format!("created_at: {e}")))?
            }
        };
        if created_at.as_unix() > TimePointSec::now().as_unix() + 60 {
            return Err(bad_input("created_at must not be in the future"));
        }
        // the new account's keys are the cooperative's until the member sets theirs
        let coop_account = api
            .chain
            .get_account(api.coopname)
            .await
            .map_err(|e| internal(format!("get_account {}: {e}", api.coopname)))?;
        let placeholder_key = coop_account
            .permission(name!("active"))
            .and_then(|p| p.required_auth.keys.first())
            .map(|k| k.key.clone())
            .ok_or_else(|| unavailable("the cooperative's active key is not a single key"))?;
        let add = AddUser {
            username,
            account_type,
            referer,
            placeholder_key,
            created_at,
            initial,
            minimum,
            spread_initial: data.spread_initial.unwrap_or(false),
        };
        let token = new_refresh_token();
        let mail = render(&Mail::Invitation {
            coop_name: coop.clone(),
            name: user.display_name(),
            username: data.username.clone(),
            link: link(base, &token),
            expires_at: expiry_text(api.keys.invitation_ttl),
        })
        .map_err(|e| bad_input(e.to_string()))?;
        let hash = refresh_hash(&token);
        api.db
            .add_participant(
                &NewParticipant {
                    email,
                    private_kind: record.kind(),
                    private_data: &private_data,
                    add: &add,
                },
                &TokenMail {
                    token_hash: &hash,
                    ttl: api.keys.invitation_ttl,
                    to: email,
                    mail: &mail,
                },
            )
            .await
            .map_err(refused)?;
        tracing::info!(user = %username, "Member added on paper; invitation queued");
        Ok(AddedParticipant {
            username: data.username,
            email: email.to_owned(),
            status: "created".into(),
        })
    }

    /// Queues a key-reset mail with a single-use link (short expiry). Always answers `true`:
    /// whether the email belongs to an account is not revealed.
    async fn start_reset_key(&self, ctx: &Context<'_>, data: StartResetKeyInput) -> Result<bool> {
        let api = api(ctx);
        let email = data.email.trim();
        if check_address(email).is_err() {
            return Ok(true);
        }
        let Some(base) = api.keys.link_base.as_deref() else {
            tracing::warn!("Key reset requested but invitations.link_base is not configured");
            return Ok(true);
        };
        let Some(user) = api
            .db
            .user_by_email(email)
            .await
            .map_err(internal)?
            .filter(|u| u.status != "blocked")
        else {
            return Ok(true);
        };
        let kinds = [
            PrivateKind::Individual,
            PrivateKind::Entrepreneur,
            PrivateKind::Organization,
        ];
        let as_of = AsOf {
            block: u32::MAX,
            seq: None,
        };
        let name = match api
            .db
            .private_at(&kinds, &user.username.to_string(), as_of)
            .await
            .map_err(internal)?
            .and_then(|v| PrivateRecord::from_stored(&v).ok())
        {
            Some(PrivateRecord::User(u)) => u.display_name(),
            _ => user.username.to_string(),
        };
        let token = new_refresh_token();
        let mail = render(&Mail::KeyReset {
            coop_name: api.coopname.to_string(),
            name,
            username: user.username.to_string(),
            link: link(base, &token),
            expires_at: expiry_text(api.keys.reset_ttl),
        })
        .map_err(internal)?;
        api.db
            .queue_key_reset(
                user.username,
                &TokenMail {
                    token_hash: &refresh_hash(&token),
                    ttl: api.keys.reset_ttl,
                    to: &user.email,
                    mail: &mail,
                },
            )
            .await
            .map_err(refused)?;
        Ok(true)
    }

    /// Sets or replaces the key with the token of an invitation or a key-reset mail. The token
    /// is consumed (a second use or an expired token is refused); an account on chain gets its
    /// keys changed by `registrator::changekey`, sent once by the outbox.
    async fn reset_key(&self, ctx: &Context<'_>, data: ResetKeyInput) -> Result<bool> {
        let api = api(ctx);
        let key = PublicKey::from_str(data.public_key.trim())
            .map_err(|e| bad_input(format!("public_key: {e}")))?;
        let token = data.token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(bad_input(InvitationError::UnknownToken.to_string()));
        }
        let consumed = api
            .db
            .consume_key_token(&refresh_hash(token), |username| ChangeKey {
                username,
                public_key: key.clone(),
            })
            .await
            .map_err(refused)?;
        tracing::info!(user = %consumed.username, purpose = consumed.purpose.as_str(),
            on_chain = consumed.changekey_intent.is_some(), "Key set with a token");
        Ok(true)
    }
}
