//! Embeds every `V<number>__<name>.sql` file of `control-plane/` and `tenant/` into the crate.
//!
//! Generates `$OUT_DIR/embedded.rs` with one `&[Migration]` per set, sorted by version, so adding
//! a migration needs no code change. Bad file names fail the build with a clear message.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for (konst, dir) in [
        ("CONTROL_PLANE_MIGRATIONS", "control-plane"),
        ("TENANT_MIGRATIONS", "tenant"),
    ] {
        let dir_path = Path::new(&manifest).join(dir);
        println!("cargo:rerun-if-changed={}", dir_path.display());
        let mut files: Vec<(u32, String, String)> = Vec::new();
        for entry in std::fs::read_dir(&dir_path).unwrap_or_else(|e| panic!("read {dir}: {e}")) {
            let path = entry.expect("directory entry").path();
            let file = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            if !file.ends_with(".sql") {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            let stem = file.trim_end_matches(".sql");
            let (version, name) = stem
                .strip_prefix('V')
                .and_then(|rest| rest.split_once("__"))
                .unwrap_or_else(|| {
                    panic!("migration {dir}/{file}: name must be V<number>__<name>.sql")
                });
            let version: u32 = version
                .parse()
                .unwrap_or_else(|_| panic!("migration {dir}/{file}: version must be a number"));
            assert!(
                !files.iter().any(|(v, _, _)| *v == version),
                "migration {dir}/{file}: version {version} is used twice"
            );
            files.push((version, name.to_owned(), path.display().to_string()));
        }
        files.sort();
        writeln!(code, "pub(crate) static {konst}: &[Migration] = &[").unwrap();
        for (version, name, path) in files {
            writeln!(
                code,
                "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({path:?}) }},"
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(Path::new(&out_dir).join("embedded.rs"), code).expect("write embedded.rs");
}
