//! Finding the PostgreSQL server binaries: an explicit directory, `pg_config --bindir`, or the
//! newest `/usr/lib/postgresql/<major>/bin` (Debian's layout).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::ClusterError;

/// The server programs of one PostgreSQL installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bindir: PathBuf,
    /// Major version, e.g. 15.
    pub major: u32,
}

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

impl PgBinaries {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn has_server_tools(dir: &Path) -> bool {
    REQUIRED.iter().all(|tool| dir.join(tool).is_file())
}

/// Locates the binaries. With `explicit`, only that directory is considered.
pub fn find_binaries(explicit: Option<&Path>) -> Result<PgBinaries, ClusterError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    match explicit {
        Some(dir) => candidates.push(dir.to_path_buf()),
        None => {
            if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
                if out.status.success() {
                    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                    if !dir.is_empty() {
                        candidates.push(PathBuf::from(dir));
                    }
                }
            }
            candidates.extend(debian_bindirs());
        }
    }
    for dir in &candidates {
        if has_server_tools(dir) {
            let major = server_major(dir)?;
            return Ok(PgBinaries {
                bindir: dir.clone(),
                major,
            });
        }
    }
    let searched = if candidates.is_empty() {
        "pg_config --bindir, /usr/lib/postgresql/*/bin".to_owned()
    } else {
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(ClusterError::MissingBinaries { searched })
}

/// `/usr/lib/postgresql/<major>/bin`, newest major first.
fn debian_bindirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut majors: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    majors.into_iter().map(|(_, dir)| dir).collect()
}

/// Parses `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` into 15.
fn server_major(bindir: &Path) -> Result<u32, ClusterError> {
    let out = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .map_err(ClusterError::io(format!(
            "run {}/postgres --version",
            bindir.display()
        )))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_major(&text).ok_or_else(|| ClusterError::Command {
        action: "read the PostgreSQL version",
        detail: format!("unexpected output {:?}", text.trim()),
    })
}

fn parse_major(version_output: &str) -> Option<u32> {
    let version = version_output
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_versions() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("garbage"), None);
    }

    #[test]
    fn empty_directory_reports_the_package_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_binaries(Some(dir.path())).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("install the postgresql package"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    }
}
