//! `mono chain …` over the real binary: every subcommand reproduces the wharfkit vectors, and bad
//! input gives a clear error on stderr with a non-zero exit (never a panic).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "../shared is missing under CI=true"
    );
    eprintln!("note: ../shared not found; ABI checks skipped");
    None
}

fn vectors() -> Value {
    let path = match shared() {
        Some(dir) => dir.join("vectors/antelope.json"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chain/tests/data/antelope.json"),
    };
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `mono chain <args>`; returns parsed stdout JSON, or the stderr text on failure.
fn chain(args: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mono"))
        .arg("chain")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "mono panicked: {stderr}");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("stdout is JSON"))
    } else {
        Err(stderr)
    }
}

#[test]
fn key_new_and_show_agree() {
    let new = chain(&["key", "new"]).unwrap();
    for field in ["wif", "pvt_k1", "pub_k1", "legacy"] {
        assert!(new[field].is_string(), "{field} missing: {new}");
    }
    for form in ["wif", "pvt_k1"] {
        assert_eq!(
            chain(&["key", "show", new[form].as_str().unwrap()]).unwrap(),
            new
        );
    }
    let public = chain(&["key", "show", new["legacy"].as_str().unwrap()]).unwrap();
    assert_eq!(
        public,
        json!({ "pub_k1": new["pub_k1"], "legacy": new["legacy"] })
    );
}

#[test]
fn key_show_reproduces_every_vector_key() {
    for key in vectors()["keys"].as_array().unwrap() {
        for form in ["wif", "pvt_k1"] {
            let shown = chain(&["key", "show", key[form].as_str().unwrap()]).unwrap();
            for field in ["wif", "pvt_k1", "pub_k1", "legacy"] {
                assert_eq!(shown[field], key[field], "{form} -> {field}");
            }
        }
        let shown = chain(&["key", "show", key["pub_k1"].as_str().unwrap()]).unwrap();
        assert_eq!(shown["legacy"], key["legacy"]);
    }
}

#[test]
fn sign_and_recover_reproduce_the_vectors() {
    for sig in vectors()["signatures"].as_array().unwrap().iter().take(6) {
        let digest = sig["digest"].as_str().unwrap();
        let signed = chain(&[
            "sign",
            "--key",
            sig["wif"].as_str().unwrap(),
            "--digest",
            digest,
        ])
        .unwrap();
        assert_eq!(signed["signature"], sig["signature"]);
        let recovered = chain(&[
            "recover",
            "--digest",
            digest,
            "--signature",
            sig["signature"].as_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(recovered["pub_k1"], sig["recovers_to"]);
    }
}

#[test]
fn trx_sign_reproduces_the_transaction_vector() {
    let v = vectors()["transaction"].clone();
    let actions: Vec<Value> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!({
                "account": a["account"], "name": a["name"],
                "authorization": a["authorization"], "data": a["data_hex"],
            })
        })
        .collect();
    let trx = json!({
        "expiration": v["header"]["expiration"],
        "ref_block_num": v["header"]["ref_block_num"],
        "ref_block_prefix": v["header"]["ref_block_prefix"],
        "actions": actions,
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trx.json");
    std::fs::write(&file, trx.to_string()).unwrap();
    let key_file = dir.path().join("key");
    let wif = v["signer_wif"]
        .as_str()
        .expect("the vector names its signing key");
    std::fs::write(&key_file, wif).unwrap();

    let out = chain(&[
        "trx",
        "sign",
        "--chain-id",
        v["chain_id"].as_str().unwrap(),
        "--key",
        wif,
        "--trx",
        &format!("@{}", file.display()),
    ])
    .unwrap();
    assert_eq!(out["packed_trx"], v["packed_trx"]);
    assert_eq!(out["id"], v["id"]);
    assert_eq!(out["signing_digest"], v["signing_digest"]);
    assert_eq!(out["signature"], v["signature"]);
    // The key may come from a file instead of the command line.
    let from_file = chain(&[
        "trx",
        "sign",
        "--chain-id",
        v["chain_id"].as_str().unwrap(),
        "--key",
        &format!("@{}", key_file.display()),
        "--trx",
        &trx.to_string(),
    ])
    .unwrap();
    assert_eq!(from_file["signature"], v["signature"]);
}

#[test]
fn abi_encode_and_decode_reproduce_the_action_vectors() {
    let Some(shared) = shared() else { return };
    for action in vectors()["actions"].as_array().unwrap() {
        let abi = shared.join(format!(
            "coopos/abi/{}.abi",
            action["contract"].as_str().unwrap()
        ));
        let abi = abi.to_str().unwrap();
        let name = action["action"].as_str().unwrap();
        let encoded = chain(&[
            "abi",
            "encode",
            "--abi",
            abi,
            "--type",
            name,
            "--json",
            &action["data"].to_string(),
        ])
        .unwrap();
        assert_eq!(encoded["hex"], action["hex"], "{name}");
        let decoded = chain(&[
            "abi",
            "decode",
            "--abi",
            abi,
            "--type",
            name,
            "--hex",
            action["hex"].as_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(decoded, action["data"], "{name}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let digest = "ddd53abeac7633c063e83636726c5578f22c88b33eebd4bf98fa797447dc073d";
    let err = chain(&[
        "sign",
        "--key",
        "5JyZhmF9Fo9QYjv4CgR8z3MEQ4RTTTsHohwUR4BmPUr7AkEi9YC",
        "--digest",
        digest,
    ])
    .unwrap_err();
    assert!(err.starts_with("error: --key:"), "{err}");
    assert!(
        !err.contains("5JyZhmF9Fo9QYjv4"),
        "the key must not be echoed: {err}"
    );
    let err = chain(&[
        "sign",
        "--key",
        "5JyZhmF9Fo9QYjv4CgR8z3MEQ4RTTTsHohwUR4BmPUr7AkEi9YB",
        "--digest",
        "abc",
    ])
    .unwrap_err();
    assert!(err.contains("--digest"), "{err}");
    let err = chain(&[
        "recover",
        "--digest",
        digest,
        "--signature",
        "SIG_K1_nonsense",
    ])
    .unwrap_err();
    assert!(err.contains("--signature"), "{err}");
    let err = chain(&["key", "show", "hello"]).unwrap_err();
    assert!(err.contains("not a private or public key"), "{err}");
    let err = chain(&[
        "trx",
        "sign",
        "--chain-id",
        "00",
        "--key",
        "x",
        "--trx",
        "{}",
    ])
    .unwrap_err();
    assert!(err.contains("--chain-id"), "{err}");
    let Some(shared) = shared() else { return };
    let abi = shared.join("coopos/abi/registrator.abi");
    let abi = abi.to_str().unwrap();
    let err = chain(&[
        "abi",
        "decode",
        "--abi",
        abi,
        "--type",
        "newaccount",
        "--hex",
        "0000",
    ])
    .unwrap_err();
    assert!(
        err.contains("newaccount.coopname"),
        "the error names the field: {err}"
    );
    let err = chain(&[
        "abi",
        "encode",
        "--abi",
        abi,
        "--type",
        "nosuchthing",
        "--json",
        "{}",
    ])
    .unwrap_err();
    assert!(err.contains("no type or action"), "{err}");
    let err = chain(&[
        "abi",
        "encode",
        "--abi",
        abi,
        "--type",
        "newaccount",
        "--json",
        "{not json",
    ])
    .unwrap_err();
    assert!(err.contains("not valid JSON"), "{err}");
}
