//! The enclave's end-to-end checks of one answer: a gateway bundle with at least F+1
//! byte-identical node results; every sealed share opened with the enclave's X25519 secret key
//! and equal to the share the mock vault holds, and the secret recovered; the capability payload
//! decoded as `sdk.v1alpha.CapabilityResponse` carrying the echoed value. And the check that a
//! spoiled request is refused with exactly the expected reason.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::enclave::{CallKind, Enclave, ExpectedSecret, Prepared, Tamper};
use crate::backend::mock::vault::MockSecret;
use crate::jsonrpc::ErrorObject;
use crate::proto::sdk::{self, capability_response};
use crate::proto::values::{Value, value};

/// Longest excerpt of an answer quoted in an error.
const MAX_QUOTED_BYTES: usize = 300;

/// Why an answer failed the enclave's checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The request could not be built.
    #[error("cannot build the request: {0}")]
    Build(String),
    /// The HTTP exchange failed.
    #[error("HTTP exchange failed: {0}")]
    Transport(String),
    /// The body is not a JSON-RPC response of the expected shape.
    #[error("malformed answer (HTTP {status}): {detail}")]
    Malformed {
        /// HTTP status.
        status: u16,
        /// What is wrong, with an excerpt.
        detail: String,
    },
    /// The gateway answered with an error.
    #[error("refused (HTTP {status}, code {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// JSON-RPC code.
        code: i64,
        /// JSON-RPC message.
        message: String,
    },
    /// Fewer than F+1 node results agree byte for byte.
    #[error("no F+1 = {need} identical node results (largest group {largest} of {total})")]
    NoQuorum {
        /// F+1.
        need: usize,
        /// Size of the largest group of identical results.
        largest: usize,
        /// Results in the bundle.
        total: usize,
    },
    /// The agreed secrets result is wrong.
    #[error("secrets result: {0}")]
    Secrets(String),
    /// The agreed capability result is wrong.
    #[error("capability result: {0}")]
    Capability(String),
    /// A spoiled request got another answer than the expected refusal.
    #[error("expected refusal {expected:?}, got {got}")]
    UnexpectedAnswer {
        /// The expected message (or its prefix).
        expected: String,
        /// What came back.
        got: String,
    },
}

#[derive(Deserialize)]
struct Answer<'a> {
    id: String,
    #[serde(borrow, default)]
    result: Option<Bundle<'a>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(borrow)]
    responses: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct SecretsResult {
    secrets: Option<Vec<SecretEntry>>,
}

#[derive(Deserialize)]
struct SecretEntry {
    id: SecretName,
    ciphertext: String,
    encrypted_shares: Vec<String>,
}

#[derive(Deserialize)]
struct SecretName {
    key: String,
    namespace: String,
}

#[derive(Deserialize)]
struct CapabilityResult {
    #[serde(default)]
    payload: String,
    #[serde(default)]
    error: String,
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX_QUOTED_BYTES) {
        Some((end, _)) => format!("{}...", text.get(..end).unwrap_or_default()),
        None => text.into_owned(),
    }
}

fn parse_answer(status: u16, body: &[u8]) -> Result<Answer<'_>, CheckError> {
    serde_json::from_slice(body).map_err(|e| CheckError::Malformed {
        status,
        detail: format!("{e}: {}", excerpt(body)),
    })
}

impl Enclave {
    /// Checks the gateway's answer to a good request.
    pub fn check(&self, prepared: &Prepared, status: u16, body: &[u8]) -> Result<(), CheckError> {
        let answer = parse_answer(status, body)?;
        if let Some(error) = answer.error {
            return Err(CheckError::Refused {
                status,
                code: error.code,
                message: error.message,
            });
        }
        if status != 200 || answer.id != prepared.id {
            return Err(CheckError::Malformed {
                status,
                detail: format!("want HTTP 200 for id {:?}: {}", prepared.id, excerpt(body)),
            });
        }
        let bundle = answer.result.ok_or_else(|| CheckError::Malformed {
            status,
            detail: "no result".into(),
        })?;
        let agreed = self.agreed_result(&bundle.responses)?;
        match prepared.kind {
            CallKind::Secrets => self.check_secrets(agreed),
            CallKind::Capability => check_capability(agreed, &prepared.echo),
        }
    }

    /// The result at least F+1 nodes returned byte for byte.
    fn agreed_result<'a>(&self, responses: &[&'a RawValue]) -> Result<&'a str, CheckError> {
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for response in responses {
            *groups.entry(response.get()).or_default() += 1;
        }
        let need = self.f().saturating_add(1);
        let (agreed, largest) = groups
            .into_iter()
            .max_by_key(|(_, count)| *count)
            .unwrap_or(("", 0));
        if largest < need {
            return Err(CheckError::NoQuorum {
                need,
                largest,
                total: responses.len(),
            });
        }
        Ok(agreed)
    }

    fn check_secrets(&self, result: &str) -> Result<(), CheckError> {
        let fail = |text: String| CheckError::Secrets(text);
        let parsed: SecretsResult =
            serde_json::from_str(result).map_err(|e| fail(format!("not a secrets result: {e}")))?;
        let entries = parsed.secrets.unwrap_or_default();
        let expected = &self.setup.secrets;
        if entries.len() != expected.len() {
            return Err(fail(format!(
                "{} secrets returned, {} requested",
                entries.len(),
                expected.len()
            )));
        }
        for (entry, want) in entries.iter().zip(expected) {
            self.check_secret(entry, want)
                .map_err(|text| fail(format!("{}/{}: {text}", want.namespace, want.key)))?;
        }
        Ok(())
    }

    fn check_secret(&self, entry: &SecretEntry, want: &ExpectedSecret) -> Result<(), String> {
        if entry.id.key != want.key || entry.id.namespace != want.namespace {
            return Err(format!(
                "answer names {}/{}",
                entry.id.namespace, entry.id.key
            ));
        }
        let ciphertext = STANDARD
            .decode(&entry.ciphertext)
            .map_err(|e| format!("ciphertext is not base64: {e}"))?;
        if ciphertext != want.ciphertext {
            return Err("ciphertext differs from the stored one".into());
        }
        if entry.encrypted_shares.len() != want.shares.len() {
            return Err(format!(
                "{} shares, the vault holds {}",
                entry.encrypted_shares.len(),
                want.shares.len()
            ));
        }
        let mut opened = Vec::with_capacity(want.shares.len());
        for (index, (sealed, stored)) in entry.encrypted_shares.iter().zip(&want.shares).enumerate()
        {
            let sealed = STANDARD
                .decode(sealed)
                .map_err(|e| format!("share {index} is not base64: {e}"))?;
            let share = self
                .secret_key
                .unseal(&sealed)
                .map_err(|_| format!("share {index} does not open with the enclave key"))?;
            if &share != stored {
                return Err(format!("share {index} differs from the stored share"));
            }
            opened.push(share);
        }
        if MockSecret::reveal(&ciphertext, &opened) != want.value {
            return Err("the opened shares do not recover the stored value".into());
        }
        Ok(())
    }

    /// Checks that a spoiled request was refused with HTTP 400, -32602 and the expected
    /// reason; returns the message.
    pub fn check_refusal(
        &self,
        tamper: Tamper,
        status: u16,
        body: &[u8],
    ) -> Result<String, CheckError> {
        let Some((expected, exact)) = tamper.expected_refusal() else {
            return Err(CheckError::Build(
                "a good request has no expected refusal".into(),
            ));
        };
        let unexpected = |got: String| CheckError::UnexpectedAnswer {
            expected: expected.to_owned(),
            got,
        };
        let answer = parse_answer(status, body)?;
        let Some(error) = answer.error else {
            return Err(unexpected(format!(
                "HTTP {status} success: {}",
                excerpt(body)
            )));
        };
        let matches = if exact {
            error.message == expected
        } else {
            error.message.starts_with(expected)
        };
        if status != 400 || error.code != -32602 || !matches {
            return Err(unexpected(format!(
                "HTTP {status}, code {}: {}",
                error.code, error.message
            )));
        }
        Ok(error.message)
    }
}

fn check_capability(result: &str, echo: &str) -> Result<(), CheckError> {
    let fail = |text: String| CheckError::Capability(text);
    let parsed: CapabilityResult =
        serde_json::from_str(result).map_err(|e| fail(format!("not a capability result: {e}")))?;
    if !parsed.error.is_empty() {
        return Err(fail(format!("capability error: {}", parsed.error)));
    }
    let bytes = STANDARD
        .decode(&parsed.payload)
        .map_err(|e| fail(format!("payload is not base64: {e}")))?;
    let response = sdk::CapabilityResponse::decode(bytes.as_slice()).map_err(|e| {
        fail(format!(
            "payload is not an sdk.v1alpha.CapabilityResponse: {e}"
        ))
    })?;
    let Some(capability_response::Response::Payload(any)) = response.response else {
        return Err(fail("response carries no payload".into()));
    };
    let value: Value = crate::proto::unpack(&any)
        .map_err(|e| fail(format!("payload is not a values.v1.Value: {e}")))?;
    match value.kind {
        Some(value::Kind::StringValue(text)) if text == echo => Ok(()),
        other => Err(fail(format!("echoed {other:?}, sent {echo:?}"))),
    }
}
