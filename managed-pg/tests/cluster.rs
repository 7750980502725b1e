//! Managed cluster lifecycle against the real Debian PostgreSQL binaries: init, start, stop,
//! restart, reuse, crash recovery after `kill -9`, and the errors operators see.

use std::os::unix::fs::PermissionsExt;

use managed_pg::testing::{cluster_in, free_port, scratch_dir};
use managed_pg::{Cluster, ClusterConfig, ClusterError, StartOutcome, StopOutcome};
use tokio_postgres::NoTls;

async fn query_one_i64(url: &str, sql: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.query_one(sql, &[]).await.expect("query").get(0)
}

async fn exec(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.batch_execute(sql).await.expect("execute");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_start_stop_restart_keeps_data() {
    let dir = scratch_dir("mono-pg-lifecycle");
    let cluster = cluster_in(dir.path());
    assert!(!cluster.is_initialized());

    assert_eq!(cluster.start().unwrap(), StartOutcome::Initialized);
    let url = cluster.admin_url().unwrap();
    exec(
        &url,
        "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)",
    )
    .await;

    // The password file is private and the URL carries the generated password.
    let mode = std::fs::metadata(cluster.password_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(cluster.superuser_password().unwrap().len(), 32);

    // A second start reuses the running cluster and changes nothing.
    let password = cluster.superuser_password().unwrap();
    assert_eq!(cluster.start().unwrap(), StartOutcome::AlreadyRunning);
    assert_eq!(cluster.superuser_password().unwrap(), password);

    assert_eq!(cluster.stop().unwrap(), StopOutcome::Stopped);
    assert!(cluster.running().is_none());
    assert!(
        tokio_postgres::connect(&url, NoTls).await.is_err(),
        "server must be down"
    );
    assert_eq!(cluster.stop().unwrap(), StopOutcome::NotRunning);

    assert_eq!(cluster.start().unwrap(), StartOutcome::Started);
    assert_eq!(query_one_i64(&url, "SELECT v::bigint FROM kept").await, 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn restarts_after_kill_9_of_the_postmaster() {
    let dir = scratch_dir("mono-pg-crash");
    let cluster = cluster_in(dir.path());
    cluster.start().unwrap();
    let url = cluster.admin_url().unwrap();
    exec(
        &url,
        "CREATE TABLE survived (v int); INSERT INTO survived VALUES (42)",
    )
    .await;
    // Keep a backend busy so an orphan outlives the postmaster for a moment.
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);

    let pid = cluster.running().expect("running").pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..100 {
        if cluster.running().is_none() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        cluster.running().is_none(),
        "postmaster must be gone after kill -9"
    );
    assert!(
        cluster.data_dir().join("postmaster.pid").exists(),
        "kill -9 leaves a stale postmaster.pid"
    );
    drop(client);

    assert_eq!(cluster.start().unwrap(), StartOutcome::Started);
    assert_eq!(
        query_one_i64(&url, "SELECT v::bigint FROM survived").await,
        42
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_pidfile_naming_an_unrelated_process_is_cleared() {
    let dir = scratch_dir("mono-pg-stale");
    let cluster = cluster_in(dir.path());
    cluster.start().unwrap();
    cluster.stop().unwrap();
    // After a reboot the recorded pid may belong to any process; use this test process.
    let pidfile = format!(
        "{}\n{}\n0\n{}\n",
        std::process::id(),
        cluster.data_dir().display(),
        cluster.port()
    );
    std::fs::write(cluster.data_dir().join("postmaster.pid"), pidfile).unwrap();
    assert_eq!(cluster.start().unwrap(), StartOutcome::Started);
    assert_eq!(
        query_one_i64(&cluster.admin_url().unwrap(), "SELECT 1::bigint").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_password_authenticated_local_connections() {
    let dir = scratch_dir("mono-pg-hba");
    let cluster = cluster_in(dir.path());
    cluster.start().unwrap();
    let port = cluster.port();
    let wrong = format!("postgres://postgres:wrong@127.0.0.1:{port}/postgres");
    let err = tokio_postgres::connect(&wrong, NoTls)
        .await
        .err()
        .expect("wrong password refused");
    let code = err.as_db_error().map(|e| e.code().clone());
    assert_eq!(
        code,
        Some(tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err:?}"
    );
    let none = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    assert!(
        tokio_postgres::connect(&none, NoTls).await.is_err(),
        "no password refused"
    );
    // Listening on loopback only.
    assert_eq!(
        query_one_i64(&cluster.admin_url().unwrap(), "SELECT count(*) FROM pg_settings WHERE name = 'listen_addresses' AND setting = '127.0.0.1'").await,
        1
    );
}

#[test]
fn port_in_use_is_reported() {
    let dir = scratch_dir("mono-pg-port");
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let cluster = managed_pg::testing::ClusterGuard(
        Cluster::new(ClusterConfig::new(dir.path().join("postgres"), port)).unwrap(),
    );
    let err = cluster.start().unwrap_err();
    assert!(
        matches!(err, ClusterError::PortInUse { port: p } if p == port),
        "{err}"
    );
    assert!(err.to_string().contains("already in use"));
}

#[test]
fn data_dir_of_another_version_is_refused() {
    let dir = scratch_dir("mono-pg-version");
    let cluster = cluster_in(dir.path());
    cluster.start().unwrap();
    cluster.stop().unwrap();
    let other = cluster.binaries().major - 1;
    std::fs::write(cluster.data_dir().join("PG_VERSION"), format!("{other}\n")).unwrap();
    let err = cluster.start().unwrap_err();
    assert!(matches!(err, ClusterError::VersionMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("PostgreSQL {other}")) && msg.contains("pg_upgrade"),
        "{msg}"
    );
}

#[test]
fn missing_binaries_name_the_package() {
    let empty = scratch_dir("mono-pg-nobin");
    let mut config = ClusterConfig::new(empty.path().join("postgres"), free_port());
    config.bindir = Some(empty.path().to_path_buf());
    let err = Cluster::new(config).unwrap_err();
    assert!(matches!(err, ClusterError::MissingBinaries { .. }));
    assert!(
        err.to_string().contains("install the postgresql package"),
        "{err}"
    );
}

#[test]
fn foreign_directory_is_not_taken_over() {
    let dir = scratch_dir("mono-pg-foreign");
    let data = dir.path().join("postgres/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("precious.txt"), "keep me").unwrap();
    let err = cluster_in(dir.path()).start().unwrap_err();
    assert!(matches!(err, ClusterError::NotADataDir { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_hba_section_admits_each_role_only_to_its_own_database() {
    let dir = scratch_dir("mono-pg-hba");
    let cluster = cluster_in(dir.path());
    cluster.start().unwrap();
    let admin = cluster.admin_url().unwrap();
    for sql in [
        "CREATE ROLE coop_a LOGIN PASSWORD 'pa'",
        "CREATE ROLE coop_b LOGIN PASSWORD 'pb'",
        "CREATE DATABASE coop_a OWNER coop_a",
        "CREATE DATABASE coop_b OWNER coop_b",
    ] {
        exec(&admin, sql).await;
    }
    let port = cluster.port();
    let url =
        |role: &str, pw: &str, db: &str| format!("postgres://{role}:{pw}@127.0.0.1:{port}/{db}");

    // Without a managed line no cooperative role gets in at all.
    assert!(
        tokio_postgres::connect(&url("coop_a", "pa", "coop_a"), NoTls)
            .await
            .is_err()
    );

    let rules = [
        managed_pg::HbaRule::new("coop_a", "coop_a").unwrap(),
        managed_pg::HbaRule::new("coop_b", "coop_b").unwrap(),
    ];
    cluster.set_hba_rules(&rules).unwrap();
    assert_eq!(cluster.hba_rules().unwrap().len(), 2);
    assert_eq!(
        query_one_i64(&url("coop_a", "pa", "coop_a"), "SELECT 1::bigint").await,
        1
    );
    // PUBLIC keeps CONNECT on coop_b here (no REVOKE): pg_hba alone refuses the cross connection.
    let Err(err) = tokio_postgres::connect(&url("coop_a", "pa", "coop_b"), NoTls).await else {
        panic!("coop_a must not reach coop_b");
    };
    assert!(format!("{err:?}").contains("pg_hba.conf"), "{err:?}");

    // The section survives a restart; removing a rule locks the role out again.
    cluster.stop().unwrap();
    cluster.start().unwrap();
    assert_eq!(cluster.hba_rules().unwrap(), {
        let mut r = rules.to_vec();
        r.sort();
        r
    });
    cluster.set_hba_rules(&rules[1..]).unwrap();
    assert!(
        tokio_postgres::connect(&url("coop_a", "pa", "coop_a"), NoTls)
            .await
            .is_err()
    );
    assert_eq!(
        query_one_i64(&url("coop_b", "pb", "coop_b"), "SELECT 2::bigint").await,
        2
    );
    // The superuser still reaches every database.
    assert_eq!(
        query_one_i64(
            &managed_pg::url_with_database(&admin, "coop_a"),
            "SELECT 3::bigint"
        )
        .await,
        3
    );
}
