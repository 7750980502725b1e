//! The tenant node's container image, made without pulling anything: a root filesystem tarball
//! with the `tenant-node` binary, exactly the shared libraries `ldd` lists (and the dynamic
//! loader), an `/etc/passwd` with the non-root user the node runs as, and empty `/work` and
//! `/tmp` mount points. The tarball is deterministic (owner root, mtime 0, sorted), so the same
//! binary always gives the same image; the image is tagged by the binary's SHA-256.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};

/// The image repository (the tag is the binary's SHA-256).
pub const IMAGE_REPO: &str = "mono/tenant-node";
/// Where the binary is in the image.
pub const NODE_PATH: &str = "/tenant-node";
/// The node's working directory in the container (the cooperative's directory is mounted here).
pub const WORKDIR: &str = "/work";
/// The image's non-root user and group.
pub const NODE_UID: u32 = 10001;

/// SHA-256 of a file, as 64 hex digits.
pub fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The image reference for a binary with SHA-256 `digest`.
pub fn image_ref(digest: &str) -> String {
    format!("{IMAGE_REPO}:{digest}")
}

/// The absolute library paths in `ldd`'s output (the loader included, the vDSO skipped).
/// A library `ldd` cannot find is an error: the image would not start.
pub fn parse_ldd(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("statically linked") {
            continue;
        }
        let target = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    bail!("ldd: library {} not found", name.trim());
                }
                rest
            }
            None => line,
        };
        let path = target.split_whitespace().next().unwrap_or_default();
        if path.starts_with('/') {
            let path = PathBuf::from(path);
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    Ok(paths)
}

/// The libraries `binary` needs, from `ldd` (none for a static binary).
pub fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = std::process::Command::new("ldd")
        .arg(binary)
        .stdin(std::process::Stdio::null())
        .output()
        .context("run ldd (from libc-bin) to list the node's shared libraries")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stdout.contains("not a dynamic executable")
            || stderr.contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        bail!("ldd {}: {}", binary.display(), stderr.trim());
    }
    parse_ldd(&stdout)
}

/// One regular file of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Absolute path in the image.
    pub path: PathBuf,
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// The root filesystem of the node image for `binary` and its `libraries` (read from the host,
/// symbolic links followed, stored under the path `ldd` printed).
pub fn rootfs_files(binary: &Path, libraries: &[PathBuf]) -> anyhow::Result<Vec<ImageFile>> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("read {}", p.display()));
    let mut files = vec![
        ImageFile {
            path: NODE_PATH.into(),
            mode: 0o755,
            contents: read(binary)?,
        },
        ImageFile {
            path: "/etc/passwd".into(),
            mode: 0o644,
            contents: format!(
                "root:x:0:0:root:/root:/sbin/nologin\n\
                 mono:x:{NODE_UID}:{NODE_UID}:MONO tenant node:{WORKDIR}:/sbin/nologin\n"
            )
            .into_bytes(),
        },
        ImageFile {
            path: "/etc/group".into(),
            mode: 0o644,
            contents: format!("root:x:0:\nmono:x:{NODE_UID}:\n").into_bytes(),
        },
    ];
    for lib in libraries {
        files.push(ImageFile {
            path: lib.clone(),
            mode: 0o755,
            contents: read(lib)?,
        });
    }
    Ok(files)
}

/// A deterministic tarball of `files`, with their parent directories and the `/work` and
/// `/tmp` mount points.
pub fn tarball(files: &[ImageFile]) -> anyhow::Result<Vec<u8>> {
    let mut dirs = BTreeSet::from([PathBuf::from(WORKDIR), PathBuf::from("/tmp")]);
    for file in files {
        check_image_path(&file.path)?;
        dirs.extend(file.path.ancestors().skip(1).map(Path::to_path_buf));
    }
    dirs.remove(Path::new("/"));
    let mut builder = tar::Builder::new(Vec::new());
    for dir in &dirs {
        let mode = if dir == Path::new("/tmp") {
            0o1777
        } else {
            0o755
        };
        let mut header = header(tar::EntryType::Directory, mode, 0);
        builder.append_data(&mut header, relative(dir), std::io::empty())?;
    }
    let mut sorted: Vec<&ImageFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for file in sorted {
        let mut header = header(
            tar::EntryType::Regular,
            file.mode,
            file.contents.len() as u64,
        );
        builder.append_data(&mut header, relative(&file.path), file.contents.as_slice())?;
    }
    Ok(builder.into_inner()?)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix("/").unwrap_or(path).to_path_buf()
}

/// Image paths are absolute and plain (no `..`), so the tarball cannot escape its root.
fn check_image_path(path: &Path) -> anyhow::Result<()> {
    let plain = path.is_absolute()
        && path
            .components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        bail!("unsafe image path {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LDD: &str = "\tlinux-vdso.so.1 (0x00007ffd4f9f2000)\n\
        \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f01ecfc8000)\n\
        \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f01ebe1e000)\n\
        \t/lib64/ld-linux-x86-64.so.2 (0x00007f01ecffb000)\n";

    #[test]
    fn ldd_output_gives_libraries_and_loader() {
        assert_eq!(
            parse_ldd(LDD).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
        let missing = parse_ldd("\tlibssl.so.3 => not found\n").unwrap_err();
        assert!(missing.to_string().contains("libssl.so.3"), "{missing}");
    }

    #[test]
    fn tarball_is_deterministic_with_directories_and_modes() {
        let files = vec![
            ImageFile {
                path: "/lib/x/libc.so.6".into(),
                mode: 0o755,
                contents: b"libc".to_vec(),
            },
            ImageFile {
                path: NODE_PATH.into(),
                mode: 0o755,
                contents: b"\x7fELF".to_vec(),
            },
        ];
        let tar = tarball(&files).unwrap();
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(tar, tarball(&reversed).unwrap(), "order does not matter");
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "lib",
                "lib/x",
                "tmp",
                "work",
                "lib/x/libc.so.6",
                "tenant-node"
            ]
        );
        assert!(entries.iter().all(|e| e.2 == 0), "mtime 0");
        assert_eq!(entries[2].1, 0o1777, "/tmp is sticky and world-writable");
        let bad = ImageFile {
            path: "/lib/../../etc/x".into(),
            mode: 0o644,
            contents: Vec::new(),
        };
        assert!(tarball(&[bad]).is_err());
    }

    #[test]
    fn rootfs_has_a_non_root_user() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("tenant-node");
        std::fs::write(&bin, b"binary").unwrap();
        let files = rootfs_files(&bin, &[]).unwrap();
        let passwd = files.iter().find(|f| f.path == Path::new("/etc/passwd"));
        let passwd = String::from_utf8(passwd.unwrap().contents.clone()).unwrap();
        assert!(passwd.contains(&format!("mono:x:{NODE_UID}:{NODE_UID}:")));
        assert_eq!(
            file_sha256(&bin).unwrap(),
            hex::encode(Sha256::digest(b"binary"))
        );
    }
}
