//! Secrets at rest and bearer tokens: the master key (AES-256-GCM, from a 0600 file created on
//! first start or from `MONO_MASTER_KEY`), sealing bound to the cooperative (AAD), generated
//! tokens and passwords, and a constant-time comparison for tokens.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// The control plane's master key.
pub struct MasterKey {
    key: LessSafeKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A sealed value could not be opened (wrong master key or tampered data).
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt the stored secrets (wrong master key or corrupted data)")]
pub struct OpenError;

impl MasterKey {
    /// From 64 hex digits.
    pub fn from_hex(hex_key: &str) -> anyhow::Result<MasterKey> {
        let bytes = hex::decode(hex_key.trim()).context("master key is not hex")?;
        if bytes.len() != 32 {
            bail!("master key must be 32 bytes (64 hex digits)");
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("master key rejected by AES-256-GCM"))?;
        Ok(MasterKey {
            key: LessSafeKey::new(key),
        })
    }

    /// Reads the key file, creating it (0600, 32 random bytes as hex) when it does not exist.
    /// A key file readable by others is refused.
    pub fn load_or_create(path: &Path) -> anyhow::Result<MasterKey> {
        if !path.exists() {
            write_new_secret(path, &random_hex(32)?)?;
        }
        let meta = std::fs::metadata(path).with_context(|| format!("stat {}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "master key file {} is accessible by group or others; chmod 600 it",
                path.display()
            );
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        MasterKey::from_hex(&text).with_context(|| format!("master key file {}", path.display()))
    }

    /// `nonce || ciphertext+tag`; `aad` binds the value to its owner (the cooperative name).
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
    Ok(hex::encode(buf))
}

/// Compares two tokens without a timing side channel on their content.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Hashing first makes the comparison length-independent as well.
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// Reads a token file, creating it (0600, 32 random bytes as hex) when missing.
pub fn load_or_create_token(path: &Path) -> anyhow::Result<String> {
    if !path.exists() {
        write_new_secret(path, &random_hex(32)?)?;
    }
    let token =
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let token = token.trim().to_owned();
    if token.len() < 16 {
        bail!("token in {} is shorter than 16 characters", path.display());
    }
    Ok(token)
}

/// Creates `path` with mode 0600 (parent directories 0700) holding `secret`.
pub fn write_new_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(secret.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

/// Writes `secret` to `path` with mode 0600, replacing it atomically.
pub fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_new_secret(&tmp, secret)?;
    std::fs::rename(&tmp, path).with_context(|| format!("replace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_is_bound_to_key_and_owner() {
        let key = MasterKey::from_hex(&random_hex(32).unwrap()).unwrap();
        let sealed = key.seal("voskhod", b"secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(key.open("voskhod", &sealed).unwrap(), b"secret");
        assert!(key.open("zarya", &sealed).is_err(), "another coop's row");
        let other = MasterKey::from_hex(&random_hex(32).unwrap()).unwrap();
        assert!(other.open("voskhod", &sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open("voskhod", &tampered).is_err());
        assert!(key.open("voskhod", &[1, 2]).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp/master.key");
        let k1 = MasterKey::load_or_create(&path).unwrap();
        let sealed = k1.seal("a", b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k2 = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(k2.open("a", &sealed).unwrap(), b"x");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(MasterKey::load_or_create(&path).is_err());
        assert!(MasterKey::from_hex("abcd").is_err());
    }

    #[test]
    fn tokens_compare_by_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
