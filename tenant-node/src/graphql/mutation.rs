//! Mutations: authentication (`login`, `refresh`, `logout`; no token needed, the proof is the
//! signature or the refresh token) and system setup (`initSystem`, `installSystem`, `setWif`:
//! the admin secret and nothing else).

use async_graphql::{Context, Object, Result};
use chain::Name;

use super::guard::{self, api, bad_input, conflict, internal, unauthenticated, unavailable};
use super::install;
use super::query::{parse_name, system_info};
use super::types::*;
use super::Api;
use crate::auth::login::{key_on_permission, recover_signed_time, same_key};
use crate::auth::role_of;
use crate::auth::token::{self, Signer, REFRESH_TTL_SECS};
use crate::db::auth::{Refreshed, User};
use crate::db::system::SystemStatus;

/// Statuses whose users have a chain account: they log in with a key of its `active` permission.
const ON_CHAIN: &[&str] = &["registered", "active"];

/// Most keys of the `vars` object of `initSystem`.
const MAX_VARS_KEYS: usize = 100;
/// Largest `vars` object of `initSystem` (serialized).
const MAX_VARS_BYTES: usize = 16 * 1024;

const LOGIN_REFUSED: &str = "login refused";

fn login_refused() -> async_graphql::Error {
    // one answer for every reason: no oracle for which e-mails exist or which check failed
    guard::bad_input(LOGIN_REFUSED)
}

/// Runs `f` on the login throttle (a poisoned lock is still usable: the map stays consistent).
fn throttle<T>(api: &Api, f: impl FnOnce(&mut crate::auth::throttle::LoginThrottle) -> T) -> T {
    let mut guard = match api.login_throttle.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(&mut guard)
}

fn signer(api: &Api) -> Result<&Signer> {
    api.signer
        .as_ref()
        .ok_or_else(|| unavailable("authentication is not configured on this node"))
}

fn now() -> i64 {
    i64::from(chain::time::TimePointSec::now().as_unix())
}

/// A fresh access token and the given refresh token, with the caller's own account.
async fn session(api: &Api, user: User, refresh: String) -> Result<RegisteredAccount> {
    let (access, exp) = signer(api)?.issue(&user.username.to_string(), now());
    let roles = api.registry.roles(None).await.map_err(internal)?;
    let participant = api
        .registry
        .participant(user.username, None)
        .await
        .map_err(internal)?;
    Ok(RegisteredAccount {
        account: Account {
            username: user.username.to_string(),
            role: role_of(user.username, &roles),
            participant_account: participant.map(ParticipantAccount::from),
            provider_account: Some(MonoAccount::from(user)),
        },
        tokens: Tokens {
            access: Token {
                token: access,
                expires: time(exp),
            },
            refresh: Token {
                token: refresh,
                expires: time(now() + REFRESH_TTL_SECS),
            },
        },
    })
}

/// A new session for `user` (a fresh refresh-token family), as `login` answers.
pub(super) async fn open_session(api: &Api, user: User) -> Result<RegisteredAccount> {
    let refresh = token::new_refresh_token();
    api.db
        .store_refresh_token(
            &token::refresh_hash(&refresh),
            &token::new_family(),
            user.username,
            REFRESH_TTL_SECS,
        )
        .await
        .map_err(internal)?;
    session(api, user, refresh).await
}

/// System setup and sessions: `initSystem`, `installSystem`, `setWif`, `login`, `refresh`,
/// `logout`. Other domains add their own objects to [`super::Mutation`].
#[derive(Debug, Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Logs in with a signature of `sha256(now)`, `now` being the chain head time.
    async fn login(&self, ctx: &Context<'_>, data: LoginInput) -> Result<RegisteredAccount> {
        let api = api(ctx);
        signer(api)?;
        let email = data.email.trim();
        if !throttle(api, |t| t.allowed(email, std::time::Instant::now())) {
            return Err(guard::too_many("too many failed logins, retry in a minute"));
        }
        let outcome = login_checked(api, &data).await;
        match &outcome {
            Ok(_) => throttle(api, |t| t.succeeded(email)),
            // only refusals count: an outage of the chain or the database locks nobody out
            Err(e) if e.message == LOGIN_REFUSED => {
                throttle(api, |t| t.failed(email, std::time::Instant::now()))
            }
            Err(_) => {}
        }
        outcome
    }

    /// Exchanges a refresh token for a new pair; the old refresh token is revoked. Presenting a
    /// revoked one revokes its whole family.
    async fn refresh(&self, ctx: &Context<'_>, data: RefreshInput) -> Result<RegisteredAccount> {
        let api = api(ctx);
        signer(api)?;
        let new = token::new_refresh_token();
        let outcome = api
            .db
            .rotate_refresh_token(
                &token::refresh_hash(&data.refresh_token),
                &token::refresh_hash(&new),
                REFRESH_TTL_SECS,
            )
            .await
            .map_err(internal)?;
        let username = match outcome {
            Refreshed::Rotated { username } => username,
            Refreshed::Reused => {
                tracing::warn!("A revoked refresh token was presented: its family is revoked");
                return Err(unauthenticated());
            }
            Refreshed::Invalid => return Err(unauthenticated()),
        };
        let user = api
            .db
            .user(username)
            .await
            .map_err(internal)?
            .filter(|u| u.status != "blocked")
            .ok_or_else(unauthenticated)?;
        session(api, user, new).await
    }

    /// Ends the session of a refresh token (its family is revoked).
    async fn logout(&self, ctx: &Context<'_>, data: LogoutInput) -> Result<bool> {
        let api = api(ctx);
        api.db
            .revoke_refresh_family(&token::refresh_hash(&data.refresh_token))
            .await
            .map_err(internal)
    }

    /// Stores the cooperative's organisation and variables (admin secret; once).
    async fn init_system(&self, ctx: &Context<'_>, data: InitInput) -> Result<SystemInfo> {
        guard::require_admin(ctx)?;
        let api = api(ctx);
        data.organization_data.validate().map_err(bad_input)?;
        let vars = data.vars.0;
        let Some(obj) = vars.as_object() else {
            return Err(bad_input("vars must be a JSON object"));
        };
        if obj.len() > MAX_VARS_KEYS || vars.to_string().len() > MAX_VARS_BYTES {
            return Err(bad_input("vars is too large"));
        }
        let init = serde_json::json!({
            "organization_data": data.organization_data,
            "vars": vars,
        });
        if !api
            .db
            .init_system(&init.to_string())
            .await
            .map_err(internal)?
        {
            return Err(conflict("the system is already initialised"));
        }
        system_info(api).await
    }

    /// Stores the cooperative's key and creates the council on chain (admin secret; only in
    /// status `install`).
    async fn install_system(&self, ctx: &Context<'_>, data: InstallInput) -> Result<SystemInfo> {
        guard::require_admin(ctx)?;
        let api = api(ctx);
        match api.db.system_state().await.map_err(internal)? {
            Some((SystemStatus::Install, _)) => {}
            _ => return Err(conflict("the system is not awaiting installation")),
        }
        let members = install::council_members(&data.soviet)?;
        let chairman = data
            .soviet
            .iter()
            .find(|m| m.role == SovietRole::Chairman)
            .map(|m| parse_name("soviet.username", &m.username))
            .transpose()?
            .ok_or_else(|| bad_input("the council needs exactly one chairman"))?;
        let active = chain::name!("active");
        install::store_checked_key(api, &data.wif, active).await?;
        let key = install::stored_key(api, active).await?;
        install::push_council(api, &key, chairman, members).await?;
        if !api.db.activate_system().await.map_err(internal)? {
            return Err(conflict("the system is not awaiting installation"));
        }
        system_info(api).await
    }

    /// Replaces the cooperative's stored key (admin secret). The key must be on the
    /// cooperative's permission on chain; it is never returned.
    async fn set_wif(&self, ctx: &Context<'_>, data: SetWifInput) -> Result<bool> {
        guard::require_admin(ctx)?;
        let api = api(ctx);
        let username = parse_name("username", &data.username)?;
        if username != api.coopname {
            return Err(bad_input("only the cooperative's key is kept"));
        }
        let permission: Name = parse_name("permission", &data.permission)?;
        install::store_checked_key(api, &data.wif, permission).await?;
        Ok(true)
    }
}

/// `login` after the throttle: the signature, the key and the session.
async fn login_checked(api: &Api, data: &LoginInput) -> Result<RegisteredAccount> {
    let user = api
        .db
        .user_by_email(data.email.trim())
        .await
        .map_err(internal)?
        .filter(|u| u.status != "blocked")
        .ok_or_else(login_refused)?;
    let info = api.chain.get_info().await.map_err(internal)?;
    let key =
        recover_signed_time(&data.now, &data.signature, info.head_block_time).map_err(|e| {
            tracing::info!(user = %user.username, reason = %e, "Login refused");
            login_refused()
        })?;
    let allowed = if ON_CHAIN.contains(&user.status.as_str()) {
        let account = api
            .chain
            .get_account(user.username)
            .await
            .map_err(|e| internal(format!("get_account {}: {e}", user.username)))?;
        key_on_permission(&account, chain::name!("active"), &key)
    } else {
        user.public_key
            .as_deref()
            .is_some_and(|k| same_key(k, &key))
    };
    if !allowed {
        tracing::info!(user = %user.username, "Login refused: the key is not the account's");
        return Err(login_refused());
    }
    let refresh = token::new_refresh_token();
    api.db
        .store_refresh_token(
            &token::refresh_hash(&refresh),
            &token::new_family(),
            user.username,
            REFRESH_TTL_SECS,
        )
        .await
        .map_err(internal)?;
    session(api, user, refresh).await
}
