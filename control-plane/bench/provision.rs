//! Control plane benchmark (`cargo bench -p control-plane --bench provision`): the real platform
//! brought up with `mono up` (release binaries: build `tenant-node`, `gateway` and `devchain`
//! with `--release` first) on a scratch data directory, then
//! (a) time from `POST /v1/cooperatives` to the first successful answer THROUGH THE GATEWAY
//!     (GraphQL `{__typename}` when the node serves it, else `GET /readyz`), one cooperative
//!     at a time, process runtime;
//! (b) density: cooperatives created up to `BENCH_DENSITY` (default 100), all answering
//!     through the gateway, with per-node and total memory (RSS and PSS from /proc) and the
//!     PostgreSQL connections.
//!
//! `BENCH_COOPS` (default 20) sets the size of (a). Results are printed as Markdown.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `prefix` + `i` written with the letters a–z (valid in account names).
fn coop_name(prefix: &str, mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            break;
        }
    }
    format!("{prefix}{s}")
}

struct Platform {
    mono: PathBuf,
    data: PathBuf,
    config: PathBuf,
}

impl Platform {
    fn mono(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let out = Command::new(&self.mono)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .output()
            .context("run mono")?;
        if !out.status.success() {
            bail!("mono {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(out)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.mono(&["down"]);
    }
}

struct Gateway {
    http: reqwest::Client,
    addr: String,
    host: String,
    graphql: bool,
}

impl Gateway {
    /// Whether `coop` answers through the gateway (path route on the base domain).
    async fn answers(&self, coop: &str) -> bool {
        let request = if self.graphql {
            self.http
                .post(format!("http://{}/coops/{coop}/graphql", self.addr))
                .json(&json!({"query": "{__typename}"}))
        } else {
            self.http
                .get(format!("http://{}/coops/{coop}/readyz", self.addr))
        };
        match request.header("host", &self.host).send().await {
            Ok(r) if r.status().is_success() => {
                !self.graphql
                    || r.json::<Value>()
                        .await
                        .is_ok_and(|v| v["data"]["__typename"].is_string())
            }
            _ => false,
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `VmRSS` and `Pss` of a process, in KiB.
fn memory_kib(pid: i32) -> Option<(u64, u64)> {
    let field = |text: &str, key: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Some((
        field(&status, "VmRSS:")?,
        field(&rollup, "Pss:").unwrap_or(0),
    ))
}

/// The postmaster and its children.
fn postgres_pids(data: &Path) -> Vec<i32> {
    let Some(master) = std::fs::read_to_string(data.join("postgres/data/postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
    else {
        return Vec::new();
    };
    let mut pids = vec![master];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<i32>().ok());
        if ppid == Some(master) {
            pids.push(pid);
        }
    }
    pids
}

fn node_pids(data: &Path) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(data.join("control-plane/coops"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let pid = std::fs::read_to_string(e.path().join("node.pid"))
            .ok()
            .and_then(|t| t.trim().parse().ok());
        if let Some(pid) = pid {
            out.push((e.file_name().to_string_lossy().into_owned(), pid));
        }
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} cores ({cpu}), {mem}, load average at start {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

async fn run() -> anyhow::Result<()> {
    let latency_n = env_usize("BENCH_COOPS", 20);
    let density_n = env_usize("BENCH_DENSITY", 100).max(latency_n);
    let mono = PathBuf::from(env!("CARGO_BIN_EXE_mono"));
    let bin_dir = mono.parent().context("target directory")?;
    for bin in ["tenant-node", "gateway", "devchain"] {
        if !bin_dir.join(bin).is_file() {
            bail!(
                "{} is missing: cargo build --release -p tenant-node -p gateway -p devchain",
                bin_dir.join(bin).display()
            );
        }
    }
    let scratch = tempfile::tempdir()?;
    let data = scratch.path().join("platform");
    let ports: Vec<u16> = (0..6).map(|_| managed_pg::testing::free_port()).collect();
    let [pg, cp, gw, gw_admin, chain_http, chain_ship] =
        [ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]];
    let config = scratch.path().join("mono.toml");
    std::fs::write(
        &config,
        format!(
            "[postgres]\nport = {pg}\nmax_connections = 1000\n\
             [control_plane]\nlisten = \"127.0.0.1:{cp}\"\nport_range = \"32000-32999\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gw}\"\nadmin_listen = \"127.0.0.1:{gw_admin}\"\n\
             [devchain]\nhttp_addr = \"127.0.0.1:{chain_http}\"\nship_addr = \"127.0.0.1:{chain_ship}\"\n"
        ),
    )?;
    let platform = Platform {
        mono,
        data: data.clone(),
        config,
    };
    println!("Machine: {}", machine());
    let started = Instant::now();
    let up: Value = serde_json::from_slice(&platform.mono(&["up", "--json"])?.stdout)?;
    println!(
        "`mono up` from nothing (initdb, devchain, gateway, control plane, demo cooperative ready): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let token = std::fs::read_to_string(data.join("control-plane/operator.token"))?;
    let api = up["control_plane"]["url"]
        .as_str()
        .context("cp url")?
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut gateway = Gateway {
        http: http.clone(),
        addr: format!("127.0.0.1:{gw}"),
        host: "localhost".into(),
        graphql: true,
    };
    let demo = up["demo"]["coop"].as_str().context("demo coop")?.to_owned();
    if !gateway.answers(&demo).await {
        gateway.graphql = false;
        if !gateway.answers(&demo).await {
            bail!("the demo cooperative does not answer through the gateway");
        }
    }
    let probe = if gateway.graphql {
        "POST /graphql {__typename}"
    } else {
        "GET /readyz (the node serves no GraphQL yet)"
    };
    let create = |coop: String| {
        let http = http.clone();
        let (api, token) = (api.clone(), token.trim().to_owned());
        async move {
            let r = http
                .post(format!("{api}/v1/cooperatives"))
                .bearer_auth(token)
                .json(&json!({ "coopname": coop }))
                .send()
                .await?;
            if r.status().as_u16() != 201 {
                bail!("create {coop}: {} {}", r.status(), r.text().await?);
            }
            anyhow::Ok(())
        }
    };

    // (a) create → first answer through the gateway, one at a time.
    let mut times = Vec::new();
    for i in 0..latency_n {
        let coop = coop_name("lat", i);
        let t0 = Instant::now();
        create(coop.clone()).await?;
        let deadline = t0 + Duration::from_secs(120);
        while !gateway.answers(&coop).await {
            if Instant::now() > deadline {
                bail!("{coop} does not answer through the gateway");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "\n(a) create -> first {probe} through the gateway, {latency_n} cooperatives, sequential:\n\
         p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms, min {:.0} ms",
        percentile(&sorted, 50.0),
        percentile(&sorted, 90.0),
        sorted[sorted.len() - 1],
        sorted[0],
    );
    println!(
        "samples (ms): {:?}",
        times.iter().map(|t| t.round() as u64).collect::<Vec<_>>()
    );

    // (b) density: the rest created at once.
    let rest: Vec<String> = (latency_n..density_n - 1)
        .map(|i| coop_name("den", i))
        .collect();
    let t0 = Instant::now();
    futures_util::future::try_join_all(rest.iter().cloned().map(&create)).await?;
    let all: Vec<String> = (0..latency_n)
        .map(|i| coop_name("lat", i))
        .chain(rest.iter().cloned())
        .chain([demo.clone()])
        .collect();
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut pending: Vec<String> = all.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for coop in pending {
            if !gateway.answers(&coop).await {
                still.push(coop);
            }
        }
        if Instant::now() > deadline {
            bail!("not answering after 15 min: {still:?}");
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let burst = t0.elapsed().as_secs_f64();
    // Let start-up work settle before measuring.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut healthy = 0;
    for coop in &all {
        if gateway.answers(coop).await {
            healthy += 1;
        }
    }
    let nodes = node_pids(&data);
    let mut rss = Vec::new();
    let mut pss = Vec::new();
    for (_, pid) in &nodes {
        if let Some((r, p)) = memory_kib(*pid) {
            rss.push(r as f64 / 1024.0);
            pss.push(p as f64 / 1024.0);
        }
    }
    rss.sort_by(f64::total_cmp);
    let pg_mem: (u64, u64) = postgres_pids(&data)
        .into_iter()
        .filter_map(memory_kib)
        .fold((0, 0), |(a, b), (r, p)| (a + r, b + p));
    let service_mem = |name: &str| {
        up[name]["pid"]
            .as_i64()
            .and_then(|p| memory_kib(p as i32))
            .map_or(0.0, |(r, _)| r as f64 / 1024.0)
    };
    let admin_url = up["postgres"]["url"].as_str().context("pg url")?;
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let total_conns: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
            &[],
        )
        .await?
        .get(0);
    let coop_conns: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname LIKE 'coop\\_%'",
            &[],
        )
        .await?
        .get(0);
    let max_per_coop: i64 = client
        .query_one(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname LIKE 'coop\\_%' GROUP BY datname) c",
            &[],
        )
        .await?
        .get(0);
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    println!(
        "\n(b) density: {} cooperatives ({} created at once took {burst:.1} s until all answered \
         through the gateway); healthy after 10 s: {healthy}/{}",
        all.len(),
        rest.len(),
        all.len()
    );
    println!(
        "tenant nodes: {} processes, RSS total {:.0} MiB, per node p50 {:.1} MiB, max {:.1} MiB, min {:.1} MiB; PSS total {:.0} MiB",
        rss.len(),
        sum(&rss),
        percentile(&rss, 50.0),
        rss[rss.len() - 1],
        rss[0],
        sum(&pss),
    );
    println!(
        "PostgreSQL: RSS {:.0} MiB (shared buffers counted in each backend), PSS {:.0} MiB; client connections {total_conns} ({coop_conns} by cooperatives, at most {max_per_coop} per cooperative)",
        pg_mem.0 as f64 / 1024.0,
        pg_mem.1 as f64 / 1024.0,
    );
    println!(
        "control plane RSS {:.0} MiB, gateway RSS {:.0} MiB, devchain RSS {:.0} MiB",
        service_mem("control_plane"),
        service_mem("gateway"),
        service_mem("devchain"),
    );
    let metrics = http
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let metric = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let count = metric("control_plane_provision_seconds_count");
    if count > 0.0 {
        println!(
            "provisioning (role, database, files) mean {:.0} ms over {count} cooperatives",
            metric("control_plane_provision_seconds_sum") / count * 1000.0
        );
    }
    drop(platform);
    Ok(())
}
