//! `kill -9` of the control plane (the real `mono serve`) in the middle of provisioning, then a
//! restart: the cooperatives end ready, with exactly one node each and no orphaned role or
//! database; `SIGTERM` stops the nodes and `mono down` the cluster, leaving nothing running.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use managed_pg::testing::{free_port, scratch_dir};
use support::*;

fn mono(data: &Path, pg_port: u16, listen: &str, chain: &Chain) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mono"));
    cmd.arg("--data-dir")
        .arg(data)
        .arg("--pg-port")
        .arg(pg_port.to_string())
        .args(["--control-plane-listen", listen])
        .arg("--tenant-node-bin")
        .arg(tenant_node_bin())
        .args(["--chain-url", &chain.handle.http_url()])
        .args(["--ship-url", &chain.handle.ship_url()])
        .args(["--chain-id", &chain.chain_id])
        .env_remove("MONO_CONFIG")
        .env_remove("MONO_PG_ADMIN_URL")
        .env_remove("MONO_OPERATOR_TOKEN")
        .env_remove("MONO_MASTER_KEY")
        .env("MONO_LOG", "info")
        .stdin(Stdio::null());
    cmd
}

fn serve(data: &Path, pg_port: u16, listen: &str, chain: &Chain) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.parent().unwrap().join("serve.log"))
        .unwrap();
    mono(data, pg_port, listen, chain)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn mono serve")
}

async fn wait_api(api: &Api) {
    wait_for(120, "control plane API", || async {
        let r = api
            .http
            .get(format!("{}/readyz", api.base))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn control_plane_killed_mid_provisioning_converges_without_orphans() {
    let chain = Chain::start().await;
    let scratch = scratch_dir("mono-cp-crash");
    let data = scratch.path().join("platform");
    let pg_port = free_port();
    let listen = format!("127.0.0.1:{}", free_port());

    let mut first = serve(&data, pg_port, &listen, &chain);
    let token_file = data.join("control-plane/operator.token");
    wait_for(120, "operator token", || async {
        token_file.is_file().then_some(())
    })
    .await;
    let token = std::fs::read_to_string(&token_file).unwrap();
    let api = Api::new(listen.parse().unwrap(), token.trim());
    wait_api(&api).await;

    // Killed right after accepting the first create, before or while it provisions.
    api.create("crasha").await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // Killed again while the second one is provisioning or starting.
    let mut second = serve(&data, pg_port, &listen, &chain);
    wait_api(&api).await;
    api.create("crashb").await;
    wait_for(60, "crashb past pending", || async {
        let row = api.show("crashb").await?;
        (row["observed_state"] != "pending").then_some(())
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    let mut third = serve(&data, pg_port, &listen, &chain);
    wait_api(&api).await;
    for coop in ["crasha", "crashb"] {
        api.wait_ready(coop).await;
        let dir = data.join("control-plane/coops").join(coop);
        // Nodes left by the killed control planes were replaced, not duplicated.
        let pids = processes_in(&dir);
        assert_eq!(pids.len(), 1, "{coop}: {pids:?}");
    }
    let admin_url = format!(
        "postgres://postgres:{}@127.0.0.1:{pg_port}/postgres",
        std::fs::read_to_string(data.join("postgres/superuser.password"))
            .unwrap()
            .trim()
    );
    let admin = managed_pg::testing::connect(&admin_url).await;
    let names = |sql: &'static str| {
        let admin = &admin;
        async move {
            admin
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'coop%' ORDER BY 1").await,
        ["coop_crasha", "coop_crashb"]
    );
    assert_eq!(
        names("SELECT datname::text FROM pg_database WHERE datname LIKE 'coop%' ORDER BY 1").await,
        ["coop_crasha", "coop_crashb"]
    );

    // Delete one while the control plane is killed mid-delete: it still ends deleted.
    let (status, _) = api
        .call(reqwest::Method::DELETE, "/v1/cooperatives/crasha", None)
        .await;
    assert_eq!(status, 202);
    third.kill().unwrap();
    third.wait().unwrap();
    let mut fourth = serve(&data, pg_port, &listen, &chain);
    wait_api(&api).await;
    api.wait_gone("crasha").await;
    assert_eq!(
        names("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'coop%'").await,
        ["coop_crashb"]
    );
    assert_eq!(
        names("SELECT datname::text FROM pg_database WHERE datname LIKE 'coop%'").await,
        ["coop_crashb"]
    );
    assert!(processes_in(&data.join("control-plane/coops/crasha")).is_empty());
    api.wait_ready("crashb").await;

    // A graceful stop stops the nodes; `mono down` stops PostgreSQL; nothing is left.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(fourth.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(fourth.wait().unwrap().success());
    assert!(
        processes_in(&data.join("control-plane")).is_empty(),
        "no node left"
    );
    drop(admin);
    let down = mono(&data, pg_port, &listen, &chain)
        .arg("down")
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(processes_in(&data).is_empty(), "nothing left running");
}
