//! AWS Nitro attestation documents: the verification interface the relay calls on every
//! request, the strict parser, the chain and signature verifier, the relay policy, and a fake
//! attestor for tests and the local demo.
//!
//! The relay computes the user data a document must carry for the received params and asks an
//! [`AttestationVerifier`] whether the document is trustworthy and carries one of them.
//!
//! Verification runs in three steps with distinct types: [`parse`] gives an unverified
//! [`ParsedDocument`]; [`NitroVerifier::verify_document_at`] checks the chain (pinned root,
//! AWS order, validity at the verification time) and the ES384 signature and gives a
//! [`VerifiedDocument`]; [`Policy::check`] applies freshness, debug refusal, trusted PCRs and
//! the user-data binding to that verified document only.

mod cache;
mod cbor;
pub mod chain;
pub mod clock;
pub mod cose;
pub mod document;
pub mod error;
pub mod fake;
pub mod limits;
pub mod policy;
pub mod verifier;

pub use chain::{AWS_NITRO_ROOT_G1_SHA256, TrustRoot};
pub use clock::{Clock, FixedClock, SystemClock};
pub use document::{ParsedDocument, Payload, fuzz_parse, parse};
pub use error::{CertificateError, ConfigError, FormatError, Problem, Rejection, SignatureError};
pub use policy::{PcrSet, PcrValue, Policy, parse_trusted_pcrs_json};
pub use verifier::{NitroVerifier, VerifiedDocument};

/// Verifies an attestation document for one request.
///
/// `document` is the decoded COSE_Sign1 bytes. `user_data_candidates` are the values the
/// document's `user_data` may equal (the relay offers the hash of each canonical params form);
/// the document is accepted when it matches any of them and passes every other check.
pub trait AttestationVerifier: Send + Sync {
    /// Accepts the document or says why not.
    fn verify(&self, document: &[u8], user_data_candidates: &[&[u8]]) -> Result<(), Rejection>;
}
