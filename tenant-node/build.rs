//! Link flags for the `tenant-node` executable: pack relative relocations (DT_RELR, glibc ≥ 2.36),
//! so the loader reads a few KiB of relocation data at start instead of ~700 KiB.

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
