//! One managed PostgreSQL cluster: init, start, stop, status and its admin connection string.
//!
//! Layout under the cluster root (e.g. `<platform data dir>/postgres`):
//! - `data/`: PGDATA, also the unix socket directory;
//! - `postgres.log`: server log (pg_ctl `-l`);
//! - `superuser.password`: the generated superuser password, mode 0600, owned by the platform.
//!
//! Every operation is idempotent: `start` on a running cluster reports it and changes nothing,
//! `start` after a crash (stale `postmaster.pid`, orphaned backends) recovers, `stop` on a
//! stopped cluster is a no-op.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::binaries::{find_binaries, PgBinaries};
use crate::error::ClusterError;
use crate::hba::{self, HbaRule};
use crate::privileges::RunAs;

/// The managed cluster's default loopback port (not 5432, so a system cluster can coexist).
pub const DEFAULT_PORT: u16 = 55432;

/// The superuser role created by `initdb`.
pub const SUPERUSER: &str = "postgres";

/// How to run the cluster. Build one with [`ClusterConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Cluster root; PGDATA is `<root>/data`.
    pub root: PathBuf,
    /// Loopback TCP port.
    pub port: u16,
    /// Directory with `initdb`, `pg_ctl`, `postgres`; found automatically when `None`.
    pub bindir: Option<PathBuf>,
    /// System user that runs the server when we are root.
    pub service_user: String,
    /// `max_connections` of the server.
    pub max_connections: u32,
    /// How long `pg_ctl` may wait for start and stop.
    pub timeout: Duration,
}

impl ClusterConfig {
    pub fn new(root: impl Into<PathBuf>, port: u16) -> Self {
        ClusterConfig {
            root: root.into(),
            port,
            bindir: None,
            service_user: "postgres".to_owned(),
            max_connections: 300,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What [`Cluster::start`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new cluster was initialised and started.
    Initialized,
    /// An existing, stopped cluster was started (after a clean stop or a crash).
    Started,
    /// The cluster was already running; nothing was changed.
    AlreadyRunning,
}

/// What [`Cluster::stop`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    NotRunning,
}

/// A running postmaster as described by `postmaster.pid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub pid: i32,
    pub port: u16,
}

/// Handle on one managed cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    config: ClusterConfig,
    bins: PgBinaries,
    run_as: RunAs,
}

impl Cluster {
    /// Resolves binaries and the service user; touches nothing on disk.
    pub fn new(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        let bins = find_binaries(config.bindir.as_deref())?;
        let run_as = RunAs::detect(&config.service_user)?;
        Ok(Cluster {
            config,
            bins,
            run_as,
        })
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    pub fn binaries(&self) -> &PgBinaries {
        &self.bins
    }

    pub fn root(&self) -> &Path {
        &self.config.root
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.root.join("data")
    }

    /// Unix socket directory (the data directory).
    pub fn socket_dir(&self) -> PathBuf {
        self.data_dir()
    }

    pub fn log_file(&self) -> PathBuf {
        self.config.root.join("postgres.log")
    }

    pub fn password_file(&self) -> PathBuf {
        self.config.root.join("superuser.password")
    }

    pub fn port(&self) -> u16 {
        self.config.port
    }

    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// The superuser password (from the 0600 password file).
    pub fn superuser_password(&self) -> Result<String, ClusterError> {
        let path = self.password_file();
        fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(ClusterError::io(format!("read {}", path.display())))
    }

    /// `postgres://postgres:<password>@127.0.0.1:<port>/<database>`.
    pub fn url_for(&self, database: &str) -> Result<String, ClusterError> {
        Ok(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.superuser_password()?,
            self.config.port
        ))
    }

    /// The superuser connection string for the `postgres` database.
    pub fn admin_url(&self) -> Result<String, ClusterError> {
        self.url_for("postgres")
    }

    /// Initialises the cluster if needed; returns whether it did.
    pub fn init(&self) -> Result<bool, ClusterError> {
        if self.is_initialized() {
            self.check_version()?;
            return Ok(false);
        }
        let data = self.data_dir();
        if data.exists()
            && fs::read_dir(&data)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(ClusterError::NotADataDir { path: data });
        }
        let root = &self.config.root;
        fs::create_dir_all(root).map_err(ClusterError::io(format!("create {}", root.display())))?;
        self.run_as.check_traversable(root)?;
        self.run_as.chown(root)?;
        set_mode(root, 0o700)?;

        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        write_secret(&self.password_file(), &password)?;
        // initdb reads the password from a file it can open as the service user.
        let pwfile = root.join(".initdb-pwfile");
        write_secret(&pwfile, &password)?;
        self.run_as.chown(&pwfile)?;

        // initdb into a scratch directory and rename, so a crash never leaves a half cluster.
        let scratch = root.join("data.initdb");
        if scratch.exists() {
            fs::remove_dir_all(&scratch)
                .map_err(ClusterError::io(format!("remove {}", scratch.display())))?;
        }
        let result = self.run(
            "initdb",
            Command::new(self.bins.tool("initdb"))
                .arg("-D")
                .arg(&scratch)
                .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C"])
                .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
                .arg(format!("--pwfile={}", pwfile.display())),
        );
        let _ = fs::remove_file(&pwfile);
        result?;
        fs::write(scratch.join("pg_hba.conf"), hba::render(SUPERUSER, &[]))
            .map_err(ClusterError::io("write pg_hba.conf"))?;
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(scratch.join("postgresql.conf"))
            .map_err(ClusterError::io("open postgresql.conf"))?;
        writeln!(conf, "\n# Settings managed by mono, rewritten at every start.\ninclude_if_exists = 'mono.conf'")
            .map_err(ClusterError::io("append to postgresql.conf"))?;
        fs::rename(&scratch, &data).map_err(ClusterError::io(format!(
            "rename {} to {}",
            scratch.display(),
            data.display()
        )))?;
        tracing::info!(data_dir = %data.display(), major = self.bins.major, "Initialised PostgreSQL cluster");
        Ok(true)
    }

    fn check_version(&self) -> Result<(), ClusterError> {
        let path = self.data_dir().join("PG_VERSION");
        let data_version = fs::read_to_string(&path)
            .map_err(ClusterError::io(format!("read {}", path.display())))?
            .trim()
            .to_owned();
        if data_version != self.bins.major.to_string() {
            return Err(ClusterError::VersionMismatch {
                data_dir: self.data_dir(),
                data_version,
                binary_version: self.bins.major,
                bindir: self.bins.bindir.clone(),
            });
        }
        Ok(())
    }

    /// The running postmaster, if any. A `postmaster.pid` whose process is gone is stale.
    pub fn running(&self) -> Option<Running> {
        let pidfile = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let mut lines = pidfile.lines();
        let pid: i32 = lines.next()?.trim().parse().ok()?;
        let port: u16 = lines.nth(2)?.trim().parse().ok()?;
        (process_is_postmaster(pid, &self.data_dir()) == Liveness::Ours)
            .then_some(Running { pid, port })
    }

    /// Initialises if needed and starts the server; waits until it accepts connections.
    pub fn start(&self) -> Result<StartOutcome, ClusterError> {
        let initialized = self.init()?;
        if let Some(running) = self.running() {
            if running.port != self.config.port {
                tracing::warn!(
                    running = running.port,
                    configured = self.config.port,
                    "Cluster runs on another port than configured; restart it to apply"
                );
            }
            return Ok(StartOutcome::AlreadyRunning);
        }
        self.clear_stale_locks()?;

        let socket = self
            .socket_dir()
            .join(format!(".s.PGSQL.{}", self.config.port));
        let len = socket.as_os_str().len();
        if len > 107 {
            return Err(ClusterError::SocketPathTooLong { path: socket, len });
        }
        if TcpListener::bind(("127.0.0.1", self.config.port)).is_err() {
            return Err(ClusterError::PortInUse {
                port: self.config.port,
            });
        }
        self.write_settings()?;

        // After a crash, orphaned backends may still hold the old shared memory for a moment;
        // PostgreSQL refuses to start until they are gone, so retry for a while.
        let deadline = Instant::now() + self.config.timeout;
        loop {
            match self.pg_ctl_start() {
                Ok(()) => break,
                Err(e) if Instant::now() < deadline && self.orphans_present() => {
                    tracing::info!(error = %e, "Waiting for backends of a crashed server to exit");
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(if initialized {
            StartOutcome::Initialized
        } else {
            StartOutcome::Started
        })
    }

    fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        let log = self.log_file();
        if !log.exists() {
            fs::write(&log, b"").map_err(ClusterError::io(format!("create {}", log.display())))?;
            self.run_as.chown(&log)?;
        }
        self.run(
            "pg_ctl start",
            Command::new(self.bins.tool("pg_ctl"))
                .arg("start")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-s", "-t", &self.config.timeout.as_secs().to_string()]),
        )
        .map_err(|e| match e {
            ClusterError::Command { detail, .. } => ClusterError::Command {
                action: "pg_ctl start",
                detail: format!("{detail}; last server log lines:\n{}", tail(&log, 8)),
            },
            other => other,
        })
    }

    /// Stops the server (fast shutdown, then immediate if it does not stop in time).
    pub fn stop(&self) -> Result<StopOutcome, ClusterError> {
        if !self.is_initialized() || self.running().is_none() {
            return Ok(StopOutcome::NotRunning);
        }
        let timeout = self.config.timeout.as_secs().to_string();
        let fast = self.run(
            "pg_ctl stop",
            Command::new(self.bins.tool("pg_ctl"))
                .arg("stop")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "fast", "-w", "-s", "-t", &timeout]),
        );
        if let Err(e) = fast {
            tracing::warn!(error = %e, "Fast shutdown failed; using immediate shutdown");
            self.run(
                "pg_ctl stop -m immediate",
                Command::new(self.bins.tool("pg_ctl"))
                    .arg("stop")
                    .arg("-D")
                    .arg(self.data_dir())
                    .args(["-m", "immediate", "-w", "-s", "-t", &timeout]),
            )?;
        }
        Ok(StopOutcome::Stopped)
    }

    /// Re-reads `pg_hba.conf` and reloadable settings.
    pub fn reload(&self) -> Result<(), ClusterError> {
        self.run(
            "pg_ctl reload",
            Command::new(self.bins.tool("pg_ctl"))
                .arg("reload")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-s"),
        )
    }

    fn hba_file(&self) -> PathBuf {
        self.data_dir().join("pg_hba.conf")
    }

    /// The cooperative lines of the managed `pg_hba.conf` section.
    pub fn hba_rules(&self) -> Result<Vec<HbaRule>, ClusterError> {
        let path = self.hba_file();
        match fs::read_to_string(&path) {
            Ok(text) => Ok(hba::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(ClusterError::Io {
                action: format!("read {}", path.display()),
                source: e,
            }),
        }
    }

    /// Replaces the managed section with `rules` and reloads a running server, so each
    /// cooperative role is admitted to its own database only. Idempotent.
    pub fn set_hba_rules(&self, rules: &[HbaRule]) -> Result<(), ClusterError> {
        self.write_hba(rules)?;
        if self.running().is_some() {
            self.reload()?;
        }
        Ok(())
    }

    fn write_hba(&self, rules: &[HbaRule]) -> Result<(), ClusterError> {
        let path = self.hba_file();
        let tmp = self.data_dir().join("pg_hba.conf.tmp");
        fs::write(&tmp, hba::render(SUPERUSER, rules))
            .map_err(ClusterError::io(format!("write {}", tmp.display())))?;
        set_mode(&tmp, 0o600)?;
        self.run_as.chown(&tmp)?;
        fs::rename(&tmp, &path).map_err(ClusterError::io(format!("replace {}", path.display())))
    }

    fn write_settings(&self) -> Result<(), ClusterError> {
        // pg_hba.conf is rewritten too: clusters initialised before the managed section existed
        // get the current base lines; the cooperative lines are kept.
        self.write_hba(&self.hba_rules()?)?;
        let conf = format!(
            "# Written by mono at every start; change the platform configuration instead.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{socket}'\n\
             max_connections = {max}\n\
             password_encryption = 'scram-sha-256'\n",
            port = self.config.port,
            socket = self.socket_dir().display().to_string().replace('\'', "''"),
            max = self.config.max_connections,
        );
        let path = self.data_dir().join("mono.conf");
        fs::write(&path, conf).map_err(ClusterError::io(format!("write {}", path.display())))?;
        self.run_as.chown(&path)
    }

    /// Makes a crashed cluster startable. Backends orphaned by a killed postmaster still use the
    /// data directory for a moment: wait until they are gone. Then lock files (`postmaster.pid`,
    /// the socket's `.lock`) that name a zombie or an unrelated process (pid reuse after a
    /// reboot) are stale and removed; PostgreSQL would take either for a live server. A lock
    /// naming a process that no longer exists is left to PostgreSQL, which handles it itself.
    fn clear_stale_locks(&self) -> Result<(), ClusterError> {
        let pidfile = self.data_dir().join("postmaster.pid");
        let Ok(text) = fs::read_to_string(&pidfile) else {
            return Ok(());
        };
        let deadline = Instant::now() + self.config.timeout;
        while self.orphans_present() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let Some(pid) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok())
        else {
            return Ok(());
        };
        if matches!(
            process_is_postmaster(pid, &self.data_dir()),
            Liveness::Zombie | Liveness::Foreign
        ) {
            tracing::warn!(
                pid,
                "Removing stale lock files of a server that no longer runs"
            );
            let mut stale = vec![pidfile];
            if let Ok(entries) = fs::read_dir(self.socket_dir()) {
                stale.extend(
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| {
                            p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with(".s.PGSQL.") && n.ends_with(".lock"))
                        }),
                );
            }
            for path in stale {
                if let Err(e) = fs::remove_file(&path) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(ClusterError::Io {
                            action: format!("remove {}", path.display()),
                            source: e,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether some process still runs with this data directory as its working directory.
    fn orphans_present(&self) -> bool {
        let data = fs::canonicalize(self.data_dir()).unwrap_or_else(|_| self.data_dir());
        let Ok(procs) = fs::read_dir("/proc") else {
            return false;
        };
        procs.filter_map(Result::ok).any(|p| {
            p.file_name()
                .to_str()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                && fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd == data)
        })
    }

    fn run(&self, action: &'static str, cmd: &mut Command) -> Result<(), ClusterError> {
        cmd.current_dir(&self.config.root)
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        self.run_as.apply(cmd);
        let out = cmd
            .output()
            .map_err(ClusterError::io(format!("run {action}")))?;
        if out.status.success() {
            return Ok(());
        }
        let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if detail.is_empty() {
            detail = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        Err(ClusterError::Command {
            action,
            detail: format!("{} ({})", detail, out.status),
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Liveness {
    /// No such process.
    Dead,
    /// Killed but not yet reaped by its parent.
    Zombie,
    Ours,
    Foreign,
}

/// Classifies `pid` relative to the postmaster of `data_dir`.
fn process_is_postmaster(pid: i32, data_dir: &Path) -> Liveness {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    if pid <= 0 {
        return Liveness::Dead;
    }
    match kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return Liveness::Dead,
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) {
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        {
            return Liveness::Zombie;
        }
    }
    let cmdline = fs::read(proc_dir.join("cmdline")).unwrap_or_default();
    let is_postgres = cmdline.split(|&b| b == 0).next().is_some_and(|argv0| {
        let argv0 = String::from_utf8_lossy(argv0);
        argv0.ends_with("postgres") || argv0.ends_with("postmaster")
    });
    if !is_postgres {
        return Liveness::Foreign;
    }
    // Another cluster's postmaster with a reused pid has a different working directory.
    match (
        fs::read_link(proc_dir.join("cwd")),
        fs::canonicalize(data_dir),
    ) {
        (Ok(cwd), Ok(data)) if cwd != data => Liveness::Foreign,
        _ => Liveness::Ours,
    }
}

/// Replaces the database name in a `postgres://…/<db>[?…]` URL.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

fn write_secret(path: &Path, secret: &str) -> Result<(), ClusterError> {
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(ClusterError::io(format!("create {}", path.display())))?;
    file.write_all(secret.as_bytes())
        .map_err(ClusterError::io(format!("write {}", path.display())))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ClusterError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(ClusterError::io(format!("chmod {}", path.display())))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn replaces_database_in_urls() {
        assert_eq!(
            url_with_database("postgres://u:p@127.0.0.1:5/postgres", "x"),
            "postgres://u:p@127.0.0.1:5/x"
        );
        assert_eq!(
            url_with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(
            url_with_database("postgres://u:p@h:5", "x"),
            "postgres://u:p@h:5/x"
        );
    }
}
