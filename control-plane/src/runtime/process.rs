//! The process runtime: each node is a child process in its own process group, with its own
//! environment and working directory, stdout and stderr captured into `node.log` (rotated), an
//! address-space and open-files limit through `prlimit` where available, and SIGTERM then
//! SIGKILL on stop. A node left running by a control plane that was killed is found through its
//! pid file (and its working directory, so a reused pid is never touched) and stopped before a
//! new one starts.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::{NodeRuntime, NodeSpec, NodeStatus};
use crate::model::CoopName;

const PID_FILE: &str = "node.pid";
/// The node's output, in its directory (rotated as `node.log.N`).
pub(crate) const LOG_FILE: &str = "node.log";

/// Settings of the process runtime.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The `tenant-node` binary.
    pub binary: PathBuf,
    /// Graceful stop period before SIGKILL.
    pub stop_grace: Duration,
    /// Rotate `node.log` beyond this size.
    pub log_max_bytes: u64,
    /// Rotated files kept (`node.log.1` …).
    pub log_keep: usize,
}

#[derive(Debug)]
struct Tracked {
    generation: i64,
    pid: u32,
    /// `None` while running; the exit description afterwards.
    exit: watch::Receiver<Option<String>>,
}

/// Runs nodes as child processes.
#[derive(Debug)]
pub struct ProcessRuntime {
    config: ProcessConfig,
    prlimit: Option<PathBuf>,
    nodes: Mutex<HashMap<CoopName, Tracked>>,
}

impl ProcessRuntime {
    pub fn new(config: ProcessConfig) -> ProcessRuntime {
        let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        if prlimit.is_none() {
            tracing::warn!("prlimit not found: tenant nodes run without memory and file limits");
        }
        ProcessRuntime {
            config,
            prlimit,
            nodes: Mutex::new(HashMap::new()),
        }
    }

    fn tracked(&self, coop: &CoopName) -> Option<(u32, watch::Receiver<Option<String>>)> {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.get(coop).map(|t| (t.pid, t.exit.clone()))
    }
}

impl NodeRuntime for ProcessRuntime {
    async fn start(&self, spec: &NodeSpec) -> anyhow::Result<()> {
        if let Some((_, exit)) = self.tracked(&spec.coop) {
            if exit.borrow().is_none() {
                return Ok(());
            }
        }
        stop_orphan(&spec.workdir, self.config.stop_grace).await?;
        std::fs::create_dir_all(&spec.workdir)
            .with_context(|| format!("create {}", spec.workdir.display()))?;
        let mut cmd = match &self.prlimit {
            Some(prlimit) => {
                let mut c = tokio::process::Command::new(prlimit);
                let bytes = u64::from(spec.memory_mb) * 1024 * 1024;
                c.arg(format!("--as={bytes}"))
                    .arg("--nofile=4096")
                    .arg("--")
                    .arg(&self.config.binary);
                c
            }
            None => tokio::process::Command::new(&self.config.binary),
        };
        cmd.args(["--config", "node.toml", "serve"])
            .current_dir(&spec.workdir)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("start {}", self.config.binary.display()))?;
        let pid = child.id().context("the started node has no pid")?;
        std::fs::write(spec.workdir.join(PID_FILE), format!("{pid}\n"))
            .context("write the node's pid file")?;
        let log = Arc::new(Mutex::new(RotatingLog::open(
            spec.workdir.join(LOG_FILE),
            self.config.log_max_bytes,
            self.config.log_keep,
        )?));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump(out, log.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump(err, log));
        }
        let (tx, rx) = watch::channel(None);
        let coop = spec.coop.clone();
        tokio::spawn(async move {
            let detail = match child.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => format!("wait failed: {e}"),
            };
            tracing::info!(coop = %coop, %detail, "Tenant node exited");
            let _ = tx.send(Some(detail));
        });
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).insert(
            spec.coop.clone(),
            Tracked {
                generation: spec.generation,
                pid,
                exit: rx,
            },
        );
        tracing::info!(coop = %spec.coop, pid, generation = spec.generation, "Tenant node started");
        Ok(())
    }

    async fn stop(&self, coop: &CoopName, workdir: &Path) -> anyhow::Result<()> {
        let tracked = self.tracked(coop);
        if let Some((pid, mut exit)) = tracked {
            if exit.borrow().is_none() {
                signal_group(pid, Signal::SIGTERM);
                let graceful =
                    tokio::time::timeout(self.config.stop_grace, exit.wait_for(Option::is_some))
                        .await
                        .is_ok();
                if !graceful {
                    tracing::warn!(coop = %coop, pid, "Node did not stop in time; killing it");
                    signal_group(pid, Signal::SIGKILL);
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        exit.wait_for(Option::is_some),
                    )
                    .await;
                }
            }
            self.nodes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(coop);
        }
        stop_orphan(workdir, self.config.stop_grace).await?;
        let _ = std::fs::remove_file(workdir.join(PID_FILE));
        Ok(())
    }

    fn status(&self, coop: &CoopName) -> NodeStatus {
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

    fn logs(&self, workdir: &Path, lines: usize) -> anyhow::Result<String> {
        tail_log(workdir, lines)
    }
}

/// The last `lines` lines of `node.log` in `workdir` (empty when there is none yet).
pub(crate) fn tail_log(workdir: &Path, lines: usize) -> anyhow::Result<String> {
    let path = workdir.join(LOG_FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let all: Vec<&str> = text.lines().collect();
    Ok(all[all.len().saturating_sub(lines)..].join("\n"))
}

fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// The pid in `workdir`'s pid file, if that process still runs with `workdir` as its working
/// directory (so a reused pid is never signalled).
fn orphan_pid(workdir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(workdir.join(PID_FILE)).ok()?;
    let pid: i32 = text.trim().parse().ok().filter(|p| *p > 0)?;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let want = std::fs::canonicalize(workdir).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = stat
        .rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with('Z'));
    (cwd == want && !zombie).then_some(pid)
}

/// Stops a node left by an earlier control plane (SIGTERM, then SIGKILL after `grace`).
/// Returns whether there was one.
pub(crate) async fn stop_orphan(workdir: &Path, grace: Duration) -> anyhow::Result<bool> {
    let Some(pid) = orphan_pid(workdir) else {
        return Ok(false);
    };
    tracing::warn!(pid, workdir = %workdir.display(), "Stopping a node left by an earlier control plane");
    let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + grace;
    while orphan_pid(workdir).is_some() {
        if tokio::time::Instant::now() >= deadline {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if tokio::time::Instant::now() >= deadline + Duration::from_secs(10) {
            anyhow::bail!("node process {pid} does not exit");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(true)
}

async fn pump(mut from: impl AsyncRead + Unpin, log: Arc<Mutex<RotatingLog>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = log.write(&buf[..n]) {
                    tracing::warn!(error = %e, "Cannot write the node log");
                }
            }
        }
    }
}

/// An append-only log file rotated by size: `node.log` → `node.log.1` → … → `node.log.<keep>`.
#[derive(Debug)]
pub(crate) struct RotatingLog {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
    max: u64,
    keep: usize,
}

impl RotatingLog {
    pub(crate) fn open(path: PathBuf, max: u64, keep: usize) -> anyhow::Result<RotatingLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(RotatingLog {
            path,
            file,
            size,
            max,
            keep,
        })
    }

    /// Appends `data`; no file grows past `max`: a write that does not fit fills the file up
    /// to its last complete line that fits, then goes on in the next file (a single line longer
    /// than `max` is cut).
    pub(crate) fn write(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let room = usize::try_from(self.max.saturating_sub(self.size)).unwrap_or(usize::MAX);
            if data.len() <= room {
                self.file.write_all(data)?;
                self.size += data.len() as u64;
                return Ok(());
            }
            let fits = match data[..room].iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None if self.size == 0 => room.max(1),
                None => 0,
            };
            self.file.write_all(&data[..fits])?;
            self.size += fits as u64;
            data = &data[fits..];
            self.rotate()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.keep == 0 {
            self.file.set_len(0)?;
        } else {
            for n in (1..self.keep).rev() {
                let _ = std::fs::rename(numbered(n), numbered(n + 1));
            }
            std::fs::rename(&self.path, numbered(1))?;
            self.file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RotatingLog;

    #[test]
    fn log_rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let mut log = RotatingLog::open(path.clone(), 10, 2).unwrap();
        for chunk in ["aaaaaaaa\n", "bbbbbbbb\n", "cccccccc\n", "dddddddd\n"] {
            log.write(chunk.as_bytes()).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "dddddddd\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("node.log.1")).unwrap(),
            "cccccccc\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("node.log.2")).unwrap(),
            "bbbbbbbb\n"
        );
        assert!(!dir.path().join("node.log.3").exists());
    }

    #[test]
    fn a_large_write_is_split_at_line_ends_and_no_file_passes_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let mut log = RotatingLog::open(path.clone(), 20, 5).unwrap();
        log.write(b"one\ntwo\nthree\nfour\nfive\nsix\n").unwrap();
        log.write(b"a line much longer than twenty bytes\n")
            .unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(read("node.log.3"), "one\ntwo\nthree\nfour\n");
        assert_eq!(read("node.log.2"), "five\nsix\n");
        assert_eq!(read("node.log.1"), "a line much longer t");
        assert_eq!(read("node.log"), "han twenty bytes\n");
        assert!(!dir.path().join("node.log.4").exists());
    }
}
