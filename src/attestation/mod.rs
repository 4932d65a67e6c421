//! AWS Nitro attestation documents: the verification interface the relay calls on every
//! request, and its rejection reasons.
//!
//! The relay computes the user data a document must carry for the received params and asks an
//! [`AttestationVerifier`] whether the document is trustworthy and carries one of them.

use std::fmt;

/// Verifies an attestation document for one request.
///
/// `document` is the decoded COSE_Sign1 bytes. `user_data_candidates` are the values the
/// document's `user_data` may equal (the relay offers the hash of each canonical params form);
/// the document is accepted when it matches any of them and passes every other check.
pub trait AttestationVerifier: Send + Sync {
    /// Accepts the document or says why not.
    fn verify(&self, document: &[u8], user_data_candidates: &[&[u8]]) -> Result<(), Rejection>;
}

/// Why a document was refused.
///
/// [`Rejection::reason`] is the short stable token the caller sees
/// (`attestation rejected: <token>`); `Display` gives the detailed cause, which is only logged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The document is not a well-formed Nitro attestation.
    Malformed(String),
    /// The document's `user_data` matches none of the candidates.
    UserDataMismatch,
}

impl Rejection {
    /// The stable token for this reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UserDataMismatch => "user_data_mismatch",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(detail) => write!(f, "malformed document: {detail}"),
            Self::UserDataMismatch => f.write_str("user_data matches no canonical params form"),
        }
    }
}

impl std::error::Error for Rejection {}
