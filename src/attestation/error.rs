//! The typed rejection reasons of the verifier and the configuration errors of its policy and
//! trust root. Every rejection has a short stable token ([`Rejection::reason`]) for the wire and
//! a detailed `Display` for the logs.

use thiserror::Error;

/// What is wrong with the bytes of a document (token `malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct FormatError {
    /// The element where parsing stopped (`document`, `protected`, `pcrs`, `user_data`, ...).
    pub field: &'static str,
    /// What was wrong with it.
    pub problem: Problem,
}

impl FormatError {
    /// A format error at `field`.
    pub const fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }
}

/// One way a document's encoding or content can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Problem {
    /// The input ended before the element did.
    #[error("input ends early")]
    Truncated,
    /// Bytes follow the element that should end the input.
    #[error("trailing bytes after the value")]
    TrailingBytes,
    /// A size or count is outside the allowed range.
    #[error("size {actual} outside {min}..={max}")]
    Size {
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
        /// Found (saturated for huge declared lengths).
        actual: usize,
    },
    /// The CBOR type is not the one this element requires.
    #[error("unexpected CBOR type (expected {expected})")]
    WrongType {
        /// What the element must be.
        expected: &'static str,
    },
    /// Additional-information values 28-30, which CBOR reserves.
    #[error("reserved CBOR additional information")]
    Reserved,
    /// An indefinite-length (chunked) byte or text string.
    #[error("indefinite-length string")]
    ChunkedString,
    /// A map key appears twice.
    #[error("duplicate key")]
    DuplicateKey,
    /// A required field is absent.
    #[error("required field missing")]
    Missing,
    /// Nesting deeper than the limit.
    #[error("nesting too deep")]
    TooDeep,
    /// A text string is not UTF-8.
    #[error("text is not UTF-8")]
    InvalidUtf8,
    /// The value is of the right type but not allowed (named).
    #[error("invalid value: {0}")]
    Invalid(&'static str),
}

/// A certificate of the chain that failed a check (tokens `chain_invalid`, `expired`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("certificate {}: {cause}", index.map_or_else(|| "path".to_owned(), |i| i.to_string()))]
pub struct CertificateError {
    /// Position in the chain: `0..n` is `cabundle[i]`, `n` is the leaf `certificate`;
    /// `None` when the path validator does not say which certificate failed.
    pub index: Option<usize>,
    /// The rule that failed.
    pub cause: &'static str,
}

/// Why the COSE signature was refused (token `bad_signature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// ECDSA P-384 verification of the Sig_structure failed.
    #[error("ES384 signature does not verify under the leaf key")]
    Invalid,
}

/// Why a document was refused.
///
/// [`Rejection::reason`] is the short stable token the caller sees
/// (`attestation rejected: <token>`); `Display` gives the detailed cause, which is only logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The document is not a well-formed Nitro attestation (`malformed`).
    #[error("malformed document: {0}")]
    Malformed(FormatError),
    /// `cabundle[0]` is not byte-equal to the configured trust root (`untrusted_root`).
    #[error("cabundle[0] is not the trusted root certificate")]
    UntrustedRoot,
    /// A certificate of the chain breaks a rule (`chain_invalid`).
    #[error("certificate chain invalid: {0}")]
    ChainInvalid(CertificateError),
    /// A certificate of the chain is not valid at the verification time (`expired`).
    #[error("certificate not valid at the verification time: {0}")]
    Expired(CertificateError),
    /// The COSE signature does not verify (`bad_signature`).
    #[error("COSE signature rejected: {0}")]
    BadSignature(SignatureError),
    /// PCR0-2 are all zero (a debug-mode enclave) and debug enclaves are not allowed
    /// (`debug_enclave`).
    #[error("debug-mode enclave (PCR0-2 all zero) and debug enclaves are not allowed")]
    DebugEnclave,
    /// PCRs match none of the trusted sets (`pcr_mismatch`).
    #[error("PCRs match none of the {sets} trusted set(s); first difference at PCR{index}")]
    PcrMismatch {
        /// Number of trusted sets compared.
        sets: usize,
        /// First PCR index that differed from the first trusted set.
        index: u8,
    },
    /// The document's `user_data` (possibly empty) equals none of the expected values
    /// (`user_data_mismatch`).
    #[error("user_data equals none of the expected values")]
    UserDataMismatch,
    /// The document carries no `user_data` (absent or null) (`user_data_mismatch`).
    #[error("user_data is absent or null")]
    UserDataAbsent,
    /// The document timestamp is older than the maximum age (`stale`).
    #[error("document is {age_ms} ms old, more than the allowed {max_ms} ms")]
    Stale {
        /// Age of the document at the verification time.
        age_ms: u64,
        /// The configured maximum age.
        max_ms: u64,
    },
    /// The document timestamp is further in the future than the allowed skew (`future`).
    #[error("document timestamp is {ahead_ms} ms in the future, more than the allowed {max_ms} ms")]
    Future {
        /// How far ahead of the verification time.
        ahead_ms: u64,
        /// The configured skew.
        max_ms: u64,
    },
}

impl Rejection {
    /// The stable token for this reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UntrustedRoot => "untrusted_root",
            Self::ChainInvalid(_) => "chain_invalid",
            Self::Expired(_) => "expired",
            Self::BadSignature(_) => "bad_signature",
            Self::DebugEnclave => "debug_enclave",
            Self::PcrMismatch { .. } => "pcr_mismatch",
            Self::UserDataMismatch | Self::UserDataAbsent => "user_data_mismatch",
            Self::Stale { .. } => "stale",
            Self::Future { .. } => "future",
        }
    }
}

impl From<FormatError> for Rejection {
    fn from(err: FormatError) -> Self {
        Self::Malformed(err)
    }
}

/// A verifier configuration that cannot be used (trust root, trusted PCRs, limits).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The trusted-PCR JSON is not in Chainlink's format.
    #[error("trusted PCRs: {0}")]
    TrustedPcrs(String),
    /// The trust root certificate is not usable.
    #[error("trust root: {0}")]
    TrustRoot(String),
}
