//! Users and refresh tokens: the SQL of authentication. Refresh rotation and reuse detection
//! happen in one transaction each, with the token row locked.

use chain::Name;

use super::{name, Db, DbError};

/// A user of the node (`users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: Name,
    pub email: String,
    /// As stored (`PUB_K1_…`); compare with `auth::login::same_key`.
    pub public_key: Option<String>,
    pub status: String,
    pub account_type: String,
    pub is_email_verified: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A user to insert (registration fills the rest later).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Name,
    pub email: String,
    pub public_key: Option<String>,
    pub status: String,
    pub account_type: String,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// Valid: revoked and replaced by the new one.
    Rotated { username: Name },
    /// Unknown or expired.
    Invalid,
    /// Already revoked: its whole family is revoked now.
    Reused,
}

const USER_COLUMNS: &str = "username, email, public_key, status, account_type, is_email_verified,
     extract(epoch FROM created_at)::bigint";

fn user(row: &tokio_postgres::Row) -> Result<User, DbError> {
    Ok(User {
        username: name(row.get(0))?,
        email: row.get(1),
        public_key: row.get(2),
        status: row.get(3),
        account_type: row.get(4),
        is_email_verified: row.get(5),
        created_at: row.get(6),
    })
}

impl Db {
    /// Inserts a user (refused if the username or e-mail is taken).
    pub async fn insert_user(&self, u: &NewUser) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO users (username, email, public_key, status, account_type)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &u.username.to_string(),
                    &u.email,
                    &u.public_key,
                    &u.status,
                    &u.account_type,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn user(&self, username: Name) -> Result<Option<User>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        client
            .query_opt(&sql, &[&username.to_string()])
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// By e-mail, case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)");
        client
            .query_opt(&sql, &[&email])
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// One page of users by username, and the total count.
    pub async fn users_page(&self, offset: i64, limit: i64) -> Result<(Vec<User>, i64), DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username OFFSET $1 LIMIT $2");
        let rows = client.query(&sql, &[&offset, &limit]).await?;
        let total: i64 = client
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .get(0);
        Ok((rows.iter().map(user).collect::<Result<_, _>>()?, total))
    }

    /// Stores a new refresh token (its hash) of `family`, valid `ttl_secs`.
    pub async fn store_refresh_token(
        &self,
        hash: &[u8; 32],
        family: &[u8; 16],
        username: Name,
        ttl_secs: i64,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO refresh_tokens (token_hash, family, username, expires_at)
                 VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')",
                &[
                    &hash.as_slice(),
                    &family.as_slice(),
                    &username.to_string(),
                    &ttl_secs,
                ],
            )
            .await?;
        Ok(())
    }

    /// Presents `old`: if valid, revokes it and stores `new` in its family, in one transaction.
    pub async fn rotate_refresh_token(
        &self,
        old: &[u8; 32],
        new: &[u8; 32],
        ttl_secs: i64,
    ) -> Result<Refreshed, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT family, username, revoked_at IS NOT NULL, expires_at <= now()
                 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                &[&old.as_slice()],
            )
            .await?;
        let Some(row) = row else {
            return Ok(Refreshed::Invalid);
        };
        let (family, username, revoked, expired): (Vec<u8>, String, bool, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if revoked {
            tx.execute(
                "UPDATE refresh_tokens SET revoked_at = now()
                 WHERE family = $1 AND revoked_at IS NULL",
                &[&family],
            )
            .await?;
            tx.commit().await?;
            return Ok(Refreshed::Reused);
        }
        if expired {
            return Ok(Refreshed::Invalid);
        }
        tx.execute(
            "UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2 WHERE token_hash = $1",
            &[&old.as_slice(), &new.as_slice()],
        )
        .await?;
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, family, username, expires_at)
             VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')",
            &[&new.as_slice(), &family, &username, &ttl_secs],
        )
        .await?;
        tx.commit().await?;
        Ok(Refreshed::Rotated {
            username: name(username)?,
        })
    }

    /// Logout: revokes the token's whole family (the session). False if the token is unknown.
    pub async fn revoke_refresh_family(&self, hash: &[u8; 32]) -> Result<bool, DbError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())
                 WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1)",
                &[&hash.as_slice()],
            )
            .await?;
        Ok(n > 0)
    }
}
