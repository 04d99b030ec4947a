//! HTTPS for `adk-sessions serve`: a certificate chain and private key from PEM files,
//! served with rustls (TLS 1.2 and 1.3, HTTP/1.1 by ALPN), and read again on SIGHUP so a
//! renewed certificate takes effect without a restart.
//!
//! Promises: the server does not start with a pair that cannot be served (a file that
//! cannot be read, no certificate, no private key, or a key that does not belong to the
//! first certificate), and names the file and the problem. A reload that fails the same
//! checks is logged and changes nothing: the server keeps the pair it had. A reload
//! applies to connections accepted after it; open connections keep the pair they began
//! with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the server's certificate chain and private key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM file of the certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM file of the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The certificate the server presents, replaced whole by [`ReloadingCert::reload`].
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    /// Reads and checks the pair in `files`; an error names the file and the problem.
    pub async fn load(files: TlsFiles) -> Result<ReloadingCert, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = read_pair(&files, &provider).await?;
        Ok(ReloadingCert {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again. On success the new pair serves every connection accepted
    /// from now on; on an error nothing changes, and the error says why.
    pub async fn reload(&self) -> Result<usize, String> {
        let key = read_pair(&self.files, &self.provider).await?;
        let chain = key.cert.len();
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(key),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(key),
        }
        Ok(chain)
    }

    /// The files this certificate is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The acceptor of the HTTPS listener: rustls with ring's safe defaults, the certificate
/// from `cert` (reloadable), ALPN `http/1.1` (the only protocol the listener speaks).
pub fn acceptor(cert: Arc<ReloadingCert>) -> Result<TlsAcceptor, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(cert.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn read_file(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("{flag} {}: cannot read it: {e}", path.display()))
}

async fn read_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_pem = read_file(&files.cert, "--tls-cert").await?;
    let key_pem = read_file(&files.key, "--tls-key").await?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert {}: not PEM: {e}", files.cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no CERTIFICATE block; give the certificate chain in PEM, the server's own certificate first",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "--tls-key {}: no private key in PEM (PKCS#8, PKCS#1 or SEC1): {e}",
            files.key.display()
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!(
            "--tls-cert {} and --tls-key {} cannot be served together: {e}",
            files.cert.display(),
            files.key.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn write(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        std::fs::write(dir.join("cert.pem"), cert).unwrap();
        std::fs::write(dir.join("key.pem"), key).unwrap();
        TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("adk-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn pairs_that_cannot_be_served_are_refused_naming_the_file() {
        let dir = temp_dir("refused");
        let (cert_a, key_a) = pair("a.example");
        let (_, key_b) = pair("b.example");
        for (cert, key, needle) in [
            ("", key_a.as_str(), "no CERTIFICATE block"),
            ("not pem at all", key_a.as_str(), "no CERTIFICATE block"),
            (cert_a.as_str(), "", "no private key"),
            (cert_a.as_str(), cert_a.as_str(), "no private key"),
            (cert_a.as_str(), key_b.as_str(), "cannot be served together"),
        ] {
            let files = write(&dir, cert, key);
            let e = ReloadingCert::load(files).await.unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(e.contains(&*dir.to_string_lossy()), "{e}");
        }
        let e = ReloadingCert::load(TlsFiles {
            cert: dir.join("missing.pem"),
            key: dir.join("key.pem"),
        })
        .await
        .unwrap_err();
        assert!(
            e.contains("--tls-cert") && e.contains("cannot read it"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_failed_reload_keeps_the_pair_in_use() {
        let dir = temp_dir("reload");
        let (cert_a, key_a) = pair("a.example");
        let files = write(&dir, &cert_a, &key_a);
        let cert = ReloadingCert::load(files).await.unwrap();
        let first = cert.current();

        let (cert_b, key_b) = pair("b.example");
        write(&dir, &cert_b, &key_a);
        assert!(cert.reload().await.is_err());
        assert!(Arc::ptr_eq(&first, &cert.current()));

        write(&dir, &cert_b, &key_b);
        assert_eq!(cert.reload().await, Ok(1));
        assert_ne!(cert.current().cert[0], first.cert[0]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
