//! Where tenant nodes run: one interface ([`NodeRuntime`]) and its implementations, selected per
//! cooperative (`runtime` column) or by default. Today: `process` (a supervised child process).

pub mod process;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::model::CoopName;

/// Everything a runtime needs to start one cooperative's node.
#[derive(Clone)]
pub struct NodeSpec {
    pub coop: CoopName,
    /// The restart generation this node is started for.
    pub generation: i64,
    /// The cooperative's own directory (config, secrets, logs).
    pub workdir: PathBuf,
    /// Where the node listens (loopback, its own port).
    pub listen: SocketAddr,
    /// The node's whole environment (secrets included; never logged).
    pub env: Vec<(String, String)>,
    /// Memory limit.
    pub memory_mb: u32,
}

impl std::fmt::Debug for NodeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSpec")
            .field("coop", &self.coop)
            .field("generation", &self.generation)
            .field("workdir", &self.workdir)
            .field("listen", &self.listen)
            .field("memory_mb", &self.memory_mb)
            .finish_non_exhaustive()
    }
}

/// What a runtime knows about a cooperative's node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running, started for `generation`.
    Running { generation: i64 },
    /// Started by this control plane and exited since (crash or kill).
    Exited { generation: i64, detail: String },
    /// Not started by this control plane.
    Absent,
}

/// A place to run tenant nodes. Every operation is idempotent.
pub trait NodeRuntime: Send + Sync {
    /// Starts the node (stopping a leftover one of an earlier control plane first).
    fn start(&self, spec: &NodeSpec) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Stops the node: graceful stop, then kill after the grace period. No node is fine.
    fn stop(
        &self,
        coop: &CoopName,
        workdir: &Path,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn status(&self, coop: &CoopName) -> NodeStatus;
    /// The last `lines` lines of the node's output.
    fn logs(&self, workdir: &Path, lines: usize) -> anyhow::Result<String>;
}
