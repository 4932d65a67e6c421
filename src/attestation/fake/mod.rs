//! A fake Nitro attestor for tests and the local demo: a generated P-384 root, three CAs and a
//! leaf shaped like AWS's (pathLen 2/1/0, leaf keyUsage digitalSignature, no EKU), minting
//! COSE_Sign1 documents with chosen PCRs, user data, timestamps and validity.
//!
//! Documents verify only under [`FakeAttestor::trust_root`], which is an
//! [`TrustRoot::insecure_custom_root`]; a verifier with the AWS root refuses them. The
//! [`mutate`] helpers produce the spec's bad inputs from any document.

pub mod cbor;
pub mod mutate;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, IsCa, KeyPair,
    KeyUsagePurpose, SignatureAlgorithm,
};
use secrecy::{ExposeSecret, SecretBox};
use thiserror::Error;

pub use cbor::Cbor;

use super::chain::TrustRoot;
use super::cose::sig_structure;

/// The protected header every real document carries: `{1: -35}`.
pub const PROTECTED_ES384: [u8; 4] = [0xa1, 0x01, 0x38, 0x22];

/// A failure while generating certificates or signing.
#[derive(Debug, Error)]
pub enum FakeError {
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Key handling or signing failed.
    #[error("signing: {0}")]
    Signing(&'static str),
}

/// The curve of the leaf key (P-384 is what AWS uses; others are bad inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeafCurve {
    /// P-384 (valid).
    #[default]
    P384,
    /// P-256 (rejected).
    P256,
    /// P-521 (rejected, must not panic).
    P521,
}

/// How to shape the generated chain. `Default` is AWS-like and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOptions {
    /// notBefore of every certificate (Unix seconds).
    pub not_before_s: i64,
    /// notAfter of the leaf (Unix seconds); CAs last one day longer.
    pub not_after_s: i64,
    /// Leaf key curve.
    pub leaf_curve: LeafCurve,
    /// Add an unknown critical extension to the leaf.
    pub leaf_unknown_critical_extension: bool,
    /// Add a second keyUsage extension to the leaf.
    pub leaf_duplicate_extension: bool,
    /// Give the instance CA (last CA) a P-256 key, so the leaf is signed ecdsa-with-SHA256.
    pub instance_ca_p256: bool,
    /// Insert an extra CA below the pathLen-0 instance CA.
    pub extra_ca_below_instance: bool,
    /// notAfter of the zonal CA (`cabundle[2]`) when it should expire before the leaf.
    pub zonal_ca_not_after_s: Option<i64>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            not_before_s: 1_700_000_000,
            not_after_s: 1_700_000_000 + 3 * 3600,
            leaf_curve: LeafCurve::P384,
            leaf_unknown_critical_extension: false,
            leaf_duplicate_extension: false,
            instance_ca_p256: false,
            extra_ca_below_instance: false,
            zonal_ca_not_after_s: None,
        }
    }
}

/// An optional byte-string payload field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Key not written.
    Absent,
    /// Written as `null`.
    Null,
    /// Written as a byte string (possibly empty).
    Bytes(Vec<u8>),
}

impl Field {
    fn entry(&self, key: &str) -> Option<(Cbor, Cbor)> {
        match self {
            Self::Absent => None,
            Self::Null => Some((Cbor::text(key), Cbor::Null)),
            Self::Bytes(b) => Some((Cbor::text(key), Cbor::Bytes(b.clone()))),
        }
    }
}

/// What to put in a minted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSpec {
    /// `module_id`.
    pub module_id: String,
    /// `timestamp` in ms.
    pub timestamp_ms: u64,
    /// `(index, value)` PCR entries in order.
    pub pcrs: Vec<(u64, Vec<u8>)>,
    /// `public_key`.
    pub public_key: Field,
    /// `user_data`.
    pub user_data: Field,
    /// `nonce`.
    pub nonce: Field,
    /// Encode the payload map with indefinite length (as AWS does since mid-2025).
    pub indefinite_map: bool,
}

impl DocumentSpec {
    /// A production-looking document: PCR0-15 with PCR0-2 = `pcr012`, the given user data.
    pub fn new(pcr012: [[u8; 48]; 3], user_data: &[u8], timestamp_ms: u64) -> Self {
        let pcrs = (0..16u64)
            .map(|i| {
                let value = match usize::try_from(i).ok().and_then(|i| pcr012.get(i)) {
                    Some(v) => v.to_vec(),
                    None => vec![0u8; 48],
                };
                (i, value)
            })
            .collect();
        Self {
            module_id: "i-0123456789abcdef0-enc0123456789abcdef".into(),
            timestamp_ms,
            pcrs,
            public_key: Field::Null,
            user_data: Field::Bytes(user_data.to_vec()),
            nonce: Field::Null,
            indefinite_map: false,
        }
    }
}

/// A generated CA hierarchy and leaf key that mint documents.
pub struct FakeAttestor {
    cabundle: Vec<Vec<u8>>,
    leaf_der: Vec<u8>,
    signing_pkcs8: SecretBox<Vec<u8>>,
    options: ChainOptions,
}

impl std::fmt::Debug for FakeAttestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAttestor")
            .field("cabundle_len", &self.cabundle.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn time(secs: i64) -> Result<time::OffsetDateTime, FakeError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| FakeError::Signing("bad time"))
}

fn params(
    cn: &str,
    nb: i64,
    na: i64,
    ca: Option<BasicConstraints>,
) -> Result<CertificateParams, FakeError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CountryName, "US");
    p.distinguished_name
        .push(DnType::OrganizationName, "Fake Nitro");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = time(nb)?;
    p.not_after = time(na)?;
    match ca {
        Some(bc) => {
            p.is_ca = IsCa::Ca(bc);
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
            ];
        }
        None => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
    }
    Ok(p)
}

fn key(alg: &'static SignatureAlgorithm) -> Result<KeyPair, FakeError> {
    Ok(KeyPair::generate_for(alg)?)
}

impl FakeAttestor {
    /// An AWS-shaped valid chain with the default options.
    pub fn new() -> Result<Self, FakeError> {
        Self::with_options(ChainOptions::default())
    }

    /// A chain valid from `not_before_s` to `not_after_s` (leaf), otherwise default.
    pub fn valid_between(not_before_s: i64, not_after_s: i64) -> Result<Self, FakeError> {
        Self::with_options(ChainOptions {
            not_before_s,
            not_after_s,
            ..ChainOptions::default()
        })
    }

    /// A chain shaped by `options`.
    pub fn with_options(options: ChainOptions) -> Result<Self, FakeError> {
        let nb = options.not_before_s;
        let ca_na = options.not_after_s.saturating_add(86_400);
        let p384 = &rcgen::PKCS_ECDSA_P384_SHA384;
        let root = CertifiedIssuer::self_signed(
            params(
                "fake-nitro-root",
                nb,
                ca_na,
                Some(BasicConstraints::Unconstrained),
            )?,
            key(p384)?,
        )?;
        let mut cabundle = vec![root.der().to_vec()];
        let mut layers = vec![("fake-regional", 2u8, p384), ("fake-zonal", 1, p384)];
        let instance_alg = if options.instance_ca_p256 {
            &rcgen::PKCS_ECDSA_P256_SHA256
        } else {
            p384
        };
        layers.push(("fake-instance", 0, instance_alg));
        if options.extra_ca_below_instance {
            layers.push(("fake-extra", 0, p384));
        }
        let mut issuer = root;
        for (cn, path_len, alg) in layers {
            let na = match (cn, options.zonal_ca_not_after_s) {
                ("fake-zonal", Some(na)) => na,
                _ => ca_na,
            };
            let next = CertifiedIssuer::signed_by(
                params(cn, nb, na, Some(BasicConstraints::Constrained(path_len)))?,
                key(alg)?,
                &issuer,
            )?;
            cabundle.push(next.der().to_vec());
            issuer = next;
        }
        let mut leaf_params = params("fake-enclave.aws", nb, options.not_after_s, None)?;
        if options.leaf_unknown_critical_extension {
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
            ext.set_criticality(true);
            leaf_params.custom_extensions.push(ext);
        }
        if options.leaf_duplicate_extension {
            // A second keyUsage (2.5.29.15) = digitalSignature.
            let ext =
                CustomExtension::from_oid_content(&[2, 5, 29, 15], vec![0x03, 0x02, 0x07, 0x80]);
            leaf_params.custom_extensions.push(ext);
        }
        let leaf_alg = match options.leaf_curve {
            LeafCurve::P384 => p384,
            LeafCurve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            LeafCurve::P521 => &rcgen::PKCS_ECDSA_P521_SHA512,
        };
        let leaf_key = key(leaf_alg)?;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;
        // A leaf on another curve cannot sign ES384; documents then carry a signature by an
        // unrelated P-384 key, which the verifier never reaches (the leaf curve is refused first).
        let signing_key = match options.leaf_curve {
            LeafCurve::P384 => leaf_key,
            _ => key(p384)?,
        };
        Ok(Self {
            cabundle,
            leaf_der: leaf.der().to_vec(),
            signing_pkcs8: SecretBox::new(Box::new(signing_key.serialize_der())),
            options,
        })
    }

    /// The root certificate DER (`cabundle[0]`).
    pub fn root_der(&self) -> &[u8] {
        self.cabundle.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// The trust root a verifier must be given to accept this attestor's documents.
    pub fn trust_root(&self) -> Result<TrustRoot, crate::attestation::ConfigError> {
        TrustRoot::insecure_custom_root(self.root_der().to_vec(), None)
    }

    /// The cabundle `[root, regional, zonal, instance]` DERs.
    pub fn cabundle(&self) -> &[Vec<u8>] {
        &self.cabundle
    }

    /// The leaf certificate DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// The payload map entries of `spec` with this attestor's certificate and cabundle, in AWS
    /// order; tests edit them to build signed bad inputs.
    pub fn payload_entries(&self, spec: &DocumentSpec) -> Vec<(Cbor, Cbor)> {
        let pcrs = spec
            .pcrs
            .iter()
            .map(|(i, v)| (Cbor::Uint(*i), Cbor::Bytes(v.clone())))
            .collect();
        let cabundle = self
            .cabundle
            .iter()
            .map(|c| Cbor::Bytes(c.clone()))
            .collect();
        let mut entries = vec![
            (Cbor::text("module_id"), Cbor::text(&spec.module_id)),
            (Cbor::text("digest"), Cbor::text("SHA384")),
            (Cbor::text("timestamp"), Cbor::Uint(spec.timestamp_ms)),
            (Cbor::text("pcrs"), Cbor::Map(pcrs)),
            (
                Cbor::text("certificate"),
                Cbor::Bytes(self.leaf_der.clone()),
            ),
            (Cbor::text("cabundle"), Cbor::Array(cabundle)),
        ];
        entries.extend(spec.public_key.entry("public_key"));
        entries.extend(spec.user_data.entry("user_data"));
        entries.extend(spec.nonce.entry("nonce"));
        entries
    }

    /// Mints a signed document for `spec`.
    pub fn mint(&self, spec: &DocumentSpec) -> Result<Vec<u8>, FakeError> {
        let entries = self.payload_entries(spec);
        let map = if spec.indefinite_map {
            Cbor::IndefMap(entries)
        } else {
            Cbor::Map(entries)
        };
        self.sign_payload(&map.encode())
    }

    /// Wraps `payload` in an untagged COSE_Sign1 with the ES384 protected header, signed.
    pub fn sign_payload(&self, payload: &[u8]) -> Result<Vec<u8>, FakeError> {
        self.sign_with_protected(&PROTECTED_ES384, payload)
    }

    /// Signs `payload` under an arbitrary protected header (bad-input tests).
    pub fn sign_with_protected(
        &self,
        protected: &[u8],
        payload: &[u8],
    ) -> Result<Vec<u8>, FakeError> {
        let signature = self.signature(protected, payload)?;
        Ok(Cbor::Array(vec![
            Cbor::Bytes(protected.to_vec()),
            Cbor::Map(vec![]),
            Cbor::Bytes(payload.to_vec()),
            Cbor::Bytes(signature),
        ])
        .encode())
    }

    /// The raw `r || s` ES384 signature over the Sig_structure.
    pub fn signature(&self, protected: &[u8], payload: &[u8]) -> Result<Vec<u8>, FakeError> {
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            self.signing_pkcs8.expose_secret(),
        )
        .map_err(|_| FakeError::Signing("leaf key rejected"))?;
        let sig = key
            .sign(&SystemRandom::new(), &sig_structure(protected, payload))
            .map_err(|_| FakeError::Signing("ECDSA signing failed"))?;
        Ok(sig.as_ref().to_vec())
    }

    /// The leaf's uncompressed public key point (SEC1).
    pub fn signing_public_key(&self) -> Result<Vec<u8>, FakeError> {
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            self.signing_pkcs8.expose_secret(),
        )
        .map_err(|_| FakeError::Signing("leaf key rejected"))?;
        Ok(key.public_key().as_ref().to_vec())
    }
}
