//! Document factory speed, side by side in one run, on the participant application (registry
//! 100, individual, with signature image and four links):
//! - HTML rendering per document (minijinja, pure);
//! - PDF throughput of the warm pool (2 workers) against one `weasyprint` CLI process per
//!   document (the reference's approach), both with 2 documents in flight, plus the CLI one
//!   at a time.
//!
//! Run with `cargo bench -p documents --bench pdf`. Needs WeasyPrint (scripts/deps.sh).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use documents::factory;
use documents::model::AccountType;
use documents::pdf::{EngineMode, PdfConfig, PdfEngine};
use documents::render::Renderer;
use documents::sample;

const HTML_RUN: Duration = Duration::from_secs(2);
const ROUNDS: usize = 3;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench pdf: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let renderer = Renderer::new().map_err(|e| e.to_string())?;
    let kind = AccountType::Individual;
    let data = sample::data(kind);
    let mut input = sample::meta_input(100, kind);
    input.links = (0..4)
        .map(|i| format!("{:064X}", i * 0x1111_1111_u64 + 7))
        .collect();
    let prepare = || factory::prepare(&renderer, 100, input.clone(), &data, 0);
    let html = prepare().map_err(|e| e.to_string())?.html;

    // HTML: the minijinja render alone, and `prepare` (validation, schema, meta, render).
    let prepared = prepare().map_err(|e| e.to_string())?;
    let render_only = || renderer.render(prepared.template, &prepared.meta, &data);
    let render_us = per_doc_us(|| render_only().map(|_| ()).map_err(|e| e.to_string()))?;
    let prepare_us = per_doc_us(|| prepare().map(|_| ()).map_err(|e| e.to_string()))?;
    println!(
        "HTML ({} bytes): minijinja render {render_us:.0} µs/doc; with validation, schema and meta {prepare_us:.0} µs/doc ({:.0} docs/s)",
        html.len(),
        1e6 / prepare_us
    );

    if !documents::pdf::weasyprint_installed(&PdfConfig::default()) {
        println!("PDF: SKIPPED, weasyprint is not installed (scripts/deps.sh)");
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let html: Arc<str> = Arc::from(html.as_str());
        let start = Instant::now();
        let pool = Arc::new(
            PdfEngine::start(PdfConfig {
                mode: EngineMode::Pool,
                workers: 2,
                ..PdfConfig::default()
            })
            .await
            .map_err(|e| e.to_string())?,
        );
        println!(
            "pool start (2 workers, import + warm-up): {:.2} s",
            start.elapsed().as_secs_f64()
        );
        let cli = Arc::new(
            PdfEngine::start(PdfConfig {
                mode: EngineMode::Cli,
                workers: 2,
                ..PdfConfig::default()
            })
            .await
            .map_err(|e| e.to_string())?,
        );
        let cli_one = Arc::new(
            PdfEngine::start(PdfConfig {
                mode: EngineMode::Cli,
                workers: 1,
                ..PdfConfig::default()
            })
            .await
            .map_err(|e| e.to_string())?,
        );
        // Warm-up and a sanity check: both engines give the same bytes.
        let a = pool.render(&html).await.map_err(|e| e.to_string())?;
        let b = cli.render(&html).await.map_err(|e| e.to_string())?;
        if a != b {
            return Err("pool and CLI PDFs differ".into());
        }
        for _ in 0..4 {
            pool.render(&html).await.map_err(|e| e.to_string())?;
        }
        // Rounds interleave the engines so that load from elsewhere on the machine affects
        // them alike; each figure is total documents / total time over the rounds.
        let mut totals = [(0usize, Duration::ZERO); 4];
        for _ in 0..ROUNDS {
            let runs: [(&Arc<PdfEngine>, usize, usize); 4] =
                [(&pool, 30, 2), (&pool, 10, 1), (&cli, 8, 2), (&cli_one, 4, 1)];
            for (i, (engine, n, in_flight)) in runs.into_iter().enumerate() {
                let took = timed(engine, &html, n, in_flight).await?;
                totals[i].0 += n;
                totals[i].1 += took;
            }
        }
        let rate = |i: usize| totals[i].0 as f64 / totals[i].1.as_secs_f64();
        let (pool_rate, pool_one_rate, cli_rate, cli_one_rate) = (rate(0), rate(1), rate(2), rate(3));
        println!(
            "PDF ({} bytes), WeasyPrint {}, {ROUNDS} interleaved rounds:",
            a.len(),
            pool.weasyprint_version()
        );
        let row = |label: &str, r: f64| println!("  {label:<40} {r:6.2} docs/s ({:4.0} ms/doc)", 1000.0 / r);
        row("warm pool, 2 workers, 2 in flight", pool_rate);
        row("warm pool, 2 workers, 1 in flight", pool_one_rate);
        row("CLI process per doc, 2 in flight", cli_rate);
        row("CLI process per doc, one at a time", cli_one_rate);
        println!(
            "  pool (2 in flight) / CLI: {:.1}x at the same parallelism, {:.1}x against one at a time",
            pool_rate / cli_rate,
            pool_rate / cli_one_rate
        );
        Ok(())
    })
}

/// Mean time of `op` over `HTML_RUN` after a warm-up, in µs.
fn per_doc_us(mut op: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    for _ in 0..50 {
        op()?;
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < HTML_RUN {
        black_box(op()?);
        n += 1;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

/// Renders `n` documents keeping `in_flight` requests outstanding; returns the time taken.
async fn timed(
    engine: &Arc<PdfEngine>,
    html: &Arc<str>,
    n: usize,
    in_flight: usize,
) -> Result<Duration, String> {
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (engine, html, next) = (engine.clone(), html.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let pdf = engine.render(&html).await.map_err(|e| e.to_string())?;
                black_box(pdf);
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(start.elapsed())
}
