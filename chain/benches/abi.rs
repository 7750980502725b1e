//! ABI codec throughput: decode and encode of `registrator::reguser` action data (from the wharfkit
//! vectors) with the real registrator ABI. Run with `cargo bench -p chain --bench abi`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chain::abi::Abi;
use chain::Name;
use serde_json::Value;

const WARMUP: Duration = Duration::from_millis(500);
const RUN: Duration = Duration::from_millis(2500);
const RUN_SHORT: Duration = Duration::from_millis(700);

fn read(candidates: &[PathBuf]) -> Option<String> {
    candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

/// Runs `f` repeatedly for `run` (default [`RUN`]) after a warm-up; returns (iterations, time per iteration).
fn measure(mut f: impl FnMut()) -> (u64, Duration) {
    measure_for(RUN, &mut f)
}

fn measure_for(run: Duration, mut f: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    while start.elapsed() < WARMUP {
        f();
    }
    let mut iterations = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            f();
        }
        iterations += 64;
        if start.elapsed() >= run {
            break;
        }
    }
    let elapsed = start.elapsed();
    (
        iterations,
        elapsed / u32::try_from(iterations).unwrap_or(u32::MAX),
    )
}

fn row(label: &str, bytes: usize, (iterations, per): (u64, Duration)) {
    let secs = per.as_secs_f64();
    println!(
        "{label:<34} {iterations:>10} {:>10.0} {:>12.0} {:>9.1}",
        per.as_nanos(),
        1.0 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../../shared");
    let Some(vectors) = read(&[
        shared.join("vectors/antelope.json"),
        root.join("tests/data/antelope.json"),
    ]) else {
        eprintln!("abi bench: vectors not found; nothing to measure");
        return;
    };
    let Some(abi_json) = read(&[shared.join("coopos/abi/registrator.abi")]) else {
        eprintln!("abi bench: ../shared/coopos/abi/registrator.abi not found; nothing to measure");
        return;
    };
    let vectors: Value = serde_json::from_str(&vectors).expect("vectors are JSON");
    let reguser = vectors["actions"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["contract"] == "registrator" && a["action"] == "reguser")
        })
        .expect("registrator::reguser vector");
    let data = hex::decode(reguser["hex"].as_str().expect("hex")).expect("hex");
    let json = reguser["data"].clone();

    let load = measure(|| {
        black_box(Abi::from_json(black_box(&abi_json)).expect("ABI loads"));
    });
    let abi = Abi::from_json(&abi_json).expect("ABI loads");
    let action = Name::parse("reguser").expect("name");
    assert_eq!(abi.decode("reguser", &data).expect("decodes"), json);

    println!(
        "registrator::reguser action data: {} bytes (1 document2, 1 signature)",
        data.len()
    );
    println!(
        "{:<34} {:>10} {:>10} {:>12} {:>9}",
        "operation", "iterations", "ns/op", "actions/s", "MB/s"
    );
    row(
        "decode (type name)",
        data.len(),
        measure(|| {
            black_box(abi.decode("reguser", black_box(&data)).expect("decodes"));
        }),
    );
    row(
        "decode_action (Name)",
        data.len(),
        measure(|| {
            black_box(
                abi.decode_action(action, black_box(&data))
                    .expect("decodes"),
            );
        }),
    );
    row(
        "decode + serialize JSON text",
        data.len(),
        measure(|| {
            let v = abi
                .decode_action(action, black_box(&data))
                .expect("decodes");
            black_box(serde_json::to_string(&v).expect("serializes"));
        }),
    );
    row(
        "encode",
        data.len(),
        measure(|| {
            black_box(abi.encode("reguser", black_box(&json)).expect("encodes"));
        }),
    );
    row("load registrator ABI (JSON)", abi_json.len(), load);

    // Where decode time goes: the text forms of keys and signatures dominate.
    let signature = &json["statement"]["signatures"][0];
    for ty in [
        "signature",
        "public_key",
        "checksum256",
        "name",
        "time_point_sec",
    ] {
        let field = match ty {
            "checksum256" => &signature["signed_hash"],
            "name" => &signature["signer"],
            "time_point_sec" => &signature["signed_at"],
            other => &signature[other],
        };
        let bytes = abi.encode(ty, field).expect("encodes");
        row(
            &format!("  decode one {ty}"),
            bytes.len(),
            measure_for(RUN_SHORT, || {
                black_box(abi.decode(ty, black_box(&bytes)).expect("decodes"));
            }),
        );
    }
}
