//! The Docker runtime (bollard): one container per cooperative from the node image that
//! `image` makes (imported, never pulled), with labels (`mono.coop`, `mono.managed-by`, the
//! control plane instance, the generation), a restart policy, memory/CPU/pids limits, host
//! networking (each node on its own loopback port), the cooperative's directory mounted
//! read-only at `/work` (secrets as 0600 files there; the database URL in the environment,
//! never in labels), its output followed into `node.log` (the same `mono coop logs` path as the
//! process runtime), graceful stop then kill, and removal on stop. A control plane that starts
//! again finds its containers by label and adopts a running one of the same generation and
//! settings, or replaces it: never two containers for one cooperative.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, HostConfig, HostConfigLogConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    ListImagesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::image::{self, NODE_PATH, NODE_UID, WORKDIR};
use super::process::{ProcessConfig, RotatingLog, LOG_FILE};
use super::{NodeSpec, NodeStatus};
use crate::model::CoopName;

/// Label with the cooperative's name.
pub const LABEL_COOP: &str = "mono.coop";
/// Label marking containers (and images) made by the control plane.
pub const LABEL_MANAGED_BY: &str = "mono.managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "mono-control-plane";
/// Label with the control plane instance (several may share one engine).
pub const LABEL_INSTANCE: &str = "mono.instance";
const LABEL_GENERATION: &str = "mono.generation";
const LABEL_SETTINGS: &str = "mono.settings";

/// Settings of the Docker runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    /// The engine's unix socket (`unix:///var/run/docker.sock` form or a path).
    pub host: String,
    /// CPU limit of each node, in cores.
    pub cpus: f64,
    /// Most processes (threads included) in one node's container.
    pub pids_limit: i64,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            host: default_host(),
            cpus: 1.0,
            pids_limit: 512,
        }
    }
}

/// `DOCKER_HOST` when it names a unix socket, else `/var/run/docker.sock`.
pub fn default_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| h.starts_with("unix://"))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// Connects to the engine at `host` and agrees on the API version; `Err` says why not.
pub async fn connect(host: &str) -> anyhow::Result<Docker> {
    let path = host.strip_prefix("unix://").unwrap_or(host);
    let docker = Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
        .with_context(|| format!("no Docker engine socket at {path}"))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| anyhow::anyhow!("the Docker engine at {path} does not answer"))?
        .with_context(|| format!("the Docker engine at {path} does not answer"))?;
    docker
        .ping()
        .await
        .with_context(|| format!("ping the Docker engine at {path}"))?;
    Ok(docker)
}

/// The [`LABEL_INSTANCE`] value of the control plane whose directory is `state_dir`.
pub fn instance_id(state_dir: &Path) -> String {
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    hex::encode(Sha256::digest(dir.as_os_str().as_encoded_bytes()))[..12].to_owned()
}

#[derive(Debug)]
struct Tracked {
    generation: i64,
    container: String,
    /// `None` while running; the exit description afterwards.
    exit: watch::Receiver<Option<String>>,
    log: tokio::task::JoinHandle<()>,
}

/// The image built for one binary (by path, size and modification time).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BinaryKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

/// Runs nodes as containers of one engine.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    config: DockerConfig,
    node: ProcessConfig,
    /// Distinguishes this control plane's containers from another's on the same engine.
    instance: String,
    /// The binary last seen and its SHA-256.
    image: tokio::sync::Mutex<Option<(BinaryKey, String)>>,
    nodes: Mutex<HashMap<CoopName, Tracked>>,
}

impl DockerRuntime {
    /// Connects to the engine. `state_dir` (the control plane's directory) names the instance.
    pub async fn connect(
        config: DockerConfig,
        node: ProcessConfig,
        state_dir: &Path,
    ) -> anyhow::Result<DockerRuntime> {
        // A stop waits for the grace period inside one request.
        let timeout = Duration::from_secs(node.stop_grace.as_secs().saturating_add(60).max(120));
        let docker = connect(&config.host).await?.with_timeout(timeout);
        let instance = instance_id(state_dir);
        tracing::info!(host = %config.host, %instance, "Connected to the Docker engine");
        Ok(DockerRuntime {
            docker,
            config,
            node,
            instance,
            image: tokio::sync::Mutex::new(None),
            nodes: Mutex::new(HashMap::new()),
        })
    }

    /// This control plane's label value ([`LABEL_INSTANCE`]).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn tracked(&self, coop: &CoopName) -> Option<watch::Receiver<Option<String>>> {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.get(coop).map(|t| t.exit.clone())
    }

    /// The node image for the current binary: built and imported when the engine lacks it
    /// (the binary's hash is kept while its size and modification time stay the same).
    pub async fn ensure_image(&self) -> anyhow::Result<String> {
        let mut cached = self.image.lock().await;
        let binary = self.node.binary.clone();
        let meta = std::fs::metadata(&binary)
            .with_context(|| format!("the tenant-node binary {}", binary.display()))?;
        let key = BinaryKey {
            path: binary.clone(),
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        let digest = match cached.as_ref() {
            Some((k, digest)) if *k == key => digest.clone(),
            _ => {
                let hash_of = binary.clone();
                tokio::task::spawn_blocking(move || image::file_sha256(&hash_of)).await??
            }
        };
        let reference = image::image_ref(&digest);
        match self.docker.inspect_image(&reference).await {
            Ok(_) => {}
            Err(e) if not_found(&e) => {
                self.import_image(&binary, &digest).await?;
                self.prune_images(&reference).await;
            }
            Err(e) => return Err(e).context("inspect the node image"),
        }
        *cached = Some((key, digest));
        Ok(reference)
    }

    /// Removes node images of earlier binaries that no container uses (in-use ones stay).
    async fn prune_images(&self, keep: &str) {
        let filters = HashMap::from([("reference", vec![image::IMAGE_REPO.to_owned()])]);
        let options = ListImagesOptionsBuilder::new().filters(&filters).build();
        let Ok(images) = self.docker.list_images(Some(options)).await else {
            return;
        };
        for img in images {
            if img.repo_tags.iter().any(|t| t == keep) {
                continue;
            }
            for tag in &img.repo_tags {
                match self
                    .docker
                    .remove_image(
                        tag,
                        None::<bollard::query_parameters::RemoveImageOptions>,
                        None,
                    )
                    .await
                {
                    Ok(_) => tracing::info!(image = %tag, "Removed an earlier node image"),
                    Err(e) => tracing::debug!(image = %tag, error = %e, "Node image kept"),
                }
            }
        }
    }

    async fn import_image(&self, binary: &Path, digest: &str) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let binary = binary.to_path_buf();
        let tar = tokio::task::spawn_blocking(move || {
            let libraries = image::shared_libraries(&binary)?;
            image::tarball(&image::rootfs_files(&binary, &libraries)?)
        })
        .await??;
        let size = tar.len();
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(image::IMAGE_REPO)
            .tag(digest)
            .changes(vec![
                format!("USER {NODE_UID}:{NODE_UID}"),
                format!("WORKDIR {WORKDIR}"),
                format!("ENTRYPOINT [\"{NODE_PATH}\"]"),
                format!("LABEL {LABEL_MANAGED_BY}={MANAGED_BY}"),
            ])
            .build();
        let mut progress =
            self.docker
                .create_image(Some(options), Some(bollard::body_full(tar.into())), None);
        while let Some(step) = progress.next().await {
            step.context("import the node image")?;
        }
        tracing::info!(
            image = %image::image_ref(digest),
            bytes = size,
            ms = started.elapsed().as_millis() as u64,
            "Node image imported"
        );
        Ok(())
    }

    /// This control plane's containers of `coop` (any state).
    async fn containers(
        &self,
        coop: &CoopName,
    ) -> anyhow::Result<Vec<bollard::models::ContainerSummary>> {
        let filters = HashMap::from([(
            "label",
            vec![
                format!("{LABEL_INSTANCE}={}", self.instance),
                format!("{LABEL_COOP}={coop}"),
            ],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .context("list the cooperative's containers")
    }

    /// Graceful stop (SIGTERM, SIGKILL after the grace period), then removal.
    async fn remove(&self, id: &str) -> anyhow::Result<()> {
        let grace = i32::try_from(self.node.stop_grace.as_secs()).unwrap_or(i32::MAX);
        let stop = StopContainerOptionsBuilder::new().t(grace).build();
        match self.docker.stop_container(id, Some(stop)).await {
            Ok(()) => {}
            Err(e) if not_found(&e) => return Ok(()),
            // 304: already stopped.
            Err(DockerError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => {
                tracing::warn!(container = id, error = %e, "Graceful stop failed; removing by force")
            }
        }
        let remove = RemoveContainerOptionsBuilder::new().force(true).build();
        match self.docker.remove_container(id, Some(remove)).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            // 409: removal already in progress.
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("remove container {id}")),
        }
    }

    /// What `spec` asks of a container, as a short digest (no secrets in it).
    fn settings_digest(&self, spec: &NodeSpec, image: &str, user: &str) -> String {
        let text = format!(
            "{image}|{}|{}|{}|{}|{user}|{}",
            spec.listen,
            spec.memory_mb,
            self.config.cpus,
            self.config.pids_limit,
            spec.workdir.display()
        );
        hex::encode(Sha256::digest(text.as_bytes()))[..16].to_owned()
    }

    fn track(&self, spec: &NodeSpec, id: String, log_since: i32) {
        let (tx, rx) = watch::channel(None);
        let docker = self.docker.clone();
        let watched = id.clone();
        let coop = spec.coop.clone();
        tokio::spawn(async move {
            let detail = wait_exit(&docker, &watched).await;
            tracing::info!(coop = %coop, %detail, "Tenant node container exited");
            let _ = tx.send(Some(detail));
        });
        let log = tokio::spawn(follow_logs(
            self.docker.clone(),
            id.clone(),
            spec.workdir.join(LOG_FILE),
            self.node.log_max_bytes,
            self.node.log_keep,
            log_since,
        ));
        let old = self.nodes.lock().unwrap_or_else(|e| e.into_inner()).insert(
            spec.coop.clone(),
            Tracked {
                generation: spec.generation,
                container: id,
                exit: rx,
                log,
            },
        );
        if let Some(old) = old {
            old.log.abort();
        }
    }

    pub(super) async fn start(&self, spec: &NodeSpec) -> anyhow::Result<()> {
        if let Some(exit) = self.tracked(&spec.coop) {
            if exit.borrow().is_none() {
                return Ok(());
            }
        }
        let image = self.ensure_image().await?;
        let (uid, gid) = node_user();
        let user = format!("{uid}:{gid}");
        let settings = self.settings_digest(spec, &image, &user);
        let generation = spec.generation.to_string();
        let mut adopted = None;
        for c in self.containers(&spec.coop).await? {
            let Some(id) = c.id.clone() else { continue };
            let labels = c.labels.clone().unwrap_or_default();
            let same = c.state == Some(ContainerSummaryStateEnum::RUNNING)
                && labels.get(LABEL_GENERATION) == Some(&generation)
                && labels.get(LABEL_SETTINGS) == Some(&settings);
            if same && adopted.is_none() {
                adopted = Some(id);
            } else {
                tracing::info!(coop = %spec.coop, container = %id, "Replacing a container of an earlier control plane");
                self.remove(&id).await?;
            }
        }
        if let Some(id) = adopted {
            tracing::info!(coop = %spec.coop, container = %id, "Adopted the running container");
            self.track(spec, id, now_secs());
            return Ok(());
        }
        give_to_node(&spec.workdir, uid, gid)?;
        let name = format!("mono-{}-{}", self.instance, spec.coop);
        let labels = HashMap::from([
            (LABEL_COOP.to_owned(), spec.coop.to_string()),
            (LABEL_MANAGED_BY.to_owned(), MANAGED_BY.to_owned()),
            (LABEL_INSTANCE.to_owned(), self.instance.clone()),
            (LABEL_GENERATION.to_owned(), generation),
            (LABEL_SETTINGS.to_owned(), settings),
        ]);
        let memory = i64::from(spec.memory_mb) * 1024 * 1024;
        let grace = i64::try_from(self.node.stop_grace.as_secs()).unwrap_or(i64::MAX);
        let body = ContainerCreateBody {
            image: Some(image),
            user: Some(user),
            entrypoint: Some(vec![NODE_PATH.to_owned()]),
            cmd: Some(
                ["--config", "node.toml", "serve"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            working_dir: Some(WORKDIR.to_owned()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            stop_signal: Some("SIGTERM".to_owned()),
            stop_timeout: Some(grace),
            host_config: Some(HostConfig {
                network_mode: Some("host".to_owned()),
                binds: Some(vec![format!("{}:{WORKDIR}:ro", spec.workdir.display())]),
                tmpfs: Some(HashMap::from([(
                    "/tmp".to_owned(),
                    "rw,nosuid,nodev,size=64m".to_owned(),
                )])),
                readonly_rootfs: Some(true),
                memory: Some(memory),
                memory_swap: Some(memory),
                nano_cpus: Some((self.config.cpus * 1e9) as i64),
                pids_limit: Some(self.config.pids_limit),
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                log_config: Some(HostConfigLogConfig {
                    typ: Some("json-file".to_owned()),
                    config: Some(HashMap::from([
                        ("max-size".to_owned(), "10m".to_owned()),
                        ("max-file".to_owned(), "2".to_owned()),
                    ])),
                }),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("create container {name}"))?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id).await;
            return Err(e).with_context(|| format!("start container {name}"));
        }
        tracing::info!(coop = %spec.coop, container = %created.id, generation = spec.generation, "Tenant node container started");
        self.track(spec, created.id, 0);
        Ok(())
    }

    pub(super) async fn stop(&self, coop: &CoopName) -> anyhow::Result<()> {
        let tracked = self
            .nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(coop);
        let mut ids: Vec<String> = tracked.iter().map(|t| t.container.clone()).collect();
        for c in self.containers(coop).await? {
            if let Some(id) = c.id {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for id in &ids {
            self.remove(id).await?;
        }
        if let Some(t) = tracked {
            // The follower ends with the container; give it a moment to write the last lines.
            let mut log = t.log;
            if tokio::time::timeout(Duration::from_secs(2), &mut log)
                .await
                .is_err()
            {
                log.abort();
            }
        }
        Ok(())
    }

    pub(super) fn status(&self, coop: &CoopName) -> NodeStatus {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        match nodes.get(coop) {
            None => NodeStatus::Absent,
            Some(t) => match t.exit.borrow().clone() {
                None => NodeStatus::Running {
                    generation: t.generation,
                },
                Some(detail) => NodeStatus::Exited {
                    generation: t.generation,
                    detail,
                },
            },
        }
    }
}

fn not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn now_secs() -> i32 {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// The user nodes run as: the image's `mono` user when the control plane is root (it hands
/// the cooperative's files to that user), else the control plane's own user (who owns them).
fn node_user() -> (u32, u32) {
    if nix::unistd::Uid::effective().is_root() {
        (NODE_UID, NODE_UID)
    } else {
        (
            nix::unistd::Uid::effective().as_raw(),
            nix::unistd::Gid::effective().as_raw(),
        )
    }
}

/// Makes the node's directory, config and secrets readable by `uid` only (nothing to do when
/// the control plane runs as that user).
fn give_to_node(workdir: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    if nix::unistd::Uid::effective().as_raw() == uid {
        return Ok(());
    }
    let owner = (
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    );
    let secrets = workdir.join("secrets");
    let mut paths = vec![workdir.to_path_buf(), workdir.join("node.toml")];
    if secrets.is_dir() {
        paths.push(secrets.clone());
        for entry in std::fs::read_dir(&secrets).context("read the secrets directory")? {
            paths.push(entry?.path());
        }
    }
    for path in paths {
        nix::unistd::chown(&path, owner.0, owner.1)
            .with_context(|| format!("give {} to the node user", path.display()))?;
    }
    Ok(())
}

/// Waits until the container stops running; says how it ended.
async fn wait_exit(docker: &Docker, id: &str) -> String {
    let options = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    let waited = docker.wait_container(id, Some(options)).next().await;
    let mut detail = match waited {
        Some(Ok(r)) => format!("exit status {}", r.status_code),
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => {
            format!("exit status {code}")
        }
        Some(Err(e)) if not_found(&e) => return "container removed".to_owned(),
        Some(Err(e)) => return format!("lost the container: {e}"),
        None => return "lost the container".to_owned(),
    };
    if let Ok(inspect) = docker.inspect_container(id, None).await {
        if inspect.state.and_then(|s| s.oom_killed) == Some(true) {
            detail.push_str(", killed: out of memory");
        }
    }
    detail
}

/// Copies the container's output into `node.log` (rotated) until the container stops.
async fn follow_logs(docker: Docker, id: String, path: PathBuf, max: u64, keep: usize, since: i32) {
    let mut log = match RotatingLog::open(path, max, keep) {
        Ok(log) => log,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "Cannot open the node log");
            return;
        }
    };
    let options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .since(since)
        .build();
    let mut stream = docker.logs(&id, Some(options));
    while let Some(item) = stream.next().await {
        match item {
            Ok(output) => {
                if let Err(e) = log.write(output.as_ref()) {
                    tracing::warn!(error = %e, "Cannot write the node log");
                }
            }
            Err(e) => {
                tracing::debug!(container = %id, error = %e, "Container log stream ended");
                return;
            }
        }
    }
}
