//! TLS for gateway links (rustls with the aws-lc-rs provider, chosen explicitly so no
//! process-wide provider has to be installed): the connector's client config for `wss://`
//! (Mozilla roots from webpki-roots, plus an optional extra CA file for private or dev
//! gateways; no client certificate, identity comes from the signature handshake), and the dev
//! gateway's server acceptor.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A TLS file or setting that could not be used; names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {path}: {reason}")]
pub struct TlsError {
    /// Which setting, e.g. `tls_ca_file`.
    pub what: &'static str,
    /// The file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let refuse = |reason: String| TlsError {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| refuse(err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| refuse(err.to_string()))?;
    if certs.is_empty() {
        return Err(refuse("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// The client config for `wss://` gateways: web PKI roots plus the certificates in `extra_ca`.
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        for cert in certificates("tls_ca_file", path)? {
            roots.add(cert).map_err(|err| TlsError {
                what: "tls_ca_file",
                path: path.display().to_string(),
                reason: err.to_string(),
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError {
            what: "tls",
            path: String::new(),
            reason: err.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The dev gateway's server config from a PEM certificate chain and a PEM private key.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates("tls_cert_file", cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|err| TlsError {
        what: "tls_key_file",
        path: key_file.display().to_string(),
        reason: err.to_string(),
    })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|err| TlsError {
            what: "tls_cert_file",
            path: cert_file.display().to_string(),
            reason: err.to_string(),
        })?;
    Ok(Arc::new(config))
}
