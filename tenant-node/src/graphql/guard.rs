//! Who is calling and what they may do: every resolver calls one of these checks explicitly.
//! Access tokens come as `Authorization: Bearer …` (or in the websocket `connection_init`
//! payload); the admin secret as the `x-admin-secret` header and is accepted only by the three
//! operations that call [`require_admin`]. Roles are derived from the synced council on every
//! request; "self" access is a separate, explicit rule of an operation, never a bypass.

use async_graphql::{Context, Error, ErrorExtensions};
use chain::Name;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Api;
use crate::auth::{role_of, Role};

/// The credentials a request carries.
#[derive(Debug, Clone, Default)]
pub struct RequestAuth {
    pub bearer: Option<String>,
    pub admin: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub username: Name,
    pub role: Role,
}

impl Caller {
    pub fn is_any(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// Credentials from a websocket `connection_init` payload: `{"Authorization": "Bearer …"}`
/// (any capitalisation) or `{"token": "…"}`.
pub fn ws_auth(payload: &serde_json::Value) -> Option<RequestAuth> {
    let obj = payload.as_object()?;
    let bearer = obj.iter().find_map(|(k, v)| {
        let v = v.as_str()?;
        if k.eq_ignore_ascii_case("authorization") {
            v.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
        } else if k == "token" {
            Some(v.to_owned())
        } else {
            None
        }
    })?;
    Some(RequestAuth {
        bearer: Some(bearer),
        admin: None,
    })
}

fn coded(message: &str, code: &'static str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

pub fn unauthenticated() -> Error {
    coded("authentication required", "UNAUTHENTICATED")
}

pub fn forbidden() -> Error {
    coded("not allowed", "FORBIDDEN")
}

/// Refused with the reason (safe to show).
pub fn forbidden_because(message: impl AsRef<str>) -> Error {
    coded(message.as_ref(), "FORBIDDEN")
}

pub fn bad_input(message: impl AsRef<str>) -> Error {
    coded(message.as_ref(), "BAD_USER_INPUT")
}

pub fn conflict(message: impl AsRef<str>) -> Error {
    coded(message.as_ref(), "CONFLICT")
}

pub fn too_many(message: impl AsRef<str>) -> Error {
    coded(message.as_ref(), "TOO_MANY_REQUESTS")
}

pub fn unavailable(message: impl AsRef<str>) -> Error {
    coded(message.as_ref(), "UNAVAILABLE")
}

/// An internal failure: logged with its cause, reported without it.
pub fn internal(cause: impl std::fmt::Display) -> Error {
    tracing::error!(error = %cause, "GraphQL operation failed");
    coded("internal error", "INTERNAL_SERVER_ERROR")
}

pub fn api<'a>(ctx: &Context<'a>) -> &'a Api {
    ctx.data_unchecked::<Api>()
}

/// The authenticated caller (any role).
pub async fn caller(ctx: &Context<'_>) -> async_graphql::Result<Caller> {
    let api = api(ctx);
    let token = ctx
        .data_opt::<RequestAuth>()
        .and_then(|a| a.bearer.as_deref())
        .ok_or_else(unauthenticated)?;
    let signer = api
        .signer
        .as_ref()
        .ok_or_else(|| unavailable("authentication is not configured on this node"))?;
    let now = chain::time::TimePointSec::now().as_unix();
    let claims = signer.verify(token, i64::from(now)).map_err(|e| {
        tracing::debug!(reason = %e, "Access token refused");
        coded("invalid or expired token", "UNAUTHENTICATED")
    })?;
    let username = Name::parse(&claims.sub).map_err(|_| unauthenticated())?;
    let user = api.db.user(username).await.map_err(internal)?;
    if user.is_none_or(|u| u.status == "blocked") {
        return Err(unauthenticated());
    }
    let roles = api.registry.roles(None).await.map_err(internal)?;
    Ok(Caller {
        username,
        role: role_of(username, &roles),
    })
}

/// The caller, who must hold one of `roles`.
pub async fn require(ctx: &Context<'_>, roles: &[Role]) -> async_graphql::Result<Caller> {
    let c = caller(ctx).await?;
    if c.is_any(roles) {
        Ok(c)
    } else {
        Err(forbidden())
    }
}

/// The admin secret, compared in constant time (as SHA-256 digests, so lengths do not leak).
pub fn require_admin(ctx: &Context<'_>) -> async_graphql::Result<()> {
    let api = api(ctx);
    let given = ctx
        .data_opt::<RequestAuth>()
        .and_then(|a| a.admin.as_deref())
        .ok_or_else(unauthenticated)?;
    let expected = api
        .admin_secret
        .as_ref()
        .ok_or_else(|| unavailable("the admin secret is not configured on this node"))?;
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.expose());
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(coded("wrong admin secret", "UNAUTHENTICATED"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn websocket_payloads_carry_the_bearer_token() {
        let a = ws_auth(&json!({"Authorization": "Bearer abc"})).unwrap();
        assert_eq!(a.bearer.as_deref(), Some("abc"));
        assert!(
            a.admin.is_none(),
            "the admin secret is never taken from a payload"
        );
        let b = ws_auth(&json!({"token": "xyz"})).unwrap();
        assert_eq!(b.bearer.as_deref(), Some("xyz"));
        assert!(ws_auth(&json!({"x-admin-secret": "s"})).is_none());
        assert!(ws_auth(&json!(null)).is_none());
    }
}
