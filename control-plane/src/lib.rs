//! The MONO hosting control plane and its operator CLI `mono`.
//!
//! `config` turns file, environment and flags into one validated [`config::PlatformConfig`];
//! `platform` brings the local platform up and down (today: the managed PostgreSQL);
//! `chain_cli` holds the `mono chain …` tools; `cli` parses the command line and prints results for people or, with `--json`, for scripts.

pub mod chain_cli;
pub mod cli;
pub mod config;
pub mod platform;
