//! Managed local PostgreSQL, the platform's embedded default, and the test-database harness.
//!
//! When no external admin URL is configured, the platform runs its own cluster from the Debian
//! PostgreSQL binaries: `initdb` with SCRAM authentication and a generated superuser password,
//! a `pg_hba.conf` that admits local connections only, `pg_ctl` start/stop on a loopback port and
//! a unix socket in the data directory. [`testing`] reuses the same code so tests run against a
//! real cluster they start themselves (or the one `.ci/run` started).

mod binaries;
mod cluster;
mod error;
mod hba;
mod privileges;
pub mod testing;

pub use binaries::{find_binaries, PgBinaries};
pub use cluster::{
    url_with_database, Cluster, ClusterConfig, Running, StartOutcome, StopOutcome, DEFAULT_PORT,
    SUPERUSER,
};
pub use error::ClusterError;
pub use hba::HbaRule;
