//! Account registration: the new user and their first private-data version written in ONE
//! transaction (a refused or failed registration leaves nothing behind), and the stored public
//! key of a user who is not on chain yet.

use super::auth::NewUser;
use super::private::{head_block, LOCK};
use super::{Db, DbError};
use crate::paperwork::private::PrivateKind;

/// Why a registration was not written.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the e-mail is taken")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for RegisterError {
    fn from(e: tokio_postgres::Error) -> Self {
        RegisterError::Db(DbError::Postgres(e))
    }
}

impl From<deadpool_postgres::PoolError> for RegisterError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        RegisterError::Db(e.into())
    }
}

impl Db {
    /// Inserts `user` and appends the (already validated) private data of `kind` for it, tagged
    /// with the synced head block, in one transaction. A taken username or e-mail (compared
    /// case-insensitively) is refused and nothing is written.
    pub async fn register_account(
        &self,
        user: &NewUser,
        kind: PrivateKind,
        data: &serde_json::Value,
    ) -> Result<(), RegisterError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(LOCK, &[]).await?;
        let inserted = tx
            .execute(
                "INSERT INTO users (username, email, public_key, status, account_type)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &user.username.to_string(),
                    &user.email,
                    &user.public_key,
                    &user.status,
                    &user.account_type,
                ],
            )
            .await?;
        if inserted == 0 {
            let by_name = tx
                .query_opt(
                    "SELECT 1 FROM users WHERE username = $1",
                    &[&user.username.to_string()],
                )
                .await?;
            return Err(if by_name.is_some() {
                RegisterError::UsernameTaken
            } else {
                RegisterError::EmailTaken
            });
        }
        let block = head_block(&tx).await?;
        tx.execute(
            "INSERT INTO private_data (kind, subject, block_num, data)
             VALUES ($1, $2, $3, $4::text::jsonb)",
            &[
                &kind.as_str(),
                &user.username.to_string(),
                &i64::from(block),
                &data.to_string(),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
