//! The registries, read from the synced tables: every read takes `as_of: Option<u32>` and
//! returns the state after that block (served from the append-only history), or the current
//! state for `None`. Row registries come from `chain_rows` / `chain_row_history`; votes,
//! payments and document packages from the action receipts (a row keeps only its final state per
//! block, and an income is often created and erased in one block).

use chain::{name, Checksum256, Name};
use serde::de::DeserializeOwned;

use crate::config::Contracts;
use crate::db::read::{ActionQuery, StoredAction, StoredRow};
use crate::db::{Db, DbError};
use crate::registry::{
    self, Board, Branch, Candidate, Cooperative, Decision, DocumentPackage, GatewayEvent,
    PackageEvent, Participant, Payment, Resolution, Roles, Vote, VoteKind,
};

/// The registries of one cooperative.
#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
    coop: Name,
    contracts: Contracts,
}

/// Sets a record's block after parsing.
trait AtBlock {
    fn set_block(&mut self, block_num: u32);
}

macro_rules! at_block {
    ($($t:ty),*) => {$(
        impl AtBlock for $t {
            fn set_block(&mut self, block_num: u32) {
                self.block_num = block_num;
            }
        }
    )*};
}
at_block!(Cooperative, Board, Candidate, Participant, Decision, Branch);

fn parse_rows<T: DeserializeOwned + AtBlock>(rows: Vec<StoredRow>) -> Vec<T> {
    rows.into_iter()
        .filter_map(|r| {
            let parsed: Option<T> = registry::parse(r.value.as_ref());
            if parsed.is_none() {
                tracing::debug!(code = %r.code, table = %r.table, pk = r.primary_key, "A row does not fit its registry");
            }
            parsed.map(|mut t| {
                t.set_block(r.block_num);
                t
            })
        })
        .collect()
}

impl Registry {
    pub fn new(db: Db, coop: Name, contracts: Contracts) -> Registry {
        Registry {
            db,
            coop,
            contracts,
        }
    }

    async fn coop_rows<T: DeserializeOwned + AtBlock>(
        &self,
        code: Name,
        table: Name,
        as_of: Option<u32>,
    ) -> Result<Vec<T>, DbError> {
        let rows = self.db.table_rows(code, self.coop, table, as_of).await?;
        Ok(parse_rows(rows))
    }

    async fn actions(
        &self,
        account: Name,
        names: &[Name],
        as_of: Option<u32>,
    ) -> Result<Vec<StoredAction>, DbError> {
        self.db
            .actions(ActionQuery {
                account,
                names,
                // the contract's own receipt; notifications would repeat it
                receiver: Some(account),
                as_of,
            })
            .await
    }

    /// The cooperative's `registrator::orgs` row.
    pub async fn cooperative(&self, as_of: Option<u32>) -> Result<Option<Cooperative>, DbError> {
        let r = self.contracts.registrator;
        let version = self
            .db
            .row_at(r, r, name!("orgs"), self.coop.as_u64(), as_of)
            .await?;
        Ok(version.filter(|v| v.present).and_then(|v| {
            let mut c: Cooperative = registry::parse(v.value.as_ref())?;
            c.block_num = v.block_num;
            Some(c)
        }))
    }

    /// The cooperative's boards.
    pub async fn boards(&self, as_of: Option<u32>) -> Result<Vec<Board>, DbError> {
        self.coop_rows(self.contracts.soviet, name!("boards"), as_of)
            .await
    }

    /// Chairman and council members.
    pub async fn roles(&self, as_of: Option<u32>) -> Result<Roles, DbError> {
        Ok(registry::roles(&self.boards(as_of).await?))
    }

    /// Applicants not yet accepted (or being refunded).
    pub async fn candidates(&self, as_of: Option<u32>) -> Result<Vec<Candidate>, DbError> {
        self.coop_rows(self.contracts.registrator, name!("candidates2"), as_of)
            .await
    }

    pub async fn participants(&self, as_of: Option<u32>) -> Result<Vec<Participant>, DbError> {
        self.coop_rows(self.contracts.soviet, name!("participants"), as_of)
            .await
    }

    pub async fn participant(
        &self,
        username: Name,
        as_of: Option<u32>,
    ) -> Result<Option<Participant>, DbError> {
        let version = self
            .db
            .row_at(
                self.contracts.soviet,
                self.coop,
                name!("participants"),
                username.as_u64(),
                as_of,
            )
            .await?;
        Ok(version.filter(|v| v.present).and_then(|v| {
            let mut p: Participant = registry::parse(v.value.as_ref())?;
            p.block_num = v.block_num;
            Some(p)
        }))
    }

    /// Decisions on the agenda.
    pub async fn agenda(&self, as_of: Option<u32>) -> Result<Vec<Decision>, DbError> {
        let mut decisions: Vec<Decision> = self
            .coop_rows(self.contracts.soviet, name!("decisions"), as_of)
            .await?;
        for d in &mut decisions {
            d.on_agenda = true;
        }
        Ok(decisions)
    }

    /// A decision as of a block: its newest version, also after it left the agenda
    /// (`on_agenda == false`: executed or declined, with its last state).
    pub async fn decision(&self, id: u64, as_of: Option<u32>) -> Result<Option<Decision>, DbError> {
        let version = self
            .db
            .row_at(
                self.contracts.soviet,
                self.coop,
                name!("decisions"),
                id,
                as_of,
            )
            .await?;
        let Some(mut d) = version.and_then(|v| {
            let mut d: Decision = registry::parse(v.value.as_ref())?;
            d.block_num = v.block_num;
            d.on_agenda = v.present;
            Some(d)
        }) else {
            return Ok(None);
        };
        if let (false, Some(hash)) = (d.on_agenda, d.hash) {
            let package = self.document_package(hash, as_of).await?;
            d.resolution = package.and_then(|p| {
                let block_num = p.resolved_block?;
                Some(if p.declined {
                    Resolution::Declined { block_num }
                } else {
                    Resolution::Executed { block_num }
                })
            });
        }
        Ok(Some(d))
    }

    /// Votes in chain order, for one decision or all.
    pub async fn votes(
        &self,
        decision_id: Option<u64>,
        as_of: Option<u32>,
    ) -> Result<Vec<Vote>, DbError> {
        let (vf, va) = (name!("votefor"), name!("voteagainst"));
        let actions = self
            .actions(self.contracts.soviet, &[vf, va], as_of)
            .await?;
        Ok(actions
            .into_iter()
            .filter_map(|a| {
                let mut v: Vote = registry::parse(a.value.as_ref())?;
                v.kind = if a.name == va {
                    VoteKind::Against
                } else {
                    VoteKind::For
                };
                v.block_num = a.block_num;
                v.global_sequence = a.global_sequence;
                Some(v)
            })
            .filter(|v| decision_id.is_none_or(|id| v.decision_id == id))
            .collect())
    }

    pub async fn branches(&self, as_of: Option<u32>) -> Result<Vec<Branch>, DbError> {
        self.coop_rows(self.contracts.branch, name!("branches"), as_of)
            .await
    }

    /// Incoming and outgoing payments through the gateway, in creation order.
    pub async fn payments(&self, as_of: Option<u32>) -> Result<Vec<Payment>, DbError> {
        let names = [
            name!("createinpay"),
            name!("incomplete"),
            name!("indecline"),
            name!("createoutpay"),
            name!("outcomplete"),
            name!("outdecline"),
        ];
        let actions = self.actions(self.contracts.gateway, &names, as_of).await?;
        let events: Vec<GatewayEvent> = actions
            .into_iter()
            .filter_map(|a| {
                Some(GatewayEvent {
                    action: a.name,
                    block_num: a.block_num,
                    global_sequence: a.global_sequence,
                    value: a.value?,
                })
            })
            .collect();
        Ok(registry::payments(&events))
    }

    /// Document packages (statement, decision and linked agreements by hash).
    pub async fn document_packages(
        &self,
        as_of: Option<u32>,
    ) -> Result<Vec<DocumentPackage>, DbError> {
        let names = [
            name!("newpackage"),
            name!("newsubmitted"),
            name!("newresolved"),
            name!("newdecision"),
            name!("newdeclined"),
            name!("newagreement"),
        ];
        let actions = self.actions(self.contracts.soviet, &names, as_of).await?;
        let events: Vec<PackageEvent> = actions
            .into_iter()
            .filter_map(|a| {
                Some(PackageEvent {
                    action: a.name,
                    block_num: a.block_num,
                    global_sequence: a.global_sequence,
                    trx_id: a.trx_id,
                    value: a.value?,
                })
            })
            .collect();
        Ok(registry::document_packages(&events))
    }

    /// The newest package with this hash.
    pub async fn document_package(
        &self,
        package: Checksum256,
        as_of: Option<u32>,
    ) -> Result<Option<DocumentPackage>, DbError> {
        Ok(self
            .document_packages(as_of)
            .await?
            .into_iter()
            .rev()
            .find(|p| p.package == package))
    }
}
