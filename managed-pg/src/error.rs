//! Errors of the managed cluster, each worded so an operator knows what to do next.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries not found (looked in {searched}); install the postgresql \
         package: apt-get install postgresql"
    )]
    MissingBinaries { searched: String },
    #[error(
        "data directory {data_dir} was created by PostgreSQL {data_version}, but the binaries in \
         {bindir} are PostgreSQL {binary_version}; point postgres.bindir at version \
         {data_version} binaries or upgrade the cluster with pg_upgrade"
    )]
    VersionMismatch {
        data_dir: PathBuf,
        data_version: String,
        binary_version: u32,
        bindir: PathBuf,
    },
    #[error(
        "port {port} on 127.0.0.1 is already in use by another program; choose another port \
         (postgres.port, MONO_PG_PORT or --pg-port)"
    )]
    PortInUse { port: u16 },
    #[error("{path} exists but is not a PostgreSQL data directory (no PG_VERSION); move it away or choose another data directory")]
    NotADataDir { path: PathBuf },
    #[error(
        "unix socket path {path} is {len} bytes, longer than the 107 the OS allows; choose a \
         shorter data directory"
    )]
    SocketPathTooLong { path: PathBuf, len: usize },
    #[error(
        "running as root, but PostgreSQL refuses to run as root and the system user {user:?} \
         does not exist; install the postgresql package (it creates the user) or run as a normal user"
    )]
    NoServiceUser { user: String },
    #[error("the PostgreSQL service user {user:?} cannot reach {path}: {reason}")]
    NotTraversable {
        user: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{action} failed: {detail}")]
    Command {
        action: &'static str,
        detail: String,
    },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid pg_hba rule: {detail}")]
    BadHbaRule { detail: String },
    #[error("PostgreSQL did not accept connections within {seconds} s; see {log}")]
    NotReady { seconds: u64, log: PathBuf },
}

impl ClusterError {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
        let action = action.into();
        move |source| ClusterError::Io { action, source }
    }
}
