//! COOPOS chain library: byte-exact Antelope (Leap 5) wire formats and the clients that speak them.
//!
//! The pure core (`bytes`, `name`, `checksum`, `asset`, `time`, `abi`, `keys`, `transaction`,
//! `document`, `jcs`, `coop`) does no I/O; only `api` (chain HTTP) and `ship` (state history websocket)
//! touch the network.

pub mod abi;
pub mod api;
pub mod asset;
pub mod bytes;
pub mod checksum;
pub mod coop;
pub mod document;
pub mod jcs;
pub mod keys;
pub mod name;
pub mod ship;
pub mod time;
pub mod transaction;

pub use bytes::{DecodeError, Pack, Reader, Unpack};
pub use checksum::{Checksum160, Checksum256, Checksum512};
pub use name::Name;
