//! Link flags for the `tenant-node` executable: pack relative relocations (DT_RELR, glibc ≥ 2.36),
//! so the loader reads a few KiB of relocation data at start instead of ~700 KiB; and, in release
//! builds, lay the code out in the order of `layout/symbol-order.txt` (recorded by
//! `layout/record.sh`): the functions an idle node runs come first, packed together, so following
//! the chain keeps a small part of the executable resident instead of pages spread over all of it.
//! `TENANT_NODE_CODE_LAYOUT=off` links in the default order (needed with a linker other than lld).

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    println!("cargo:rerun-if-env-changed=TENANT_NODE_CODE_LAYOUT");
    println!("cargo:rerun-if-changed=layout/symbol-order.txt");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let off = std::env::var("TENANT_NODE_CODE_LAYOUT").is_ok_and(|v| v == "off");
    if release && !off {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        let order = std::path::Path::new(&dir).join("layout/symbol-order.txt");
        if order.exists() {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                order.display()
            );
            // Names that no longer exist (the code changed since the recording) are skipped.
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}
