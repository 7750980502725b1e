//! State History (SHiP) protocol: message types defined in Rust and the websocket client.
//!
//! - [`types`]: the Leap 5 SHiP ABI structs and variants with `Pack`/`Unpack`;
//! - [`schema`]: their ABI descriptions (checked against the node's ABI by `tests/ship_abi.rs`);
//! - [`client`]: one websocket session (`get_status`, raw requests/results);
//! - [`stream`]: the block stream (window, acks, forks, reconnects);
//! - [`block`]: decoded blocks and trace/delta helpers.

#[macro_use]
mod macros;

pub mod block;
pub mod client;
pub mod schema;
pub mod stream;
pub mod types;

pub use block::{
    account_changes, contract_row_changes, executed_traces, RowChange, ShipBlock, ShipBlockHeader,
};
pub use client::{ShipClient, ShipConnectOptions, ShipError};
pub use schema::{AbiTypeName, SchemaDef, ShipSchema};
pub use stream::{ReconnectPolicy, ShipBlockStream, ShipEvent, ShipStreamConfig};
pub use types::*;
