//! The MONO hosting control plane and its operator CLI `mono`.
//!
//! `config` turns file, environment and flags into one validated [`config::PlatformConfig`];
//! `platform` brings the local platform up and down (`up`: the services it runs, each a
//! `daemon`); `service` runs the control plane (`mono
//! serve`): `model` (pure core: names, states, requests, backoff), `secrets` (master key, tokens),
//! `db` (all SQL: the registry and the per-cooperative roles and databases), `runtime` (where
//! nodes run), `reconcile` (desired vs observed state), `routes` (publishing to the gateway),
//! `api` (HTTP JSON API), `metrics`; `client` is the CLI's side of the API; `chain_cli` holds the
//! `mono chain …` tools; `cli` parses the command line and prints tables or, with `--json`, JSON.

pub mod api;
pub mod chain_cli;
pub mod cli;
pub mod cli_coop;
pub mod client;
pub mod config;
pub mod daemon;
pub mod db;
pub mod metrics;
pub mod model;
pub mod platform;
pub mod reconcile;
pub mod routes;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod up;
