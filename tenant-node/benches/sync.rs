//! Sync benchmark: replay speed of the sync engine into PostgreSQL over a devchain history of
//! 100,000+ blocks with cooperative activity in two cooperatives (registrations with their
//! income payments, council votes, acceptances, declines with refunds) spread over the blocks,
//! read over loopback SHiP; then the idle resident memory of one `tenant-node serve` process
//! following a chain that produces 2 blocks/s.
//!
//! The memory is read twice: idle after start (nobody has queried the node yet) and idle again
//! after it has answered a few GraphQL queries.
//!
//! Run: `cargo bench -p tenant-node --bench sync` (`SYNC_BENCH_BLOCKS` overrides the history
//! length; `SYNC_BENCH_HOLD=<seconds>` keeps each measured node running that much longer after each reading and
//! `SYNC_BENCH_SMAPS=<file>` saves its `/proc/<pid>/smaps`, for looking into the memory).
//!
//! `SYNC_BENCH_EXE=<path>` measures that executable instead of the one `cargo bench` builds (whose
//! dependencies have the dev-dependencies' features, so its symbols differ from the release
//! build's): the figures in BENCHMARKS.md are of `cargo build --release`'s `target/release/tenant-node`.
//!
//! For recording the code layout (`tenant-node/layout/record.sh`): `SYNC_BENCH_WRAP="<program>
//! <args>"` runs each measured node under that program (e.g. valgrind), and
//! `SYNC_BENCH_MARK=<program>` is run as `<program> <phase> <pid>` when the node is ready
//! (`ready`), has idled (`idle`) and has answered the GraphQL queries (`queried`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use managed_pg::testing::{free_port, TestDb};
use support::chain::{user_name, TestChain, CHAIN_ID, VOSKHOD, ZARYA};
use support::Node;
use tokio::sync::watch;

/// Empty blocks after each step of activity.
const GAP: u32 = 12;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(run())
}

/// Activity until the head reaches `target`: per round, in each cooperative, a registration,
/// three votes, then acceptance (or, every third round, a decline and a completed refund).
fn generate(chain: &TestChain, target: u32) -> (u32, usize) {
    let mut users = 0;
    let mut i = 0;
    while chain.head() < target {
        for (coop, prefix) in [(&VOSKHOD, "va"), (&ZARYA, "za")] {
            let user = user_name(prefix, i);
            let d = chain.register(coop, &user, 50);
            users += 1;
            chain.produce(GAP);
            if i % 3 == 2 {
                for voter in coop.members {
                    chain.vote(coop, d, voter, false);
                }
                chain.produce(GAP);
                chain.decline(coop, d);
                chain.produce(GAP);
                chain.complete_refund(coop, &user);
            } else {
                chain.vote_all_for(coop, d);
                chain.produce(GAP);
                chain.accept(coop, d, &user);
            }
            chain.produce(GAP);
        }
        i += 1;
        if i % 250 == 0 {
            eprintln!("  … {} blocks, {users} registrations", chain.head());
        }
    }
    (chain.head(), users)
}

async fn replay(chain: &TestChain, head: u32, window: u32, batch: u32) -> anyhow::Result<Node> {
    let mut node = Node::new(chain).await;
    node.config.ship_window = window;
    node.config.batch_blocks = batch;
    let ctx = node.context();
    let (_stop, rx) = watch::channel(false);
    let t = Instant::now();
    tenant_node::sync::run(&ctx, Some(head), rx).await?;
    let elapsed = t.elapsed().as_secs_f64();
    let counts = node.db.counts().await?;
    println!(
        "sync 1..={head} (window {window}, batch {batch}): {elapsed:.2} s = {:.0} blocks/s; \
         stored {} action receipts ({:.0}/s), {} row versions, {} current rows",
        f64::from(head) / elapsed,
        counts.actions,
        counts.actions as f64 / elapsed,
        counts.row_versions,
        counts.rows,
    );
    Ok(node)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .with_context(|| format!("{name} in /proc/{pid}/status"))
    };
    println!(
        "  RssAnon {} kB, RssFile {} kB, RssShmem {} kB, threads {}",
        field("RssAnon:")?,
        field("RssFile:")?,
        field("RssShmem:")?,
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .map_or("?", str::trim)
    );
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Runs the release binary against `db`, waits until it is ready and has idled, reads its RSS
/// (`VmRSS`, `VmHWM`); answers two GraphQL queries, idles again and reads it again.
async fn idle_rss(
    chain: &TestChain,
    db: &TestDb,
    settle: Duration,
) -> anyhow::Result<((u64, u64), (u64, u64))> {
    let dir = tempfile::tempdir()?;
    let port = free_port();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "coopname = \"voskhod\"\ndatabase_url = \"{}\"\nchain_url = \"{}\"\n\
             ship_url = \"{}\"\nchain_id = \"{CHAIN_ID}\"\nlisten = \"127.0.0.1:{port}\"\n",
            db.url,
            chain.http_url(),
            chain.ship_url()
        ),
    )?;
    let exe = node_exe();
    let wrap = std::env::var("SYNC_BENCH_WRAP").unwrap_or_default();
    let mut wrap = wrap.split_whitespace();
    let mut child = match wrap.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(wrap).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let mut child = child
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("TENANT_NODE_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()?;
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(r) = http.get(&ready).send().await {
            if r.status().is_success() {
                break;
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the node did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    mark("ready", child.id())?;
    tokio::time::sleep(settle).await;
    if let Some(secs) = std::env::var("SYNC_BENCH_HOLD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        eprintln!("holding node pid {} for {secs} s", child.id());
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    if let Ok(path) = std::env::var("SYNC_BENCH_SMAPS") {
        std::fs::copy(format!("/proc/{}/smaps", child.id()), path)?;
    }
    let fresh = rss_kib(child.id());
    mark("idle", child.id())?;
    let graphql = format!("http://127.0.0.1:{port}/graphql");
    for query in [
        "{ getSystemInfo { coopname system_status synced_block blockchain_info { head_block_num } } }",
        "{ getAgenda { totalCount } }",
    ] {
        let status = http
            .post(&graphql)
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await?
            .status();
        anyhow::ensure!(status.is_success(), "{query}: HTTP {status}");
    }
    tokio::time::sleep(settle).await;
    let queried = rss_kib(child.id());
    mark("queried", child.id())?;
    if let Some(secs) = std::env::var("SYNC_BENCH_HOLD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        eprintln!("holding queried node pid {} for {secs} s", child.id());
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    child.kill()?;
    child.wait()?;
    Ok((fresh?, queried?))
}

/// The executable measured: `SYNC_BENCH_EXE` or the one this bench was built with.
fn node_exe() -> String {
    std::env::var("SYNC_BENCH_EXE").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tenant-node").into())
}

/// How many of the functions in the recorded code layout the executable has (see
/// `tenant-node/layout/`): few means it was built with other dependency features than recorded.
fn layout_coverage(exe: &str) -> String {
    let order = concat!(env!("CARGO_MANIFEST_DIR"), "/layout/symbol-order.txt");
    let Ok(order) = std::fs::read_to_string(order) else {
        return "no recorded code layout".into();
    };
    let Ok(out) = Command::new("nm").arg("--defined-only").arg(exe).output() else {
        return "nm not found: code layout not checked".into();
    };
    let have: std::collections::HashSet<&str> = std::str::from_utf8(&out.stdout)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let wanted: Vec<&str> = order.lines().collect();
    let found = wanted.iter().filter(|s| have.contains(*s)).count();
    format!(
        "{found} of the {} functions of the recorded code layout present",
        wanted.len()
    )
}

/// Runs `SYNC_BENCH_MARK <phase> <pid>` when it is set.
fn mark(phase: &str, pid: u32) -> anyhow::Result<()> {
    if let Ok(program) = std::env::var("SYNC_BENCH_MARK") {
        let status = Command::new(&program)
            .arg(phase)
            .arg(pid.to_string())
            .status()
            .with_context(|| format!("running {program}"))?;
        anyhow::ensure!(status.success(), "{program} {phase} {pid}: {status}");
    }
    Ok(())
}

fn print_idle(what: &str, ((rss, hwm), (queried, queried_hwm)): ((u64, u64), (u64, u64))) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{what}: idle VmRSS {:.1} MiB (peak {:.1} MiB); idle after GraphQL queries {:.1} MiB \
         (peak {:.1} MiB)",
        mib(rss),
        mib(hwm),
        mib(queried),
        mib(queried_hwm)
    );
}

async fn run() -> anyhow::Result<()> {
    let target: u32 = std::env::var("SYNC_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let chain = TestChain::start().await;
    let t = Instant::now();
    let (head, users) = generate(&chain, target);
    println!(
        "history: {head} blocks, {users} registrations in 2 cooperatives (each step of activity \
         followed by {GAP} empty blocks), generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let node = replay(&chain, head, 128, 1000).await?;
    replay(&chain, head, 512, 5000)
        .await?
        .test_db
        .drop_database()
        .await;

    // idle RSS of the release binary following a chain at 2 blocks/s
    println!(
        "idle memory of {} ({})",
        node_exe(),
        layout_coverage(&node_exe())
    );
    let producer = {
        let node = chain.handle.node.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                if let Err(e) = node.produce_block() {
                    eprintln!("produce: {e}");
                }
            }
        })
    };
    let idle = idle_rss(&chain, &node.test_db, Duration::from_secs(5)).await?;
    print_idle(
        "tenant-node serve, synced database, following 2 blocks/s",
        idle,
    );
    let fresh = TestDb::new().await;
    let idle = idle_rss(&chain, &fresh, Duration::from_secs(5)).await?;
    print_idle(
        "tenant-node serve after syncing the whole history itself",
        idle,
    );
    producer.abort();
    chain.shutdown().await;
    Ok(())
}
