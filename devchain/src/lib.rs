//! Development chain: a one-producer COOPOS-compatible node (Leap 5 chain HTTP API and SHiP) for
//! development, demos and tests.
//!
//! Pure core (no I/O): `state` (accounts, tables, journal), `contract` (the interface simulated
//! contracts implement), `system` (native `eosio` actions), `contracts` (the simulated
//! cooperative contracts and their ABIs), `auth`, `exec` (action execution and traces), `block`
//! (ids, merkle roots, deltas), `chain` (validation, pending block, sealing, replay, forks),
//! `genesis`. I/O edge: `blocklog` (disk), `api` + `http` (chain API), `ship` (state history
//! websocket), `node` (tasks and the [`Devchain::start`] entry point), `cli` (the binary's
//! commands).

pub mod api;
pub mod auth;
pub mod block;
pub mod blocklog;
pub mod chain;
pub mod cli;
pub mod contract;
pub mod contracts;
pub mod error;
pub mod exec;
pub mod genesis;
pub mod http;
pub mod node;
pub mod ship;
pub mod state;
pub mod system;

pub use contract::{ApplyContext, Contract, ContractSet};
pub use error::ChainError;
pub use genesis::{Genesis, GenesisFile};
pub use node::{Devchain, DevchainConfig, DevchainHandle};
