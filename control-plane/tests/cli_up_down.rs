//! `mono up` / `mono down` end to end: the real binaries (`mono`, `devchain`, `gateway`,
//! `tenant-node`), a real managed PostgreSQL, `psql` with the printed connection string, the
//! demo cooperative answering through the gateway, its board keys checked against the chain,
//! and no process or listening port left behind.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use managed_pg::testing::{free_port, scratch_dir};
use serde_json::Value;

fn mono(data_dir: &Path, port: u16, args: &[&str]) -> std::process::Output {
    mono_with(data_dir, port, None, args)
}

fn mono_with(
    data_dir: &Path,
    port: u16,
    config: Option<&Path>,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mono"));
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("--pg-port")
        .arg(port.to_string())
        .args(args);
    for key in [
        "MONO_CONFIG",
        "MONO_PG_ADMIN_URL",
        "MONO_CHAIN_URL",
        "MONO_SHIP_URL",
        "MONO_CHAIN_ID",
        "MONO_CONTROL_PLANE_URL",
        "MONO_CONTROL_PLANE_LISTEN",
        "MONO_GATEWAY_ADMIN_URL",
        "MONO_OPERATOR_TOKEN",
        "MONO_MASTER_KEY",
        "MONO_GATEWAY_ADMIN_TOKEN",
    ] {
        cmd.env_remove(key);
    }
    cmd.output().expect("run mono")
}

/// Processes whose working directory or command line mention `dir`.
fn processes_using(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) || !alive(name.parse().unwrap()) {
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

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// Waits up to 10 s for `check` to hold.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "mono failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// Runs `mono down` when dropped, so a failing test leaves nothing running.
struct DownOnDrop {
    data: PathBuf,
    port: u16,
    config: PathBuf,
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = mono_with(&self.data, self.port, Some(&self.config), &["down"]);
    }
}

#[test]
fn up_serves_the_demo_coop_through_the_gateway_and_down_leaves_nothing_running() {
    let scratch = scratch_dir("mono-cli");
    let data = scratch.path().join("platform");
    let port = free_port();
    let (cp, gw, gw_admin, http, ship) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let nodes = free_port();
    let config = scratch.path().join("mono.toml");
    std::fs::write(
        &config,
        format!(
            "[control_plane]\nlisten = \"127.0.0.1:{cp}\"\nport_range = \"{nodes}-{}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gw}\"\nadmin_listen = \"127.0.0.1:{gw_admin}\"\n\
             [devchain]\nhttp_addr = \"127.0.0.1:{http}\"\nship_addr = \"127.0.0.1:{ship}\"\n",
            nodes + 20
        ),
    )
    .unwrap();
    let _guard = DownOnDrop {
        data: data.clone(),
        port,
        config: config.clone(),
    };

    let report = json_of(&mono_with(&data, port, Some(&config), &["up", "--json"]));
    assert_eq!(report["postgres"]["action"], "initialized");
    for service in ["devchain", "gateway", "control_plane"] {
        assert_eq!(report[service]["action"], "started", "{service}: {report}");
    }
    assert_eq!(
        report["control_plane"]["url"],
        format!("http://127.0.0.1:{cp}")
    );
    assert_eq!(
        report["devchain"]["http_url"],
        format!("http://127.0.0.1:{http}")
    );
    assert_eq!(
        report["devchain"]["ship_url"],
        format!("ws://127.0.0.1:{ship}")
    );
    let demo = &report["demo"];
    assert_eq!(demo["action"], "created");
    assert_eq!(demo["observed_state"], "ready");
    let coop = demo["coop"].as_str().unwrap().to_owned();
    assert_eq!(
        demo["graphql_url"],
        format!("http://localhost:{gw}/coops/{coop}/graphql")
    );

    // The printed connection string works with psql, and the control plane schema is in place.
    let url = report["postgres"]["url"].as_str().expect("url").to_owned();
    assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");
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

    // The demo cooperative answers through the gateway, by path and by host.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let get = |path: String, host: String| {
        let client = client.clone();
        runtime.block_on(async move {
            let r = client
                .get(format!("http://127.0.0.1:{gw}{path}"))
                .header("host", host)
                .send()
                .await
                .expect("gateway answers");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        })
    };
    assert_eq!(
        get(format!("/coops/{coop}/readyz"), "localhost".into()).0,
        200
    );
    assert_eq!(get("/readyz".into(), format!("{coop}.localhost")).0, 200);
    // ... and serves GraphQL there.
    let graphql = runtime.block_on(async {
        let r = client
            .post(format!("http://127.0.0.1:{gw}/coops/{coop}/graphql"))
            .header("host", "localhost")
            .json(&serde_json::json!({ "query": "{ getSystemInfo { coopname } }" }))
            .send()
            .await
            .expect("gateway answers");
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().await.unwrap(),
        )
    });
    assert_eq!(graphql.0, 200, "{}", graphql.1);
    assert_eq!(
        graphql.1["data"]["getSystemInfo"]["coopname"], coop,
        "{}",
        graphql.1
    );
    assert_eq!(
        get("/readyz".into(), "nosuchcoop.localhost".into()).0,
        404,
        "only routed cooperatives are reachable"
    );

    // The printed board keys are real key pairs, and the chain has the public ones.
    let keys = &demo["keys"];
    let mut accounts = vec![
        keys["cooperative"].clone(),
        keys["board"]["chairman"].clone(),
    ];
    accounts.extend(keys["board"]["members"].as_array().unwrap().iter().cloned());
    assert!(
        accounts.len() >= 3,
        "cooperative, chairman and members: {keys}"
    );
    for account in &accounts {
        let wif = account["private_key"].as_str().unwrap();
        let public = wif
            .parse::<chain::keys::PrivateKey>()
            .expect("a WIF private key")
            .public_key()
            .to_string();
        assert_eq!(account["public_key"], public.as_str());
        let username = account["username"].as_str().unwrap().to_owned();
        let on_chain = runtime.block_on(async {
            client
                .post(format!("http://127.0.0.1:{http}/v1/chain/get_account"))
                .json(&serde_json::json!({ "account_name": username }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        assert!(on_chain.contains(&public), "{username}: {on_chain}");
    }

    // A second `up` finds everything running: same processes, the cooperative exists.
    let again = json_of(&mono_with(&data, port, Some(&config), &["up", "--json"]));
    assert_eq!(again["postgres"]["action"], "already-running");
    assert_eq!(again["postgres"]["url"], url);
    for service in ["devchain", "gateway", "control_plane"] {
        assert_eq!(again[service]["action"], "already-running", "{service}");
        assert_eq!(again[service]["pid"], report[service]["pid"], "{service}");
    }
    assert_eq!(again["demo"]["action"], "exists");

    // Human output names the connection string, the GraphQL URL and the chairman's key.
    let human = mono_with(&data, port, Some(&config), &["up"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains(&url), "{text}");
    assert!(
        text.contains(demo["graphql_url"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.contains(keys["board"]["chairman"]["private_key"].as_str().unwrap()),
        "{text}"
    );

    let pids: Vec<i64> = ["devchain", "gateway", "control_plane"]
        .iter()
        .map(|s| report[*s]["pid"].as_i64().unwrap())
        .collect();
    let down = mono_with(&data, port, Some(&config), &["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&down.stdout).trim(),
        "Control plane stopped\nGateway stopped\nDevelopment chain stopped\nPostgreSQL stopped"
    );

    // Nothing of ours keeps running: no process, no pid, no listening port (PostgreSQL
    // backends may take a moment to exit after the postmaster).
    assert!(
        eventually(|| processes_using(&data).is_empty()),
        "processes left behind: {:?}",
        processes_using(&data)
    );
    for pid in pids {
        assert!(!alive(pid), "pid {pid} still running");
    }
    for p in [port, cp, gw, gw_admin, http, ship] {
        assert!(eventually(|| !listening(p)), "port {p} still listening");
    }
    for p in nodes..=nodes + 20 {
        assert!(!listening(p), "node port {p} still listening");
    }
    let psql_after = Command::new("psql")
        .arg(&url)
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(
        !psql_after.status.success(),
        "server must be down after mono down"
    );

    let twice = mono_with(&data, port, Some(&config), &["down"]);
    assert!(twice.status.success());
    assert_eq!(
        String::from_utf8_lossy(&twice.stdout).trim(),
        "Control plane was not running\nGateway was not running\nDevelopment chain was not running\nPostgreSQL was not running"
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
