//! What concerns this cooperative (pure): which action receipts and table rows the node keeps,
//! and the field plans that find an action's `coopname` without decoding the whole action.
//!
//! Kept: every receipt received by the cooperative's own account (notifications); receipts of
//! the followed contracts whose data names the cooperative (`coopname`, or `scope` for `draft`,
//! where the shared `draft` scope counts too); `eosio::setabi` of followed accounts. Rows: every
//! followed contract's rows in the cooperative's scope, `registrator::orgs`, the
//! `registrator::accounts` cards the cooperative registered, and the shared `draft` scope.

use std::collections::HashMap;

use chain::abi::{AbiDef, StructDef};
use chain::bytes::Reader;
use chain::{name, Name, Unpack};

use crate::config::Contracts;

/// The system account (its `setabi` feeds the ABI history).
pub const EOSIO: Name = name!("eosio");
pub const SETABI: Name = name!("setabi");
const ORGS: Name = name!("orgs");
const ACCOUNTS: Name = name!("accounts");

/// The cooperative and the contracts it follows.
#[derive(Debug, Clone)]
pub struct Interest {
    pub coop: Name,
    pub contracts: Contracts,
}

/// What to do with an action receipt before decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionInterest {
    Keep,
    Drop,
    /// Keep when the named field of the action data is one of the accepted values.
    Field(CoopField),
}

/// The field naming the cooperative in an action or row, and which values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoopField {
    /// `coopname == coop`.
    Coopname,
    /// `draft`'s `scope`: the cooperative or the shared `draft` scope.
    DraftScope,
    /// `registrator::accounts.registrator == coop`.
    Registrator,
}

impl CoopField {
    pub fn field_name(self) -> &'static str {
        match self {
            CoopField::Coopname => "coopname",
            CoopField::DraftScope => "scope",
            CoopField::Registrator => "registrator",
        }
    }
}

/// What to do with a table row change before decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowInterest {
    Keep,
    Drop,
    Field(CoopField),
}

impl Interest {
    pub fn is_followed(&self, account: Name) -> bool {
        self.contracts.all().contains(&account)
    }

    /// Accounts whose ABI history the node keeps.
    pub fn abi_accounts(&self) -> Vec<Name> {
        let mut v = vec![EOSIO];
        v.extend(self.contracts.all());
        v
    }

    /// Decides on a receipt from its receiver and action name alone when it can.
    pub fn action(&self, receiver: Name, account: Name, action: Name) -> ActionInterest {
        if receiver == self.coop {
            return ActionInterest::Keep;
        }
        if account == EOSIO && receiver == EOSIO {
            return if action == SETABI {
                ActionInterest::Keep
            } else {
                ActionInterest::Drop
            };
        }
        if !self.is_followed(receiver) || !self.is_followed(account) {
            return ActionInterest::Drop;
        }
        if account == self.contracts.draft {
            ActionInterest::Field(CoopField::DraftScope)
        } else {
            ActionInterest::Field(CoopField::Coopname)
        }
    }

    /// Decides on a row change from its key.
    pub fn row(&self, code: Name, scope: Name, table: Name) -> RowInterest {
        if !self.is_followed(code) {
            return RowInterest::Drop;
        }
        let c = &self.contracts;
        let shared = (code == c.registrator && scope == c.registrator && table == ORGS)
            || (code == c.draft && scope == c.draft);
        if scope == self.coop || shared {
            RowInterest::Keep
        } else if code == c.registrator && scope == c.registrator && table == ACCOUNTS {
            RowInterest::Field(CoopField::Registrator)
        } else {
            RowInterest::Drop
        }
    }

    /// Whether a field value found by a plan (or a decoded value) concerns the cooperative.
    pub fn accepts(&self, field: CoopField, value: Name) -> bool {
        match field {
            CoopField::Coopname | CoopField::Registrator => value == self.coop,
            CoopField::DraftScope => value == self.coop || value == self.contracts.draft,
        }
    }
}

/// How to skip one field of the binary form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Fixed(usize),
    /// `string` / `bytes`: a varuint32 length and that many bytes.
    Sized,
}

/// Where a `name` field sits in an action's binary form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPlan {
    /// The struct has no such `name` field.
    Absent,
    /// Skip these fields, then read a `name`.
    At(Vec<Skip>),
    /// Fields before it are too complex to skip: decode the whole action.
    Decode,
}

impl FieldPlan {
    /// Reads the field; `None` when the data is too short or the plan says decode.
    pub fn read(&self, data: &[u8]) -> Option<Name> {
        let FieldPlan::At(skips) = self else {
            return None;
        };
        let mut r = Reader::new(data);
        for skip in skips {
            match skip {
                Skip::Fixed(n) => {
                    r.take(*n).ok()?;
                }
                Skip::Sized => {
                    r.bytes().ok()?;
                }
            }
        }
        Name::unpack(&mut r).ok()
    }
}

fn fixed_size(type_name: &str) -> Option<Skip> {
    let n = match type_name {
        "bool" | "int8" | "uint8" => 1,
        "int16" | "uint16" => 2,
        "int32" | "uint32" | "float32" | "time_point_sec" | "block_timestamp_type" => 4,
        "int64" | "uint64" | "float64" | "time_point" | "name" | "symbol" | "symbol_code" => 8,
        "int128" | "uint128" | "float128" | "asset" => 16,
        "checksum160" => 20,
        "extended_asset" => 24,
        "checksum256" => 32,
        "checksum512" => 64,
        "string" | "bytes" => return Some(Skip::Sized),
        _ => return None,
    };
    Some(Skip::Fixed(n))
}

/// The fields of a struct with its bases first (`None` on a missing or cyclic base).
fn flat_fields<'a>(def: &'a AbiDef, s: &'a StructDef) -> Option<Vec<(&'a str, &'a str)>> {
    let mut chain = vec![s];
    let mut cur = s;
    while !cur.base.is_empty() {
        cur = def.structs.iter().find(|b| b.name == cur.base)?;
        if chain.len() > 32 {
            return None;
        }
        chain.push(cur);
    }
    Some(
        chain
            .iter()
            .rev()
            .flat_map(|s| s.fields.iter().map(|f| (f.name.as_str(), f.type_.as_str())))
            .collect(),
    )
}

/// Follows type aliases to the underlying type name.
fn resolve_alias<'a>(def: &'a AbiDef, mut type_name: &'a str) -> &'a str {
    for _ in 0..32 {
        match def.types.iter().find(|t| t.new_type_name == type_name) {
            Some(t) => type_name = &t.type_,
            None => break,
        }
    }
    type_name
}

/// The plan for reading the `name` field `field` of struct `type_name`.
pub fn field_plan(def: &AbiDef, type_name: &str, field: &str) -> FieldPlan {
    let type_name = resolve_alias(def, type_name);
    let Some(s) = def.structs.iter().find(|s| s.name == type_name) else {
        return FieldPlan::Absent;
    };
    let Some(fields) = flat_fields(def, s) else {
        return FieldPlan::Decode;
    };
    let Some(pos) = fields.iter().position(|(n, _)| *n == field) else {
        return FieldPlan::Absent;
    };
    if resolve_alias(def, fields[pos].1) != "name" {
        return FieldPlan::Absent;
    }
    let mut skips = Vec::with_capacity(pos);
    for (_, t) in &fields[..pos] {
        match fixed_size(resolve_alias(def, t)) {
            Some(skip) => skips.push(skip),
            None => return FieldPlan::Decode,
        }
    }
    FieldPlan::At(skips)
}

/// Plans for every action of an ABI, for both cooperative fields actions can carry.
#[derive(Debug, Clone, Default)]
pub struct ActionPlans {
    coopname: HashMap<Name, FieldPlan>,
    scope: HashMap<Name, FieldPlan>,
}

impl ActionPlans {
    pub fn new(def: &AbiDef) -> ActionPlans {
        let mut plans = ActionPlans::default();
        for a in &def.actions {
            let c = field_plan(def, &a.type_, CoopField::Coopname.field_name());
            let s = field_plan(def, &a.type_, CoopField::DraftScope.field_name());
            plans.coopname.insert(a.name, c);
            plans.scope.insert(a.name, s);
        }
        plans
    }

    pub fn get(&self, action: Name, field: CoopField) -> &FieldPlan {
        const ABSENT: &FieldPlan = &FieldPlan::Absent;
        let map = match field {
            CoopField::DraftScope => &self.scope,
            CoopField::Coopname | CoopField::Registrator => &self.coopname,
        };
        map.get(&action).unwrap_or(ABSENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::abi::Abi;
    use serde_json::json;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn interest() -> Interest {
        Interest {
            coop: n("voskhod"),
            contracts: Contracts {
                registrator: n("registrator"),
                soviet: n("soviet"),
                gateway: n("gateway"),
                branch: n("branch"),
                draft: n("draft"),
                wallet: n("wallet"),
                fund: n("fund"),
            },
        }
    }

    const ABI: &str = r#"{"version":"eosio::abi/1.2","types":[{"new_type_name":"coop_t","type":"name"}],
      "structs":[
        {"name":"vote","base":"","fields":[{"name":"version","type":"string"},{"name":"coopname","type":"coop_t"},{"name":"n","type":"uint64"}]},
        {"name":"exec","base":"","fields":[{"name":"executer","type":"name"},{"name":"coopname","type":"name"}]},
        {"name":"hard","base":"","fields":[{"name":"list","type":"name[]"},{"name":"coopname","type":"name"}]},
        {"name":"base","base":"","fields":[{"name":"coopname","type":"name"}]},
        {"name":"derived","base":"base","fields":[{"name":"x","type":"uint8"}]},
        {"name":"none","base":"","fields":[{"name":"x","type":"uint8"}]}],
      "actions":[{"name":"votefor","type":"vote","ricardian_contract":""},{"name":"exec","type":"exec","ricardian_contract":""},
        {"name":"hard","type":"hard","ricardian_contract":""},{"name":"derived","type":"derived","ricardian_contract":""},
        {"name":"none","type":"none","ricardian_contract":""}]}"#;

    #[test]
    fn plans_find_the_coopname_without_decoding() {
        let abi = Abi::from_json(ABI).unwrap();
        let plans = ActionPlans::new(abi.def());
        let vote = abi
            .encode_action(
                n("votefor"),
                &json!({"version": "1.0.0", "coopname": "voskhod", "n": 5}),
            )
            .unwrap();
        let plan = plans.get(n("votefor"), CoopField::Coopname);
        assert_eq!(plan.read(&vote), Some(n("voskhod")));
        let exec = abi
            .encode_action(
                n("exec"),
                &json!({"executer": "chairman", "coopname": "zarya"}),
            )
            .unwrap();
        assert_eq!(
            plans.get(n("exec"), CoopField::Coopname).read(&exec),
            Some(n("zarya"))
        );
        assert_eq!(
            *plans.get(n("hard"), CoopField::Coopname),
            FieldPlan::Decode
        );
        let derived = abi
            .encode_action(n("derived"), &json!({"coopname": "voskhod", "x": 1}))
            .unwrap();
        assert_eq!(
            plans.get(n("derived"), CoopField::Coopname).read(&derived),
            Some(n("voskhod"))
        );
        assert_eq!(
            *plans.get(n("none"), CoopField::Coopname),
            FieldPlan::Absent
        );
        assert_eq!(
            *plans.get(n("unknown"), CoopField::Coopname),
            FieldPlan::Absent
        );
        assert_eq!(plan.read(&vote[..3]), None, "short data is not a match");
    }

    #[test]
    fn interest_rules() {
        let i = interest();
        let (coop, soviet, draft) = (n("voskhod"), n("soviet"), n("draft"));
        assert_eq!(
            i.action(coop, soviet, n("newsubmitted")),
            ActionInterest::Keep
        );
        assert_eq!(
            i.action(soviet, soviet, n("votefor")),
            ActionInterest::Field(CoopField::Coopname)
        );
        assert_eq!(
            i.action(draft, draft, n("createdraft")),
            ActionInterest::Field(CoopField::DraftScope)
        );
        assert_eq!(i.action(EOSIO, EOSIO, SETABI), ActionInterest::Keep);
        assert_eq!(
            i.action(EOSIO, EOSIO, n("newaccount")),
            ActionInterest::Drop
        );
        assert_eq!(
            i.action(n("alice"), soviet, n("newsubmitted")),
            ActionInterest::Drop
        );
        assert!(i.accepts(CoopField::DraftScope, draft));
        assert!(!i.accepts(CoopField::Coopname, draft));

        let reg = n("registrator");
        assert_eq!(i.row(soviet, coop, n("decisions")), RowInterest::Keep);
        assert_eq!(i.row(soviet, n("zarya"), n("decisions")), RowInterest::Drop);
        assert_eq!(i.row(reg, reg, n("orgs")), RowInterest::Keep);
        assert_eq!(
            i.row(reg, reg, n("accounts")),
            RowInterest::Field(CoopField::Registrator)
        );
        assert_eq!(i.row(draft, draft, n("drafts")), RowInterest::Keep);
        assert_eq!(
            i.row(n("eosio.token"), coop, n("accounts")),
            RowInterest::Drop
        );
    }
}
