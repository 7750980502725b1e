//! Background services of `mono up`: each runs in its own process group with stdin closed and
//! stdout/stderr appended to `<data_dir>/logs/<name>.log` — through a `mono log-pump` process in
//! the same group that rotates the file by size, when rotation is set; its pid and start time
//! are kept in
//! `<data_dir>/run/<name>.pid`, so a later `mono up` finds it running and `mono down` stops it
//! (never a process that merely reused the pid).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// One background service of the local platform.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub name: &'static str,
    pub run_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Rotate the log through a pump process (without it, the log file only grows).
    pub rotation: Option<LogRotation>,
}

/// How a daemon's log is rotated: `program log-pump --file <log> --max-bytes N --keep K`
/// reads the service's output from a pipe and writes `<name>.log`, `<name>.log.1`, ….
#[derive(Debug, Clone)]
pub struct LogRotation {
    /// The `mono` executable.
    pub program: PathBuf,
    pub max_bytes: u64,
    pub keep: usize,
}

/// How to start a daemon.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, OsString)>,
    pub env_remove: Vec<String>,
    pub cwd: PathBuf,
}

impl Daemon {
    /// The daemon `name` of the platform in `data_dir`.
    pub fn new(data_dir: &Path, name: &'static str) -> Daemon {
        Daemon {
            name,
            run_dir: data_dir.join("run"),
            log_dir: data_dir.join("logs"),
            rotation: None,
        }
    }

    /// The same daemon with its log rotated by `rotation`.
    pub fn with_rotation(mut self, rotation: LogRotation) -> Daemon {
        self.rotation = Some(rotation);
        self
    }

    pub fn pid_file(&self) -> PathBuf {
        self.run_dir.join(format!("{}.pid", self.name))
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_dir.join(format!("{}.log", self.name))
    }

    /// The pid of the running daemon: the pid file names a live process with the recorded
    /// start time. A stale pid file is removed.
    pub fn running(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.pid_file()).ok()?;
        let mut fields = text.split_whitespace();
        let pid: i32 = fields.next()?.parse().ok()?;
        let started: u64 = fields.next()?.parse().ok()?;
        match process_start(pid) {
            Some(s) if s == started => Some(pid),
            _ => {
                let _ = std::fs::remove_file(self.pid_file());
                None
            }
        }
    }

    /// Starts the daemon in its own process group and records its pid.
    pub fn spawn(&self, launch: &Launch) -> anyhow::Result<i32> {
        for dir in [&self.run_dir, &self.log_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let mut cmd = std::process::Command::new(&launch.program);
        cmd.args(&launch.args)
            .current_dir(&launch.cwd)
            .stdin(Stdio::null());
        // With rotation the service writes into a pipe whose reading end goes to the pump; both
        // ends are close-on-exec here, so only the service and the pump hold them.
        let pump_input = match &self.rotation {
            None => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.log_file())
                    .with_context(|| format!("open {}", self.log_file().display()))?;
                cmd.stdout(log.try_clone()?).stderr(log);
                None
            }
            Some(_) => {
                let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                    .context("create the log pipe")?;
                cmd.stdout(write.try_clone()?).stderr(write);
                Some(read)
            }
        };
        for key in &launch.env_remove {
            cmd.env_remove(key);
        }
        for (key, value) in &launch.env {
            cmd.env(key, value);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().with_context(|| {
            format!(
                "start {} ({}); build it with `cargo build -p {}` or set its path",
                self.name,
                launch.program.display(),
                self.name,
            )
        })?;
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        // The child is not waited for: it outlives `mono up` and is reparented to init.
        drop(child);
        drop(cmd); // our copies of the pipe's writing end
        if let (Some(rotation), Some(read)) = (&self.rotation, pump_input) {
            if let Err(e) = self.spawn_pump(rotation, read, pid) {
                // Without its reader the service could not log; do not leave it running.
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                return Err(e);
            }
        }
        let started = process_start(pid).context("the started process vanished at once")?;
        std::fs::write(self.pid_file(), format!("{pid} {started}\n"))
            .with_context(|| format!("write {}", self.pid_file().display()))?;
        Ok(pid)
    }

    /// Starts `mono log-pump` on the pipe's reading end, in the service's process group (so
    /// stopping the group stops it; it drains the pipe until the service has exited).
    fn spawn_pump(
        &self,
        rotation: &LogRotation,
        read: std::os::fd::OwnedFd,
        group: i32,
    ) -> anyhow::Result<()> {
        let mut pump = std::process::Command::new(&rotation.program);
        pump.arg("log-pump")
            .arg("--file")
            .arg(self.log_file())
            .arg("--max-bytes")
            .arg(rotation.max_bytes.to_string())
            .arg("--keep")
            .arg(rotation.keep.to_string())
            .stdin(read)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut pump, group);
        let child = pump
            .spawn()
            .with_context(|| format!("start the log pump {}", rotation.program.display()))?;
        drop(child);
        Ok(())
    }

    /// Signals the daemon's process group with `signal`, waits up to `grace` for it to exit,
    /// then kills the group. Returns whether it was running.
    pub async fn stop(&self, signal: Signal, grace: Duration) -> anyhow::Result<bool> {
        let Some(pid) = self.running() else {
            return Ok(false);
        };
        let group = Pid::from_raw(pid);
        let _ = killpg(group, signal);
        let deadline = tokio::time::Instant::now() + grace;
        let mut killed = false;
        while group_alive(pid) {
            if tokio::time::Instant::now() >= deadline && !killed {
                tracing::warn!(service = self.name, pid, "Did not stop in time; killing");
                let _ = killpg(group, Signal::SIGKILL);
                let _ = kill(group, Signal::SIGKILL);
                killed = true;
            }
            if tokio::time::Instant::now() >= deadline + Duration::from_secs(10) {
                bail!("{} (pid {pid}) does not exit", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = std::fs::remove_file(self.pid_file());
        Ok(true)
    }

    /// The last `lines` lines of the daemon's log (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Polls `ready` every 100 ms until it succeeds, the process exits or `timeout` passes.
    pub async fn wait_ready<F, Fut>(
        &self,
        pid: i32,
        timeout: Duration,
        mut ready: F,
    ) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if ready().await {
                return Ok(());
            }
            if process_start(pid).is_none() {
                bail!(
                    "{} exited during start-up; last lines of {}:\n{}",
                    self.name,
                    self.log_file().display(),
                    self.log_tail(15)
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} not ready within {} s; last lines of {}:\n{}",
                    self.name,
                    timeout.as_secs(),
                    self.log_file().display(),
                    self.log_tail(15)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The start time (clock ticks since boot) of a live, non-zombie process.
pub fn process_start(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether any live (non-zombie) process is left in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // state, ppid, pgrp
        fields.first() != Some(&"Z") && fields.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
    })
}

/// `mono log-pump`: copies standard input into `file`, rotated by size, until end of input.
/// Stopping a service signals its whole group, this pump included: the signals are caught and
/// ignored, so the pump keeps the service's last lines and ends when the service has exited.
pub async fn log_pump(file: PathBuf, max_bytes: u64, keep: usize) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let _ignored = [
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    ];
    let mut log = crate::runtime::process::RotatingLog::open(file, max_bytes.max(4096), keep)?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use std::io::Read;
        let mut input = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match input.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => log.write(&buf[..n]).context("write the log")?,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("read the service output"),
            }
        }
    })
    .await
    .context("the log pump task")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spawn_find_and_stop_a_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(dir.path(), "sleeper");
        assert_eq!(daemon.running(), None);
        let pid = daemon
            .spawn(&Launch {
                program: "sh".into(),
                args: vec!["-c".into(), "echo hello; sleep 60 & wait".into()],
                cwd: dir.path().to_path_buf(),
                ..Launch::default()
            })
            .unwrap();
        assert_eq!(daemon.running(), Some(pid));
        daemon
            .wait_ready(pid, Duration::from_secs(10), || async {
                std::fs::read_to_string(daemon.log_file()).is_ok_and(|t| t.contains("hello"))
            })
            .await
            .unwrap();
        // SIGTERM reaches the whole group (the shell and its `sleep`).
        assert!(daemon
            .stop(Signal::SIGTERM, Duration::from_secs(5))
            .await
            .unwrap());
        assert!(!group_alive(pid));
        assert_eq!(daemon.running(), None);
        assert!(!daemon
            .stop(Signal::SIGTERM, Duration::from_secs(1))
            .await
            .unwrap());
    }

    #[test]
    fn a_pid_file_with_another_start_time_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(dir.path(), "other");
        std::fs::create_dir_all(&daemon.run_dir).unwrap();
        // Our own pid, but not our start time: a reused pid is never taken for the daemon.
        std::fs::write(daemon.pid_file(), format!("{} 1\n", std::process::id())).unwrap();
        assert_eq!(daemon.running(), None);
        assert!(!daemon.pid_file().exists());
    }
}
