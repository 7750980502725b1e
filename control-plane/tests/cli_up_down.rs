//! `mono up` / `mono down` end to end: the real binary, a real managed PostgreSQL, `psql` with
//! the printed connection string, and no process left behind.

use std::path::Path;
use std::process::Command;

use managed_pg::testing::{free_port, scratch_dir};

fn mono(data_dir: &Path, port: u16, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mono"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--pg-port")
        .arg(port.to_string())
        .args(args)
        .env_remove("MONO_CONFIG")
        .env_remove("MONO_PG_ADMIN_URL")
        .output()
        .expect("run mono")
}

/// Processes whose working directory or command line mention `dir`.
fn processes_using(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cwd = std::fs::read_link(entry.path().join("cwd")).ok();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cwd.is_some_and(|c| c.starts_with(&dir)) || cmdline.contains(&needle) {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}

#[test]
fn up_psql_down_leaves_nothing_running() {
    let scratch = scratch_dir("mono-cli");
    let data = scratch.path().join("platform");
    let port = free_port();

    let first = mono(&data, port, &["up", "--json"]);
    assert!(
        first.status.success(),
        "mono up failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&first.stdout).expect("up --json prints JSON");
    assert_eq!(report["postgres"]["action"], "initialized");
    let url = report["postgres"]["url"].as_str().expect("url").to_owned();
    assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");

    // The printed connection string works with psql, and the control plane schema is in place.
    let psql = Command::new("psql")
        .arg(managed_pg::url_with_database(&url, "mono_control_plane"))
        .args([
            "-tA",
            "-c",
            "SELECT count(*) FROM schema_migrations WHERE set_name = 'control-plane'",
        ])
        .output()
        .expect("run psql");
    assert!(
        psql.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&psql.stderr)
    );
    let applied: usize = String::from_utf8_lossy(&psql.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(applied, migrations::CONTROL_PLANE.migrations.len());

    // A second `up` reuses the running cluster: same URL, nothing re-initialised.
    let second = mono(&data, port, &["up", "--json"]);
    assert!(second.status.success());
    let report2: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report2["postgres"]["action"], "already-running");
    assert_eq!(report2["postgres"]["url"], url);

    // Human output names the connection string too.
    let human = mono(&data, port, &["up"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&url));

    let down = mono(&data, port, &["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&down.stdout).trim(),
        "PostgreSQL stopped"
    );

    // Nothing of ours keeps running (backends may take a moment to exit after the postmaster).
    let mut left = processes_using(&data);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = processes_using(&data);
    }
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let psql_after = Command::new("psql")
        .arg(&url)
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(
        !psql_after.status.success(),
        "server must be down after mono down"
    );

    let again = mono(&data, port, &["down"]);
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "PostgreSQL was not running"
    );
}

#[test]
fn missing_binaries_give_a_clear_error_and_non_zero_exit() {
    let scratch = scratch_dir("mono-cli-nobin");
    let out = mono(
        &scratch.path().join("p"),
        free_port(),
        &["--pg-bindir", "/nonexistent/bin", "up"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("install the postgresql package"),
        "{stderr}"
    );
}

#[test]
fn version_is_printed() {
    let out = Command::new(env!("CARGO_BIN_EXE_mono"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mono {}", env!("CARGO_PKG_VERSION"))
    );
}
