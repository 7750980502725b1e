//! The committed SDL (`tenant-node/schema.graphql`) is what `tenant-node schema` prints.

use std::process::Command;

#[test]
fn the_committed_schema_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_tenant-node"))
        .arg("schema")
        .env_remove("TENANT_NODE_CONFIG")
        .output()
        .expect("run tenant-node schema");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8 SDL");
    assert!(printed.contains("type Query"), "{printed}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == printed,
        "tenant-node/schema.graphql is out of date with the GraphQL schema.\n\
         Update it with:  cargo run -p tenant-node -- schema > tenant-node/schema.graphql\n\
         and review the diff (clients depend on it)."
    );
}
