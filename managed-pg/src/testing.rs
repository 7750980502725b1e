//! Test harness: a real PostgreSQL cluster per test process and a fresh database per test.
//!
//! With `MONO_TEST_PG_URL` set (a superuser URL, e.g. to a cluster CI started), tests use that
//! cluster. Otherwise the first test that asks starts a managed cluster in a temporary directory
//! on a free port; a small detached watchdog shuts it down and removes its files when the test
//! process exits, so nothing is left behind even when a test panics. No database is ever mocked.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use rand::Rng;
use tokio_postgres::{Client, NoTls};

use crate::cluster::{url_with_database, Cluster, ClusterConfig};

/// Environment variable naming an existing cluster's superuser URL.
pub const TEST_PG_URL_ENV: &str = "MONO_TEST_PG_URL";

struct Shared {
    admin_url: String,
    cluster: Option<Cluster>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// A free loopback TCP port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// A fresh directory for test files that the PostgreSQL service user can traverse (tests run as
/// root in CI, and a 0700 root-owned temp dir would lock the server out).
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temp dir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("make the temp dir searchable");
    dir
}

fn start_shared() -> Result<Shared, String> {
    if let Ok(url) = std::env::var(TEST_PG_URL_ENV) {
        return Ok(Shared {
            admin_url: url,
            cluster: None,
        });
    }
    let root = std::env::temp_dir().join(format!(
        "mono-test-pg-{}-{:08x}",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    ));
    std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", root.display()))?;
    let mut config = ClusterConfig::new(root.join("postgres"), free_port());
    config.max_connections = 200;
    let cluster = Cluster::new(config).map_err(|e| e.to_string())?;
    spawn_watchdog(&cluster.data_dir(), &root)?;
    cluster.start().map_err(|e| e.to_string())?;
    Ok(Shared {
        admin_url: cluster.admin_url().map_err(|e| e.to_string())?,
        cluster: Some(cluster),
    })
}

/// Stops the cluster (immediate shutdown) and removes `root` once this process has exited.
fn spawn_watchdog(data_dir: &std::path::Path, root: &std::path::Path) -> Result<(), String> {
    const SCRIPT: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
        pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)
        if [ -n "$pid" ]; then
            kill -QUIT "$pid" 2>/dev/null
            i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
        fi
        rm -rf "$3"
    "#;
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("mono-test-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(data_dir)
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: a Ctrl-C aimed at the test run must not kill the cleanup.
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("spawn the test cluster watchdog: {e}"))
}

/// The superuser URL of the test cluster, starting it on first use.
pub async fn admin_url() -> String {
    let shared = tokio::task::spawn_blocking(|| {
        SHARED
            .get_or_init(start_shared)
            .as_ref()
            .map(|s| s.admin_url.clone())
    })
    .await
    .expect("test cluster start-up thread");
    match shared {
        Ok(url) => url,
        Err(e) => panic!("cannot start the test PostgreSQL cluster: {e}"),
    }
}

/// The managed test cluster (for tests of `pg_hba.conf` management), or `None` when the tests
/// use an external cluster through `MONO_TEST_PG_URL`.
pub async fn cluster() -> Option<Cluster> {
    admin_url().await;
    SHARED
        .get()
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| s.cluster.clone())
}

/// Connects and drives the connection on the current runtime.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to the test database: {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "Test database connection closed");
        }
    });
    client
}

/// A database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub admin_url: String,
}

impl TestDb {
    /// An empty database.
    pub async fn new() -> TestDb {
        let admin_url = admin_url().await;
        let name = format!("test_{:016x}", rand::thread_rng().gen::<u64>());
        let admin = connect(&admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
        let url = url_with_database(&admin_url, &name);
        TestDb {
            name,
            url,
            admin_url,
        }
    }

    /// A database with every migration of `set` applied.
    pub async fn migrated(set: &migrations::MigrationSet) -> TestDb {
        let db = TestDb::new().await;
        let mut client = db.connect().await;
        migrations::apply(&mut client, set)
            .await
            .unwrap_or_else(|e| panic!("apply {} migrations: {e}", set.name));
        db
    }

    pub async fn connect(&self) -> Client {
        connect(&self.url).await
    }

    /// Drops the database (tests that create many may call it; the cluster is removed anyway).
    pub async fn drop_database(self) {
        let admin = connect(&self.admin_url).await;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap_or_else(|e| panic!("drop test database {}: {e}", self.name));
    }
}

/// A managed cluster for tests that exercise the cluster itself; stopped when dropped, so a
/// failing test leaves no server behind.
#[derive(Debug)]
pub struct ClusterGuard(pub Cluster);

impl std::ops::Deref for ClusterGuard {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Err(e) = self.0.stop() {
            eprintln!("stopping test cluster {}: {e}", self.0.root().display());
        }
    }
}

/// A fresh managed cluster rooted in `dir`, on a free port.
pub fn cluster_in(dir: &std::path::Path) -> ClusterGuard {
    let config = ClusterConfig::new(dir.join("postgres"), free_port());
    ClusterGuard(Cluster::new(config).expect("PostgreSQL binaries are installed"))
}
