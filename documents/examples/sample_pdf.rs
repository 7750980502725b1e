//! Generates a sample document PDF (default: the participant application of an individual) and
//! writes it (and its HTML, as `<out>.html`) to a file; `--png` also renders its first page with `pdftoppm -png -r 60`.
//!
//! `cargo run -p documents --example sample_pdf -- [registry_id] [individual|entrepreneur|organization] [out.pdf] [--png out.png]`

use std::process::ExitCode;

use documents::factory::Factory;
use documents::model::AccountType;
use documents::pdf::{PdfConfig, PdfEngine};
use documents::render::Renderer;
use documents::sample;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sample_pdf: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let png = match args.iter().position(|a| a == "--png") {
        Some(i) if i + 1 < args.len() => {
            let p = args.remove(i + 1);
            args.remove(i);
            Some(p)
        }
        Some(_) => anyhow::bail!("--png needs a file name"),
        None => None,
    };
    let registry_id: u32 = args.first().map_or(Ok(100), |a| a.parse())?;
    let kind = match args.get(1).map(String::as_str) {
        None | Some("individual") => AccountType::Individual,
        Some("entrepreneur") => AccountType::Entrepreneur,
        Some("organization") => AccountType::Organization,
        Some(other) => anyhow::bail!("unknown account type {other}"),
    };
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("document-{registry_id}.pdf"));
    let config = PdfConfig {
        workers: 1,
        ..PdfConfig::default()
    };
    let factory = Factory::new(Renderer::new()?, PdfEngine::start(config).await?);
    let mut input = sample::meta_input(registry_id, kind);
    if registry_id == 100 {
        // The four agreements the application links to (their doc_hashes).
        // In the reference order: wallet, privacy, signature, user.
        for id in [1u32, 3, 2, 4] {
            let doc = factory
                .generate(id, sample::meta_input(id, kind), &sample::data(kind))
                .await?;
            input.links.push(doc.hash);
        }
    }
    let doc = factory
        .generate(registry_id, input, &sample::data(kind))
        .await?;
    std::fs::write(&out, &doc.binary)?;
    std::fs::write(format!("{out}.html"), &doc.html)?;
    println!("{out}: {} bytes, doc_hash {}", doc.binary.len(), doc.hash);
    println!("meta: {}", serde_json::to_string(&doc.meta.to_value())?);
    if let Some(png) = png {
        let stem = png.strip_suffix(".png").unwrap_or(&png).to_owned();
        let status = std::process::Command::new("pdftoppm")
            .args([
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                &out,
                &stem,
            ])
            .status()?;
        anyhow::ensure!(status.success(), "pdftoppm failed: {status}");
        println!("{png}: first page at 60 dpi");
    }
    Ok(())
}
