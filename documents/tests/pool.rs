//! The warm pool under failure: a document past the timeout gets its worker killed and
//! replaced, a crashed worker is replaced, a full queue pushes back, and recycled workers keep
//! producing the same bytes.

mod support;

use std::time::{Duration, Instant};

use documents::pdf::{EngineMode, PdfConfig, PdfEngine, PdfError};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn pool(workers: usize, queue: usize, timeout: Duration, queue_timeout: Duration) -> PdfConfig {
    PdfConfig {
        mode: EngineMode::Pool,
        workers,
        queue,
        timeout,
        queue_timeout,
        ..PdfConfig::default()
    }
}

const SMALL: &str = "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Проба</title></head><body><p>Проба пера</p></body></html>";

/// A document that takes WeasyPrint several seconds (thousands of table rows).
fn slow_html() -> String {
    let mut html = String::from("<!DOCTYPE html><html><body><table>");
    for i in 0..30_000 {
        html.push_str(&format!("<tr><td>{i}</td><td>строка таблицы {i}</td></tr>"));
    }
    html.push_str("</table></body></html>");
    html
}

#[test]
fn timeout_kills_the_worker_and_a_fresh_one_takes_over() {
    if !support::tools_available("timeout_kills_the_worker_and_a_fresh_one_takes_over") {
        return;
    }
    let rt = rt();
    rt.block_on(async {
        let engine = PdfEngine::start(pool(
            1,
            4,
            Duration::from_millis(700),
            Duration::from_secs(60),
        ))
        .await
        .unwrap();
        let PdfEngine::Pool(p) = &engine else {
            panic!("expected the pool")
        };
        let before = p.worker_pids();
        let started = Instant::now();
        let err = engine.render(&slow_html()).await.unwrap_err();
        assert_eq!(err, PdfError::Timeout(Duration::from_millis(700)));
        assert!(started.elapsed() < Duration::from_secs(5));
        // The next document is served by a new process.
        let pdf = engine.render(SMALL).await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let after = p.worker_pids();
        assert_ne!(before, after);
        assert!(after.iter().all(|&pid| pid != 0));
    });
}

#[test]
fn a_killed_worker_is_reported_and_replaced() {
    if !support::tools_available("a_killed_worker_is_reported_and_replaced") {
        return;
    }
    let rt = rt();
    rt.block_on(async {
        let engine = PdfEngine::start(pool(1, 4, Duration::from_secs(30), Duration::from_secs(60)))
            .await
            .unwrap();
        let PdfEngine::Pool(p) = &engine else {
            panic!("expected the pool")
        };
        let reference = engine.render(SMALL).await.unwrap();
        let pid = p.worker_pids()[0];
        // Kill the worker this test started.
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let err = engine.render(SMALL).await.unwrap_err();
        assert!(matches!(err, PdfError::Crashed(_)), "{err}");
        let again = engine.render(SMALL).await.unwrap();
        assert_eq!(again, reference, "the replacement renders the same bytes");
        assert_ne!(p.worker_pids()[0], pid);
    });
}

#[test]
fn a_full_queue_pushes_back() {
    if !support::tools_available("a_full_queue_pushes_back") {
        return;
    }
    let rt = rt();
    rt.block_on(async {
        let engine = std::sync::Arc::new(
            PdfEngine::start(pool(
                1,
                1,
                Duration::from_millis(1500),
                Duration::from_millis(100),
            ))
            .await
            .unwrap(),
        );
        let slow = std::sync::Arc::<str>::from(slow_html());
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (engine, slow) = (engine.clone(), slow.clone());
            tasks.push(tokio::spawn(async move { engine.render(&slow).await }));
        }
        let mut busy = 0;
        for t in tasks {
            if let Err(PdfError::Busy(_)) = t.await.unwrap() {
                busy += 1;
            }
        }
        // One job runs, one waits in the queue; the others are turned away.
        assert!(busy >= 2, "busy: {busy}");
        assert!(engine.render(SMALL).await.is_ok());
    });
}

#[test]
fn recycled_workers_render_identical_bytes() {
    if !support::tools_available("recycled_workers_render_identical_bytes") {
        return;
    }
    let rt = rt();
    rt.block_on(async {
        let engine = PdfEngine::start(PdfConfig {
            recycle_after: 2,
            ..pool(1, 4, Duration::from_secs(30), Duration::from_secs(60))
        })
        .await
        .unwrap();
        let PdfEngine::Pool(p) = &engine else {
            panic!("expected the pool")
        };
        let first_pid = p.worker_pids()[0];
        let mut outputs = Vec::new();
        for _ in 0..5 {
            outputs.push(engine.render(SMALL).await.unwrap());
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(p.worker_pids()[0], first_pid, "worker recycled");
    });
}

#[test]
fn auto_mode_falls_back_to_the_cli_when_the_pool_cannot_start() {
    if !support::tools_available("auto_mode_falls_back_to_the_cli_when_the_pool_cannot_start") {
        return;
    }
    let rt = rt();
    rt.block_on(async {
        let broken_python = PdfConfig {
            python: Some("/nonexistent/python3".into()),
            ..PdfConfig::default()
        };
        let err = PdfEngine::start(PdfConfig {
            mode: EngineMode::Pool,
            ..broken_python.clone()
        })
        .await
        .unwrap_err();
        assert!(matches!(err, PdfError::PoolStart(_)), "{err}");
        let engine = PdfEngine::start(broken_python).await.unwrap();
        assert_eq!(engine.kind(), "cli");
        assert!(engine.render(SMALL).await.unwrap().starts_with(b"%PDF-"));
    });
}
