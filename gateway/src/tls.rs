//! TLS termination with rustls: certificate files per domain (exact names and `*.suffix`
//! wildcards), chosen by SNI; the first configured certificate is the fallback.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{crypto, ServerConfig};

use crate::config::TlsConfig;

/// Builds the rustls server config (ALPN `h2`, `http/1.1`) from the certificate files.
pub fn server_config(config: &TlsConfig) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(crypto::ring::default_provider());
    let mut resolver = SniResolver {
        exact: HashMap::new(),
        wildcard: HashMap::new(),
        default: None,
    };
    for entry in &config.certs {
        let key = load_certified_key(&entry.cert, &entry.key, &provider)?;
        resolver.default.get_or_insert_with(|| key.clone());
        for domain in &entry.domains {
            let domain = domain.to_ascii_lowercase();
            match domain.strip_prefix("*.") {
                Some(suffix) => resolver.wildcard.insert(suffix.to_owned(), key.clone()),
                None => resolver.exact.insert(domain, key.clone()),
            };
        }
    }
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("failed to set TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &crypto::CryptoProvider,
) -> anyhow::Result<Arc<CertifiedKey>> {
    let open = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .with_context(|| format!("failed to open {}", p.display()))
    };
    let certs = rustls_pemfile::certs(&mut open(cert_path)?)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("failed to parse certificates in {}", cert_path.display()))?;
    if certs.is_empty() {
        bail!("no certificate in {}", cert_path.display());
    }
    let Some(key) = rustls_pemfile::private_key(&mut open(key_path)?)
        .with_context(|| format!("failed to parse key in {}", key_path.display()))?
    else {
        bail!("no private key in {}", key_path.display());
    };
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .with_context(|| format!("unsupported private key in {}", key_path.display()))?;
    Ok(Arc::new(CertifiedKey::new(certs, signing_key)))
}

#[derive(Debug)]
struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = hello.server_name().map(str::to_ascii_lowercase) else {
            return self.default.clone();
        };
        if let Some(key) = self.exact.get(&name) {
            return Some(key.clone());
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(key) = self.wildcard.get(parent) {
                return Some(key.clone());
            }
        }
        self.default.clone()
    }
}
