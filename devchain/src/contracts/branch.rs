//! `branch`: a cooperative's branches (`createbranch`, `editbranch`, `deletebranch`) and their
//! trusted members (`addtrusted`, `deltrusted`). Table `branches` [coop] (`coobranch`), pk braname.

use chain::{name, Name};
use serde::{Deserialize, Serialize};

use super::{args, read_row, store_row, BRANCH, SOVIET};
use crate::contract::{ApplyContext, Contract};
use crate::error::ChainError;

const BRANCHES: Name = name!("branches");
/// Most trusted members a branch may have.
const MAX_TRUSTED: usize = 3;

/// `branch::branches` row (`coobranch`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CooBranch {
    pub braname: Name,
    pub trustee: Name,
    pub trusted: Vec<Name>,
}

#[derive(Debug, Deserialize)]
struct BranchArgs {
    coopname: Name,
    braname: Name,
    #[serde(default)]
    trustee: Option<Name>,
    #[serde(default)]
    trusted: Option<Name>,
}

/// The simulated `branch` contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct Branch;

impl Contract for Branch {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        let a: BranchArgs = args(ctx)?;
        ctx.require_auth(a.coopname)?;
        super::registrator::get_org(ctx, a.coopname)?;
        let pk = a.braname.as_u64();
        let existing: Option<CooBranch> = read_row(ctx, BRANCH, a.coopname, BRANCHES, pk)?;
        let action = ctx.action_name();
        if action == name!("createbranch") {
            ctx.check(
                existing.is_none(),
                format!("branch {} already exists", a.braname),
            )?;
            ctx.check(!a.braname.is_empty(), "braname must not be empty")?;
            let trustee = a.trustee.unwrap_or_default();
            check_participant(ctx, a.coopname, trustee)?;
            let row = CooBranch {
                braname: a.braname,
                trustee,
                trusted: Vec::new(),
            };
            return store_row(ctx, a.coopname, BRANCHES, a.coopname, pk, &row, Vec::new());
        }
        let mut row = existing
            .ok_or_else(|| ChainError::Assert(format!("branch {} is not found", a.braname)))?;
        match action {
            n if n == name!("editbranch") => {
                let trustee = a.trustee.unwrap_or_default();
                check_participant(ctx, a.coopname, trustee)?;
                row.trustee = trustee;
            }
            n if n == name!("deletebranch") => {
                let org = super::registrator::get_org(ctx, a.coopname)?;
                let others = ctx.rows(BRANCH, a.coopname, BRANCHES, 0, u64::MAX).len();
                ctx.check(
                    !org.is_branched || others > 1,
                    "the last branch of a branched cooperative cannot be deleted",
                )?;
                return ctx.erase(a.coopname, BRANCHES, pk);
            }
            n if n == name!("addtrusted") => {
                let trusted = a.trusted.unwrap_or_default();
                check_participant(ctx, a.coopname, trusted)?;
                ctx.check(
                    !row.trusted.contains(&trusted),
                    format!("{trusted} is already trusted"),
                )?;
                ctx.check(
                    row.trusted.len() < MAX_TRUSTED,
                    "a branch has at most 3 trusted members",
                )?;
                row.trusted.push(trusted);
            }
            n if n == name!("deltrusted") => {
                let trusted = a.trusted.unwrap_or_default();
                ctx.check(
                    row.trusted.contains(&trusted),
                    format!("{trusted} is not trusted"),
                )?;
                row.trusted.retain(|t| *t != trusted);
            }
            other => {
                return Err(ChainError::InvalidActionArgs(format!(
                    "branch has no action {other}"
                )))
            }
        }
        store_row(ctx, a.coopname, BRANCHES, a.coopname, pk, &row, Vec::new())
    }
}

/// Trustees and trusted members must be accounts and participants of the cooperative.
fn check_participant(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    username: Name,
) -> Result<(), ChainError> {
    ctx.check(
        ctx.is_account(username),
        format!("account {username} does not exist"),
    )?;
    let row = ctx.get_row(SOVIET, coopname, name!("participants"), username.as_u64());
    ctx.check(
        row.is_some(),
        format!("{username} is not a participant of {coopname}"),
    )
}
