//! The `devchain` binary: `init` writes a valid genesis (TOML) and prints the demo keys as JSON.

use std::process::Command;

#[test]
fn init_writes_a_valid_genesis_and_prints_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("genesis.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_devchain"))
        .args(["init", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let chairman = &keys["keys"]["chairman"];
    let private: chain::keys::PrivateKey =
        chairman["private_key"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        private.public_key().to_string(),
        chairman["public_key"].as_str().unwrap()
    );
    let genesis = devchain::Genesis::load(&out).unwrap();
    assert_eq!(
        genesis.chain_id.to_string(),
        keys["chain_id"].as_str().unwrap()
    );
    assert_eq!(genesis.cooperatives.len(), 1);
    assert!(!genesis.test_controls);
    assert!(genesis.http_addr.ip().is_loopback() && genesis.ship_addr.ip().is_loopback());
    // the simulated contracts' ABIs are written beside the genesis and bound to their accounts
    for contract in ["registrator", "gateway", "soviet", "branch", "draft"] {
        assert!(
            dir.path().join(format!("abi/{contract}.abi")).exists(),
            "{contract}"
        );
        let account = genesis
            .accounts
            .iter()
            .find(|a| a.0.to_string() == contract)
            .unwrap();
        assert!(!account.2.is_empty(), "{contract} has an ABI");
    }
}
