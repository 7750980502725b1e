//! Locating the shared reference data (`../shared/`) for tests.
//!
//! The shared folder sits beside the repository. Under `CI=true` a missing folder is a test
//! failure; elsewhere tests that need it say so and return early.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `<repo>/../shared` if it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/ is missing under CI=true: the shared reference data must be beside the repository");
    }
    eprintln!("note: ../shared/ not found; skipping checks that need it");
    None
}

/// Path of a file under `../shared/`, or None (see [`shared_dir`]).
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    let path = shared_dir()?.join(rel);
    assert!(
        path.exists(),
        "{} is missing from ../shared",
        path.display()
    );
    Some(path)
}

/// The wharfkit vectors: `../shared/vectors/antelope.json`, or the committed copy in a clone
/// without `../shared` (outside CI).
pub fn vectors() -> serde_json::Value {
    let path = match shared_dir() {
        Some(dir) => dir.join("vectors/antelope.json"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/antelope.json"),
    };
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors file is JSON")
}

/// All contract ABIs from `../shared/coopos/abi/` as (file stem, JSON text).
pub fn shared_abis() -> Option<Vec<(String, String)>> {
    let dir = shared_dir()?.join("coopos/abi");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read abi dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("abi") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((stem, std::fs::read_to_string(&path).expect("read abi")));
        }
    }
    out.sort();
    Some(out)
}
