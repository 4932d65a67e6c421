//! The relay stage's one error type, and its conversion to the wire [`Failure`].

use crate::attestation::Rejection;
use crate::backend::BackendError;
use crate::jsonrpc::Failure;

/// Why a relay request failed. `Display` is the full cause for the log; [`RelayError::failure`]
/// is what the caller may see.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The method is not served by the relay.
    #[error("unsupported method: {0}")]
    UnknownMethod(String),
    /// `params` is absent or `null`.
    #[error("missing params")]
    MissingParams,
    /// A param is malformed or refused; the text names the field.
    #[error("{0}")]
    InvalidParams(String),
    /// The attestation document was refused.
    #[error("attestation rejected: {reason}: {0}", reason = .0.reason())]
    AttestationRejected(Rejection),
    /// The vault refused one secret for a reason the caller can act on.
    #[error("{0}")]
    VaultUserError(String),
    /// A backend could not be reached or answered garbage.
    #[error("{context}: {source}")]
    Backend {
        /// What the relay was doing.
        context: &'static str,
        /// The backend's error.
        source: BackendError,
    },
    /// The request took longer than the configured bound.
    #[error("request timed out after {} ms", .0.as_millis())]
    TimedOut(std::time::Duration),
    /// Anything else the caller cannot fix.
    #[error("{0}")]
    Internal(String),
}

impl RelayError {
    /// The failure sent to the caller: client errors keep their text, the attestation keeps
    /// only its stable reason token, everything else becomes a masked internal error.
    pub fn failure(&self) -> Failure {
        match self {
            Self::UnknownMethod(method) => Failure::MethodNotFound(method.clone()),
            Self::MissingParams => Failure::InvalidParams("missing params".to_owned()),
            Self::InvalidParams(text) | Self::VaultUserError(text) => {
                Failure::InvalidParams(text.clone())
            }
            Self::AttestationRejected(rejection) => {
                Failure::InvalidParams(format!("attestation rejected: {}", rejection.reason()))
            }
            Self::TimedOut(_) => Failure::Overloaded(self.to_string()),
            Self::Backend { .. } | Self::Internal(_) => Failure::Internal(self.to_string()),
        }
    }
}
