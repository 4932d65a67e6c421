//! The certificate chain: the pinned trust root, the AWS-ordered walk from `cabundle[0]` to the
//! leaf, and the leaf key the COSE signature is checked with.
//!
//! Path validation (signatures, name chaining, basic constraints, pathLen, unknown critical
//! extensions) is delegated to `rustls-webpki` with the aws-lc-rs ECDSA P-384 algorithm only;
//! the Nitro-specific rules it does not enforce (byte-pinned root, fixed AWS order, validity of
//! the root itself, key usage, signature algorithm, leaf curve, duplicate extensions, trailing
//! bytes) are checked here with `x509-parser`.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, ParsedPublicKey, UnparsedPublicKey};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA384,
};

use super::error::{CertificateError, ConfigError, Rejection};

/// The AWS Nitro Enclaves Root-G1 certificate (public; distributed by AWS).
const AWS_NITRO_ROOT_G1_DER: &[u8] = include_bytes!("aws_nitro_root_g1.der");

/// DER SHA-256 of the AWS Nitro Root-G1 (`nitro-attestation.md` §4). Not the hash AWS prints,
/// which is of the ZIP file.
pub const AWS_NITRO_ROOT_G1_SHA256: &str =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// The certificate `cabundle[0]` must equal byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    der: Vec<u8>,
    is_aws: bool,
}

impl TrustRoot {
    /// The embedded AWS Nitro Root-G1, checked against its pinned SHA-256.
    pub fn aws_nitro_root_g1() -> Result<Self, ConfigError> {
        let root = Self {
            der: AWS_NITRO_ROOT_G1_DER.to_vec(),
            is_aws: true,
        };
        if root.sha256_hex() != AWS_NITRO_ROOT_G1_SHA256 {
            return Err(ConfigError::TrustRoot(
                "embedded AWS root does not match its pinned SHA-256".into(),
            ));
        }
        Ok(root)
    }

    /// [`TrustRoot::insecure_custom_root`] from the first `CERTIFICATE` block of a PEM file.
    pub fn insecure_custom_root_pem(
        pem: &[u8],
        expected_sha256_hex: Option<&str>,
    ) -> Result<Self, ConfigError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let der = CertificateDer::from_pem_slice(pem).map_err(|e| {
            ConfigError::TrustRoot(format!("no readable CERTIFICATE block in the PEM: {e}"))
        })?;
        Self::insecure_custom_root(der.as_ref().to_vec(), expected_sha256_hex)
    }

    /// A root other than AWS (tests, the local demo): documents from real enclaves will be
    /// refused. `expected_sha256_hex`, when given, must match (pins a configured file).
    pub fn insecure_custom_root(
        der: Vec<u8>,
        expected_sha256_hex: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let root = Self { der, is_aws: false };
        let cert = parse_der(&root.der, 0)
            .map_err(|e| ConfigError::TrustRoot(format!("not a DER certificate: {e}")))?;
        if cert.public_key().algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
            return Err(ConfigError::TrustRoot("key is not ECDSA".into()));
        }
        if let Some(expected) = expected_sha256_hex
            && !root.sha256_hex().eq_ignore_ascii_case(expected)
        {
            return Err(ConfigError::TrustRoot(format!(
                "SHA-256 {} differs from the pinned {expected}",
                root.sha256_hex()
            )));
        }
        Ok(root)
    }

    /// The root's DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether this is the embedded AWS root (service start-up warns otherwise).
    pub fn is_aws(&self) -> bool {
        self.is_aws
    }

    /// Lower-case hex SHA-256 of the DER.
    pub fn sha256_hex(&self) -> String {
        hex::encode(digest::digest(&digest::SHA256, &self.der))
    }
}

/// A chain that verified: the leaf key and the window in which every certificate is valid.
#[derive(Debug)]
pub(crate) struct VerifiedChain {
    /// The leaf's P-384 key, parsed once.
    pub(crate) leaf_key: ParsedPublicKey,
    /// Latest notBefore over every certificate (Unix seconds).
    pub(crate) not_before: i64,
    /// Earliest notAfter over every certificate (Unix seconds).
    pub(crate) not_after: i64,
}

fn chain_err(index: usize, cause: &'static str) -> Rejection {
    Rejection::ChainInvalid(CertificateError {
        index: Some(index),
        cause,
    })
}

fn parse_der(der: &[u8], index: usize) -> Result<X509Certificate<'_>, Rejection> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) if !rest.is_empty() => Err(chain_err(index, "trailing bytes after DER")),
        Ok((_, cert)) => Ok(cert),
        Err(_) => Err(chain_err(index, "not a parseable X.509 certificate")),
    }
}

/// Verifies `cabundle` then `leaf` against `root` at `now_s` (Unix seconds).
pub(crate) fn verify_chain(
    root: &TrustRoot,
    leaf: &[u8],
    cabundle: &[&[u8]],
    now_s: u64,
) -> Result<VerifiedChain, Rejection> {
    if cabundle.first().copied() != Some(root.der()) {
        return Err(Rejection::UntrustedRoot);
    }
    let ders: Vec<&[u8]> = cabundle.iter().copied().chain([leaf]).collect();
    let leaf_index = cabundle.len();
    let mut certs = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        certs.push(parse_der(der, i)?);
    }
    let mut not_before = i64::MIN;
    let mut not_after = i64::MAX;
    let mut previous: Option<&X509Certificate<'_>> = None;
    for (i, cert) in certs.iter().enumerate() {
        check_common(cert, i)?;
        if i == leaf_index {
            check_leaf(cert, i)?;
        } else {
            check_ca(cert, i, leaf_index - i - 1)?;
        }
        if let Some(parent) = previous
            && cert.issuer().as_raw() != parent.subject().as_raw()
        {
            return Err(chain_err(
                i,
                "issuer differs from the previous certificate's subject",
            ));
        }
        previous = Some(cert);
        not_before = not_before.max(cert.validity().not_before.timestamp());
        not_after = not_after.min(cert.validity().not_after.timestamp());
    }
    let now = i64::try_from(now_s).unwrap_or(i64::MAX);
    for (i, cert) in certs.iter().enumerate() {
        let validity = cert.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return Err(Rejection::Expired(CertificateError {
                index: Some(i),
                cause: if now < validity.not_before.timestamp() {
                    "not yet valid"
                } else {
                    "expired"
                },
            }));
        }
    }
    webpki_path(root, leaf, cabundle, now_s)?;
    let spki = certs
        .last()
        .map(|c| c.public_key().subject_public_key.data.as_ref())
        .unwrap_or_default();
    let leaf_key = UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, spki)
        .parse()
        .map_err(|_| chain_err(leaf_index, "leaf key is not a valid P-384 point"))?;
    Ok(VerifiedChain {
        leaf_key,
        not_before,
        not_after,
    })
}

fn check_common(cert: &X509Certificate<'_>, i: usize) -> Result<(), Rejection> {
    if cert.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA384
        || cert.tbs_certificate.signature.algorithm != OID_SIG_ECDSA_WITH_SHA384
    {
        return Err(chain_err(i, "signature algorithm is not ecdsa-with-SHA384"));
    }
    let key = cert.public_key();
    let curve = key
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    if key.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve != Some(OID_NIST_EC_P384) {
        return Err(chain_err(i, "key is not EC P-384"));
    }
    let extensions = cert.extensions();
    for (n, ext) in extensions.iter().enumerate() {
        if extensions
            .iter()
            .skip(n + 1)
            .any(|other| other.oid == ext.oid)
        {
            return Err(chain_err(i, "duplicate extension"));
        }
    }
    Ok(())
}

fn check_ca(cert: &X509Certificate<'_>, i: usize, cas_below: usize) -> Result<(), Rejection> {
    let bc = cert
        .basic_constraints()
        .map_err(|_| chain_err(i, "invalid basicConstraints"))?
        .ok_or(chain_err(i, "CA without basicConstraints"))?;
    if !bc.critical || !bc.value.ca {
        return Err(chain_err(
            i,
            "CA basicConstraints not critical with cA=true",
        ));
    }
    if let Some(len) = bc.value.path_len_constraint
        && (len as usize) < cas_below
    {
        return Err(chain_err(i, "pathLen exceeded"));
    }
    let ku = cert
        .key_usage()
        .map_err(|_| chain_err(i, "invalid keyUsage"))?
        .ok_or(chain_err(i, "CA without keyUsage"))?;
    if !ku.value.key_cert_sign() {
        return Err(chain_err(i, "CA keyUsage lacks keyCertSign"));
    }
    Ok(())
}

fn check_leaf(cert: &X509Certificate<'_>, i: usize) -> Result<(), Rejection> {
    let bc = cert
        .basic_constraints()
        .map_err(|_| chain_err(i, "invalid basicConstraints"))?;
    if let Some(bc) = bc
        && (bc.value.ca || bc.value.path_len_constraint.is_some())
    {
        return Err(chain_err(i, "leaf is a CA"));
    }
    let ku = cert
        .key_usage()
        .map_err(|_| chain_err(i, "invalid keyUsage"))?
        .ok_or(chain_err(i, "leaf without keyUsage"))?;
    if !ku.value.digital_signature() {
        return Err(chain_err(i, "leaf keyUsage lacks digitalSignature"));
    }
    Ok(())
}

fn webpki_path(
    root: &TrustRoot,
    leaf: &[u8],
    cabundle: &[&[u8]],
    now_s: u64,
) -> Result<(), Rejection> {
    let path_err = |cause| Rejection::ChainInvalid(CertificateError { index: None, cause });
    let root_der = CertificateDer::from(root.der());
    let anchor =
        webpki::anchor_from_trusted_cert(&root_der).map_err(|e| path_err(webpki_cause(&e)))?;
    let leaf_der = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| path_err(webpki_cause(&e)))?;
    let intermediates: Vec<CertificateDer<'_>> = cabundle
        .iter()
        .skip(1)
        .map(|der| CertificateDer::from(*der))
        .collect();
    let expected = cabundle.get(1..).unwrap_or_default();
    let same_order = |path: &VerifiedPath<'_>| {
        let walked: Vec<CertificateDer<'_>> =
            path.intermediate_certificates().map(|c| c.der()).collect();
        // webpki lists the path from the leaf's issuer upward; AWS order is root-first.
        if walked.len() == expected.len()
            && walked
                .iter()
                .rev()
                .zip(expected)
                .all(|(w, e)| w.as_ref() == *e)
        {
            Ok(())
        } else {
            Err(webpki::Error::UnknownIssuer)
        }
    };
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now_s));
    ee.verify_for_usage(
        &[webpki::aws_lc_rs::ECDSA_P384_SHA384],
        &[anchor],
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        Some(&same_order),
    )
    .map(|_| ())
    .map_err(|e| match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            Rejection::Expired(CertificateError {
                index: None,
                cause: webpki_cause(&e),
            })
        }
        _ => path_err(webpki_cause(&e)),
    })
}

fn webpki_cause(e: &webpki::Error) -> &'static str {
    use webpki::Error as E;
    match e {
        E::BadDer | E::BadDerTime | E::TrailingData(_) => "bad DER",
        E::CertExpired { .. } => "expired",
        E::CertNotValidYet { .. } => "not yet valid",
        E::CaUsedAsEndEntity => "CA used as end entity",
        E::EndEntityUsedAsCa => "end entity used as CA",
        E::InvalidSignatureForPublicKey => "certificate signature invalid",
        E::PathLenConstraintViolated => "pathLen exceeded",
        E::UnknownIssuer => "no path from the root in AWS order",
        E::UnsupportedCriticalExtension => "unknown critical extension",
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "unsupported signature algorithm"
        }
        E::RequiredEkuNotFoundContext(_) => "leaf EKU excludes signing",
        E::ExtensionValueInvalid | E::MalformedExtensions => "invalid extension",
        E::UnsupportedCertVersion => "unsupported certificate version",
        E::InvalidSerialNumber => "invalid serial number",
        E::MaximumPathDepthExceeded | E::MaximumPathBuildCallsExceeded => "path too long",
        _ => "path validation failed",
    }
}

/// Verifies that `issuer_der`'s key signed `cert_der` with ecdsa-with-SHA384 (the certificate
/// signature check of the chain walk, exposed for checking CA-only chains such as AWS's
/// published ones). DER signatures with short `r`/`s` are accepted.
pub fn verify_certificate_signature(issuer_der: &[u8], cert_der: &[u8]) -> Result<(), Rejection> {
    let issuer = parse_der(issuer_der, 0)?;
    let cert = parse_der(cert_der, 1)?;
    check_common(&issuer, 0)?;
    check_common(&cert, 1)?;
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(chain_err(
            1,
            "issuer differs from the previous certificate's subject",
        ));
    }
    UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
        issuer.public_key().subject_public_key.data.as_ref(),
    )
    .verify(
        cert.tbs_certificate.as_ref(),
        cert.signature_value.data.as_ref(),
    )
    .map_err(|_| chain_err(1, "certificate signature invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["x".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn certificate_signature_algorithm_other_than_ecdsa_sha384_is_rejected() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P521_SHA512,
        ] {
            let der = self_signed(alg);
            let cert = parse_der(&der, 3).unwrap();
            assert_eq!(
                check_common(&cert, 3),
                Err(chain_err(3, "signature algorithm is not ecdsa-with-SHA384"))
            );
        }
        let der = self_signed(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(check_common(&parse_der(&der, 0).unwrap(), 0), Ok(()));
    }

    #[test]
    fn embedded_root_matches_its_pin() {
        let root = TrustRoot::aws_nitro_root_g1().unwrap();
        assert_eq!(root.sha256_hex(), AWS_NITRO_ROOT_G1_SHA256);
        assert!(
            TrustRoot::insecure_custom_root(root.der().to_vec(), Some(AWS_NITRO_ROOT_G1_SHA256))
                .is_ok()
        );
        assert!(TrustRoot::insecure_custom_root(vec![0x30, 0x00], None).is_err());
    }
}
