//! K1 throughput: deterministic signing, public key recovery and verification per second.
//!
//! Run with `cargo bench -p chain --bench crypto`. Each measurement warms up for 0.3 s, then runs
//! for about 2 s over 64 distinct digests.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chain::keys::{PrivateKey, Signature};
use chain::Checksum256;

const WARM_UP: Duration = Duration::from_millis(300);
const RUN: Duration = Duration::from_secs(2);

/// Runs `op` repeatedly for `RUN` after a warm-up; returns operations per second.
fn measure(mut op: impl FnMut(usize)) -> (f64, u64) {
    let start = Instant::now();
    let mut i = 0usize;
    while start.elapsed() < WARM_UP {
        op(i);
        i += 1;
    }
    let start = Instant::now();
    let mut count = 0u64;
    loop {
        // check the clock every 16 operations
        for _ in 0..16 {
            op(i);
            i += 1;
            count += 1;
        }
        let elapsed = start.elapsed();
        if elapsed >= RUN {
            return (count as f64 / elapsed.as_secs_f64(), count);
        }
    }
}

fn main() {
    let key: PrivateKey = match "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3".parse() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("bench key: {e}");
            std::process::exit(1);
        }
    };
    let public = key.public_key();
    let digests: Vec<Checksum256> = (0..64u32)
        .map(|i| Checksum256::sha256(i.to_le_bytes()))
        .collect();
    let sigs: Vec<Signature> = digests.iter().map(|d| key.sign_digest(d)).collect();
    let n = digests.len();

    let rows = [
        (
            "sign (deterministic, canonical)",
            measure(|i| {
                black_box(key.sign_digest(black_box(&digests[i % n])));
            }),
        ),
        (
            "recover public key",
            measure(|i| {
                let _ = black_box(sigs[i % n].recover(black_box(&digests[i % n])));
            }),
        ),
        (
            "verify against public key",
            measure(|i| {
                black_box(sigs[i % n].verify(black_box(&digests[i % n]), &public));
            }),
        ),
    ];

    println!(
        "{:<34} {:>12} {:>12} {:>10}",
        "operation", "ops/s", "µs/op", "ops"
    );
    for (name, (rate, count)) in rows {
        println!("{name:<34} {rate:>12.0} {:>12.1} {count:>10}", 1e6 / rate);
    }
}
