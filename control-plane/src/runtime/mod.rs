//! Where tenant nodes run: one interface ([`NodeRuntime`]) and its implementations, selected per
//! cooperative (`runtime` column, default from the configuration): `process` (a supervised child
//! process) and `docker` (a container per cooperative); [`Runtimes`] dispatches between them.

pub mod docker;
pub mod image;
pub mod process;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::model::{CoopName, RuntimeKind};

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
    /// Where the node runs.
    pub runtime: RuntimeKind,
}

impl std::fmt::Debug for NodeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSpec")
            .field("coop", &self.coop)
            .field("generation", &self.generation)
            .field("workdir", &self.workdir)
            .field("listen", &self.listen)
            .field("memory_mb", &self.memory_mb)
            .field("runtime", &self.runtime)
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

/// Which runtime started a cooperative's node, kept in its directory so a restarted control
/// plane stops it in the right place (written before the node is started).
const RUNTIME_FILE: &str = "node.runtime";

/// The runtimes of one control plane: the process runtime, and the Docker runtime connected on
/// first use (a platform without Docker cooperatives never needs an engine).
#[derive(Debug)]
pub struct Runtimes {
    process: process::ProcessRuntime,
    node: process::ProcessConfig,
    docker_config: docker::DockerConfig,
    state_dir: PathBuf,
    docker: tokio::sync::OnceCell<docker::DockerRuntime>,
}

impl Runtimes {
    pub fn new(
        node: process::ProcessConfig,
        docker_config: docker::DockerConfig,
        state_dir: &Path,
    ) -> Runtimes {
        Runtimes {
            process: process::ProcessRuntime::new(node.clone()),
            node,
            docker_config,
            state_dir: state_dir.to_path_buf(),
            docker: tokio::sync::OnceCell::new(),
        }
    }

    /// The Docker runtime, connecting to the engine on first use.
    pub async fn docker(&self) -> anyhow::Result<&docker::DockerRuntime> {
        self.docker
            .get_or_try_init(|| {
                docker::DockerRuntime::connect(
                    self.docker_config.clone(),
                    self.node.clone(),
                    &self.state_dir,
                )
            })
            .await
    }

    fn recorded(workdir: &Path) -> Option<RuntimeKind> {
        let text = std::fs::read_to_string(workdir.join(RUNTIME_FILE)).ok()?;
        RuntimeKind::parse(text.trim())
    }
}

impl NodeRuntime for Runtimes {
    async fn start(&self, spec: &NodeSpec) -> anyhow::Result<()> {
        std::fs::create_dir_all(&spec.workdir)
            .with_context(|| format!("create {}", spec.workdir.display()))?;
        std::fs::write(spec.workdir.join(RUNTIME_FILE), spec.runtime.as_str())
            .context("record the node's runtime")?;
        match spec.runtime {
            RuntimeKind::Process => self.process.start(spec).await,
            RuntimeKind::Docker => self.docker().await?.start(spec).await,
        }
    }

    async fn stop(&self, coop: &CoopName, workdir: &Path) -> anyhow::Result<()> {
        self.process.stop(coop, workdir).await?;
        if Self::recorded(workdir) == Some(RuntimeKind::Docker) {
            self.docker().await?.stop(coop).await?;
        } else if let Some(docker) = self.docker.get() {
            docker.stop(coop).await?;
        }
        Ok(())
    }

    fn status(&self, coop: &CoopName) -> NodeStatus {
        match self.process.status(coop) {
            NodeStatus::Absent => self
                .docker
                .get()
                .map_or(NodeStatus::Absent, |d| d.status(coop)),
            known => known,
        }
    }

    fn logs(&self, workdir: &Path, lines: usize) -> anyhow::Result<String> {
        process::tail_log(workdir, lines)
    }
}
