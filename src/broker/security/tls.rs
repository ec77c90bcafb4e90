//! TLS for the SSL and SASL_SSL listeners: rustls (ring provider) configured from PEM files,
//! and the principal of a client certificate when client authentication is required.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::SecurityError;

/// `--tls-cert`, `--tls-key` and `--tls-client-ca`.
#[derive(Clone, Debug, Default)]
pub struct TlsFiles {
    /// PEM: the server certificate, then any intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: CA certificates that sign client certificates; when set, every TLS client must
    /// present a certificate they signed.
    pub client_ca: Option<PathBuf>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
    let bad = |reason: String| SecurityError::Tls {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into()
        ));
    }
    Ok(certs)
}

/// Builds the acceptor shared by every TLS listener.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, SecurityError> {
    let certs = read_certs(&files.cert, "certificate")?;
    // The error of a key file never quotes its content.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| SecurityError::Tls {
        what: "private key",
        path: files.key.clone(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM private key (PKCS#8, PKCS#1 or SEC1) in the file".to_string()
            }
            rustls::pki_types::pem::Error::Io(e) => e.to_string(),
            _ => "the PEM private key cannot be decoded".to_string(),
        },
    })?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SecurityError::TlsSetup(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca, "client CA")? {
                roots.add(cert).map_err(|e| SecurityError::Tls {
                    what: "client CA",
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| SecurityError::Tls {
                    what: "client CA",
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| SecurityError::Tls {
        what: "certificate and key",
        path: files.cert.clone(),
        reason: e.to_string(),
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Kafka's principal of a TLS client: `User:` and the subject of its certificate.
pub fn client_principal(conn: &rustls::ServerConnection) -> Option<String> {
    let cert = conn.peer_certificates()?.first()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(format!("User:{}", parsed.subject()))
}
