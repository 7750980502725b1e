//! Executes a transaction's actions like Leap's `transaction_context`/`apply_context`: root
//! actions get ordinals first, each action runs for its receiver then for every notified account,
//! then its inline actions run depth-first; receipts carry global/recv/auth sequences.

use chain::bytes::{Bytes, Pack, VarUint32};
use chain::ship::{
    AccountAuthSequence, ActionReceipt, ActionReceiptV0, ActionTrace, ActionTraceV1,
};
use chain::time::BlockTimestamp;
use chain::transaction::{Action, PermissionLevel, Transaction};
use chain::{name, Checksum256, Name};
use serde_json::Value;

use crate::contract::{ApplyContext, Contract, ContractSet, Scheduled};
use crate::error::ChainError;
use crate::state::{ChainState, Journal};
use crate::system::SystemContract;

/// Leap's default `max_inline_action_depth`.
pub const MAX_INLINE_DEPTH: u32 = 4;

/// Where a transaction runs.
#[derive(Debug, Clone, Copy)]
pub struct ExecParams {
    pub block_time: BlockTimestamp,
    pub block_num: u32,
    pub trx_id: Checksum256,
}

/// Decodes action data with the action account's ABI (actions on accounts without an ABI are
/// refused).
pub fn decode_action_data(state: &ChainState, act: &Action) -> Result<Value, ChainError> {
    let abi = state
        .abi(act.account)
        .ok_or(ChainError::AbiNotFound(act.account))?;
    abi.decode_action(act.name, &act.data.0)
        .map_err(|e| ChainError::Unpack(format!("{}::{}: {e}", act.account, act.name)))
}

struct Executor<'a> {
    state: &'a mut ChainState,
    journal: &'a mut Journal,
    contracts: &'a ContractSet,
    params: ExecParams,
    declared: Vec<PermissionLevel>,
    traces: Vec<ActionTraceV1>,
    actions: Vec<(Action, Value)>,
}

/// Runs every action of `trx`; writes go to `state` through `journal` (the caller rolls back on
/// error). Returns the action traces in ordinal order.
pub fn execute_transaction(
    state: &mut ChainState,
    journal: &mut Journal,
    contracts: &ContractSet,
    trx: &Transaction,
    params: ExecParams,
) -> Result<Vec<ActionTrace>, ChainError> {
    if trx.actions.is_empty() {
        return Err(ChainError::NoActions);
    }
    let mut ex = Executor {
        state,
        journal,
        contracts,
        params,
        declared: trx
            .actions
            .iter()
            .flat_map(|a| a.authorization.iter().copied())
            .collect(),
        traces: Vec::new(),
        actions: Vec::new(),
    };
    for act in &trx.actions {
        let data = decode_action_data(ex.state, act)?;
        ex.schedule(act.clone(), data, act.account, 0);
    }
    for ordinal in 1..=trx.actions.len() as u32 {
        ex.execute(ordinal, 0)?;
    }
    Ok(ex.traces.into_iter().map(ActionTrace::V1).collect())
}

fn to_ship_action(act: &Action) -> chain::ship::Action {
    chain::ship::Action {
        account: act.account,
        name: act.name,
        authorization: act
            .authorization
            .iter()
            .map(|l| chain::ship::PermissionLevel {
                actor: l.actor,
                permission: l.permission,
            })
            .collect(),
        data: act.data.clone(),
    }
}

impl Executor<'_> {
    fn schedule(&mut self, act: Action, data: Value, receiver: Name, creator: u32) -> u32 {
        let ordinal = self.traces.len() as u32 + 1;
        self.traces.push(ActionTraceV1 {
            action_ordinal: VarUint32(ordinal),
            creator_action_ordinal: VarUint32(creator),
            receipt: None,
            receiver,
            act: to_ship_action(&act),
            context_free: false,
            elapsed: 0,
            console: String::new(),
            account_ram_deltas: Vec::new(),
            except: None,
            error_code: None,
            return_value: Bytes::default(),
        });
        self.actions.push((act, data));
        ordinal
    }

    fn execute(&mut self, ordinal: u32, depth: u32) -> Result<(), ChainError> {
        if depth > MAX_INLINE_DEPTH {
            return Err(ChainError::TooDeep(MAX_INLINE_DEPTH));
        }
        let idx = ordinal as usize - 1;
        let mut notified: Vec<(Name, u32)> = vec![(self.traces[idx].receiver, ordinal)];
        let mut inline: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < notified.len() {
            let (receiver, current) = notified[i];
            let (act, data) = self.actions[idx].clone();
            let (scheduled, console) = self.run_handler(receiver, &act, &data)?;
            self.finish_receipt(current, receiver, &act, console)?;
            for item in scheduled {
                match item {
                    Scheduled::Notify(account) => {
                        if notified.iter().all(|(n, _)| *n != account) {
                            let o = self.schedule(act.clone(), data.clone(), account, current);
                            notified.push((account, o));
                        }
                    }
                    Scheduled::Inline(a) => {
                        self.check_inline_auth(receiver, &a)?;
                        let d = decode_action_data(self.state, &a)?;
                        let account = a.account;
                        inline.push(self.schedule(a, d, account, current));
                    }
                }
            }
            i += 1;
        }
        for o in inline {
            self.execute(o, depth + 1)?;
        }
        Ok(())
    }

    fn run_handler(
        &mut self,
        receiver: Name,
        act: &Action,
        data: &Value,
    ) -> Result<(Vec<Scheduled>, String), ChainError> {
        let mut ctx = ApplyContext {
            receiver,
            act,
            data,
            state: self.state,
            journal: self.journal,
            block_time: self.params.block_time,
            block_num: self.params.block_num,
            trx_id: self.params.trx_id,
            scheduled: Vec::new(),
            console: String::new(),
        };
        if receiver == name!("eosio") {
            SystemContract.apply(&mut ctx)?;
        } else if let Some(contract) = self.contracts.get(receiver) {
            contract.apply(&mut ctx)?;
        }
        Ok((ctx.scheduled, ctx.console))
    }

    /// Inline actions may use the sending contract's own permissions or ones the transaction
    /// declared (the devchain's stand-in for `eosio.code`).
    fn check_inline_auth(&self, sender: Name, act: &Action) -> Result<(), ChainError> {
        for level in &act.authorization {
            let exists = self
                .state
                .account(level.actor)
                .is_some_and(|a| a.permission(level.permission).is_some());
            if !exists || (level.actor != sender && !self.declared.contains(level)) {
                return Err(ChainError::MissingAuth(level.actor));
            }
        }
        Ok(())
    }

    fn finish_receipt(
        &mut self,
        ordinal: u32,
        receiver: Name,
        act: &Action,
        console: String,
    ) -> Result<(), ChainError> {
        let mut global = self.state.global();
        global.global_sequence += 1;
        self.state.write_global(self.journal, global);
        let mut recv = self
            .state
            .account(receiver)
            .cloned()
            .ok_or(ChainError::UnknownAccount(receiver))?;
        recv.recv_sequence += 1;
        let (recv_sequence, code_sequence, abi_sequence) =
            (recv.recv_sequence, recv.code_sequence, recv.abi_sequence);
        self.state.write_account(self.journal, recv);
        let mut auth_sequence = Vec::new();
        let mut actors: Vec<Name> = act.authorization.iter().map(|l| l.actor).collect();
        actors.sort();
        actors.dedup();
        for actor in actors {
            let mut acc = self
                .state
                .account(actor)
                .cloned()
                .ok_or(ChainError::UnknownAccount(actor))?;
            acc.auth_sequence += 1;
            auth_sequence.push(AccountAuthSequence {
                account: actor,
                sequence: acc.auth_sequence,
            });
            self.state.write_account(self.journal, acc);
        }
        let trace = &mut self.traces[ordinal as usize - 1];
        trace.console = console;
        trace.receipt = Some(ActionReceipt::V0(ActionReceiptV0 {
            receiver,
            act_digest: Checksum256::sha256(trace.act.packed()),
            global_sequence: global.global_sequence,
            recv_sequence,
            auth_sequence,
            code_sequence: VarUint32(code_sequence),
            abi_sequence: VarUint32(abi_sequence),
        }));
        Ok(())
    }
}
