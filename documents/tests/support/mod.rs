//! Shared fixtures of the PDF tests: one tokio runtime and one pair of factories (warm pool and
//! CLI) per test binary, started on first use, and the poppler helpers.
//!
//! Without WeasyPrint or poppler-utils the tests print a skip message and pass; under
//! `CI=true` they fail instead, since CI installs both (scripts/deps.sh).

#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use documents::factory::Factory;
use documents::pdf::{find_program, EngineMode, PdfConfig, PdfEngine};
use documents::render::Renderer;

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    /// Warm pool with two workers.
    pub pool: Factory,
    /// One `weasyprint` process per document.
    pub cli: Factory,
}

impl Harness {
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// What is missing for the PDF tests, if anything.
fn missing_tools() -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = [
        "weasyprint",
        "pdftotext",
        "pdfimages",
        "pdfinfo",
        "pdffonts",
        "fc-list",
    ]
    .into_iter()
    .filter(|p| find_program(Path::new(p)).is_none())
    .collect();
    let pt_serif = Command::new("fc-list")
        .arg(":family=PT Serif")
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if !pt_serif {
        missing.push("the PT Serif font");
    }
    missing
}

/// Whether WeasyPrint, poppler-utils and PT Serif are installed; prints a skip message when not (outside
/// CI), fails under `CI=true`.
pub fn tools_available(test: &str) -> bool {
    let missing = missing_tools();
    if !missing.is_empty() {
        let msg = format!(
            "{test}: {} not installed (run scripts/deps.sh: Debian packages weasyprint, poppler-utils, fonts-paratype)",
            missing.join(", ")
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}; CI=true requires them");
        }
        // Straight to the process's stderr: the test harness does not capture it, so the skip
        // shows up in a normal `cargo test` run.
        let _ = writeln!(std::io::stderr(), "SKIPPED {msg}");
        return false;
    }
    true
}

/// The shared harness, or `None` (after a skip message) when the tools are missing outside CI.
pub fn harness(test: &str) -> Option<&'static Harness> {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    if !tools_available(test) {
        return None;
    }
    let h = HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let (pool, cli) = rt.block_on(async {
            let pool = PdfEngine::start(PdfConfig {
                mode: EngineMode::Pool,
                workers: 2,
                ..PdfConfig::default()
            })
            .await
            .map_err(|e| e.to_string())?;
            let cli = PdfEngine::start(PdfConfig {
                mode: EngineMode::Cli,
                ..PdfConfig::default()
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((pool, cli))
        })?;
        let renderer = || Renderer::new().map_err(|e| e.to_string());
        Ok(Harness {
            pool: Factory::new(renderer()?, pool),
            cli: Factory::new(renderer()?, cli),
            rt,
        })
    });
    match h {
        Ok(h) => Some(h),
        Err(e) => panic!("{test}: WeasyPrint is installed but the PDF engines did not start: {e}"),
    }
}

fn temp_pdf(pdf: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".pdf")
        .tempfile()
        .expect("temp file");
    file.write_all(pdf).expect("write pdf");
    file
}

fn run(program: &str, args: &[&str], pdf: &[u8]) -> String {
    let file = temp_pdf(pdf);
    let path = file.path().to_str().expect("utf-8 temp path");
    let mut all: Vec<&str> = args.to_vec();
    all.push(path);
    if program == "pdftotext" {
        all.push("-");
    }
    let out = Command::new(program).args(&all).output().expect(program);
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The PDF's text with all whitespace runs collapsed to single spaces.
pub fn pdf_text(pdf: &[u8]) -> String {
    run("pdftotext", &["-enc", "UTF-8"], pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows of `pdfimages -list` with type `image` (soft masks are not counted).
pub fn pdf_images(pdf: &[u8]) -> Vec<String> {
    run("pdfimages", &["-list"], pdf)
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .map(str::to_owned)
        .collect()
}

/// `pdffonts` output.
pub fn pdf_fonts(pdf: &[u8]) -> String {
    run("pdffonts", &[], pdf)
}

/// `pdfinfo -isodates` as `key -> value`.
pub fn pdf_info(pdf: &[u8]) -> std::collections::BTreeMap<String, String> {
    run("pdfinfo", &["-isodates"], pdf)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Collapses whitespace, for comparing with [`pdf_text`].
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
