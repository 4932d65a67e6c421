//! The three-leg handshake byte layouts (spec §1.3–§1.8): the node's signed auth header, the
//! gateway's challenge, and the checks each side applies. Pure functions over bytes and an
//! explicit clock value, so both sides and the tests share one implementation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::eip191::{Address, RecoverError, SIGNATURE_LEN, recover_signer};
use super::key::NodeKey;

/// Request header carrying the base64 auth header (raw base64, no `Bearer ` prefix).
pub const AUTH_HEADER: &str = "Authorization";
/// Response header (in the 101) carrying the base64 challenge.
pub const CHALLENGE_HEADER: &str = "Challenge";
/// Width of the u32 big-endian Unix-seconds timestamp.
pub const TIMESTAMP_LEN: usize = 4;
/// Width of the NUL-padded DON id field.
pub const DON_ID_LEN: usize = 64;
/// Width of the NUL-padded gateway id field.
pub const GATEWAY_ID_LEN: usize = 128;
/// The signed part of the auth header: timestamp ‖ DON id ‖ gateway id.
pub const AUTH_PACKED_LEN: usize = TIMESTAMP_LEN + DON_ID_LEN + GATEWAY_ID_LEN;
/// The whole auth header: packed part plus signature (261 bytes).
pub const AUTH_HEADER_LEN: usize = AUTH_PACKED_LEN + SIGNATURE_LEN;
/// Longest base64 auth header a gateway reads (Go's limit; 261 bytes encode to 348).
pub const MAX_AUTH_HEADER_BASE64: usize = 512;
/// Fixed part of a challenge (timestamp ‖ gateway id); at least one random byte follows.
pub const CHALLENGE_FIXED_LEN: usize = TIMESTAMP_LEN + GATEWAY_ID_LEN;
/// Shortest challenge any side accepts: the fixed part plus one random byte (133).
pub const MIN_CHALLENGE_LEN: usize = CHALLENGE_FIXED_LEN + 1;

/// A text field that does not fit its fixed-width slot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be 1..={max} bytes without NUL, got {len} bytes")]
pub struct FieldError {
    /// Which field.
    pub field: &'static str,
    /// Its width.
    pub max: usize,
    /// The offered length.
    pub len: usize,
}

/// Writes `value` into `out`, NUL-padded; rejects empty, too long or NUL-containing values.
pub fn put_field(
    out: &mut Vec<u8>,
    value: &str,
    width: usize,
    field: &'static str,
) -> Result<(), FieldError> {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > width || bytes.contains(&0) {
        return Err(FieldError {
            field,
            max: width,
            len: bytes.len(),
        });
    }
    out.extend_from_slice(bytes);
    out.resize(out.len() + width - bytes.len(), 0);
    Ok(())
}

/// A field's text: the bytes before the first NUL (the whole field if none), lossily decoded.
fn get_field(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

fn read_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; TIMESTAMP_LEN];
    if let Some(head) = bytes.get(..TIMESTAMP_LEN) {
        word.copy_from_slice(head);
    }
    u32::from_be_bytes(word)
}

/// |a − b| ≤ tolerance, on u32 seconds as the Go code does.
pub fn within_tolerance(a: u32, b: u32, tolerance: u32) -> bool {
    a.abs_diff(b) <= tolerance
}

/// The 196 bytes the node signs: timestamp ‖ DON id ‖ gateway id.
pub fn pack_auth(timestamp: u32, don_id: &str, gateway_id: &str) -> Result<Vec<u8>, FieldError> {
    let mut out = Vec::with_capacity(AUTH_HEADER_LEN);
    out.extend_from_slice(&timestamp.to_be_bytes());
    put_field(&mut out, don_id, DON_ID_LEN, "don_id")?;
    put_field(&mut out, gateway_id, GATEWAY_ID_LEN, "gateway id")?;
    Ok(out)
}

/// The signed auth header as sent: base64 (padded) of packed ‖ signature.
pub fn auth_header_value(
    key: &NodeKey,
    timestamp: u32,
    don_id: &str,
    gateway_id: &str,
) -> Result<String, FieldError> {
    let mut bytes = pack_auth(timestamp, don_id, gateway_id)?;
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature);
    Ok(STANDARD.encode(bytes))
}

/// Why the gateway refuses an auth header or the challenge answer; each maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Base64 text over [`MAX_AUTH_HEADER_BASE64`] characters (HTTP 400).
    #[error("auth header is {0} base64 characters, over the {MAX_AUTH_HEADER_BASE64} limit")]
    HeaderTooLong(usize),
    /// Not base64 (HTTP 400).
    #[error("auth header is not base64")]
    HeaderNotBase64,
    /// Not exactly 261 bytes (HTTP 401). A missing header lands here.
    #[error("auth header must be {AUTH_HEADER_LEN} bytes, got {0}")]
    HeaderLength(usize),
    /// The signature recovers no signer (HTTP 401).
    #[error("auth header signature: {0}")]
    HeaderSignature(RecoverError),
    /// The DON id is not served by this gateway (HTTP 401).
    #[error("unknown DON id {0:?}")]
    UnknownDon(String),
    /// The signer is not a member of the DON (HTTP 401).
    #[error("node {0} is not a member of the DON")]
    NotMember(Address),
    /// The gateway id is not this gateway's (HTTP 401).
    #[error("auth header names gateway {0:?}, not this gateway")]
    WrongGateway(String),
    /// The node clock differs from the gateway clock by more than the tolerance (HTTP 401).
    #[error("auth timestamp {timestamp} is more than {tolerance} s from gateway time {now}")]
    StaleTimestamp {
        /// The node's timestamp.
        timestamp: u32,
        /// The gateway's clock.
        now: u32,
        /// Allowed difference in seconds.
        tolerance: u32,
    },
    /// The challenge answer does not recover to the authenticated node (socket closed).
    #[error("challenge signature invalid: {0}")]
    ChallengeSignature(String),
    /// No usable challenge answer arrived: closed, not binary, too big, or too late.
    #[error("no challenge answer: {0}")]
    NoAnswer(String),
}

impl AuthError {
    /// The HTTP status refusing the upgrade (400 for transport-level junk, else 401).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::HeaderTooLong(_) | Self::HeaderNotBase64 => 400,
            _ => 401,
        }
    }

    /// A stable token naming the refusal, for logs, metrics and tests.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::HeaderTooLong(_) => "header_too_long",
            Self::HeaderNotBase64 => "header_not_base64",
            Self::HeaderLength(_) => "header_length",
            Self::HeaderSignature(_) => "header_signature",
            Self::UnknownDon(_) => "unknown_don",
            Self::NotMember(_) => "not_member",
            Self::WrongGateway(_) => "wrong_gateway",
            Self::StaleTimestamp { .. } => "stale_timestamp",
            Self::ChallengeSignature(_) => "challenge_signature",
            Self::NoAnswer(_) => "challenge_no_answer",
        }
    }
}

/// An auth header whose signature recovered a signer; DON, membership, gateway id and time
/// are still to be checked by the gateway (spec §1.6 steps 3–6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// The node's Unix seconds.
    pub timestamp: u32,
    /// The DON id field.
    pub don_id: String,
    /// The gateway id field.
    pub gateway_id: String,
    /// The recovered signer.
    pub signer: Address,
}

/// Decodes the header text (steps 1–2 of §1.6). `None` (a missing header) decodes as empty.
pub fn decode_auth_header(value: Option<&str>) -> Result<AuthHeader, AuthError> {
    let text = value.unwrap_or_default();
    if text.len() > MAX_AUTH_HEADER_BASE64 {
        return Err(AuthError::HeaderTooLong(text.len()));
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| AuthError::HeaderNotBase64)?;
    if bytes.len() != AUTH_HEADER_LEN {
        return Err(AuthError::HeaderLength(bytes.len()));
    }
    let (packed, signature) = bytes.split_at(AUTH_PACKED_LEN);
    let signer = recover_signer(packed, signature).map_err(AuthError::HeaderSignature)?;
    let don_end = TIMESTAMP_LEN + DON_ID_LEN;
    Ok(AuthHeader {
        timestamp: read_u32(packed),
        don_id: get_field(packed.get(TIMESTAMP_LEN..don_end).unwrap_or_default()),
        gateway_id: get_field(packed.get(don_end..).unwrap_or_default()),
        signer,
    })
}

/// The challenge bytes: the node's timestamp echoed ‖ gateway id ‖ `random`.
pub fn build_challenge(
    timestamp: u32,
    gateway_id: &str,
    random: &[u8],
) -> Result<Vec<u8>, FieldError> {
    let mut out = Vec::with_capacity(CHALLENGE_FIXED_LEN + random.len());
    out.extend_from_slice(&timestamp.to_be_bytes());
    put_field(&mut out, gateway_id, GATEWAY_ID_LEN, "gateway id")?;
    out.extend_from_slice(random);
    Ok(out)
}

/// Why the node refuses a gateway's challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The 101 carried no (or an empty) `Challenge` header.
    #[error("gateway sent no Challenge header")]
    Missing,
    /// The header is not base64.
    #[error("Challenge header is not base64")]
    NotBase64,
    /// Shorter than 133 bytes or fewer random bytes than required.
    #[error("challenge too short: {random} random bytes, need at least {min}")]
    TooShort {
        /// Random bytes present.
        random: usize,
        /// Required.
        min: usize,
    },
    /// The challenge names another gateway.
    #[error("challenge names gateway {0:?}, expected the configured id")]
    WrongGateway(String),
    /// The echoed timestamp is out of tolerance of the node clock.
    #[error("challenge timestamp {timestamp} is more than {tolerance} s from node time {now}")]
    StaleTimestamp {
        /// The echoed timestamp.
        timestamp: u32,
        /// The node clock.
        now: u32,
        /// Allowed difference in seconds.
        tolerance: u32,
    },
}

impl ChallengeError {
    /// A stable token naming the refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "challenge_missing",
            Self::NotBase64 => "challenge_not_base64",
            Self::TooShort { .. } => "challenge_too_short",
            Self::WrongGateway(_) => "challenge_wrong_gateway",
            Self::StaleTimestamp { .. } => "challenge_stale_timestamp",
        }
    }
}

/// What the node requires of a challenge.
#[derive(Debug, Clone, Copy)]
pub struct ChallengePolicy<'a> {
    /// The configured id of the gateway dialled.
    pub gateway_id: &'a str,
    /// Minimum random bytes (at least 1 is always required).
    pub min_random_len: usize,
    /// Allowed clock difference in seconds.
    pub tolerance_secs: u32,
    /// The node clock, Unix seconds.
    pub now: u32,
}

/// Checks the `Challenge` header value and returns the challenge bytes to sign.
pub fn verify_challenge(
    value: Option<&str>,
    policy: &ChallengePolicy<'_>,
) -> Result<Vec<u8>, ChallengeError> {
    let text = value
        .filter(|text| !text.is_empty())
        .ok_or(ChallengeError::Missing)?;
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| ChallengeError::NotBase64)?;
    let random = bytes.len().saturating_sub(CHALLENGE_FIXED_LEN);
    let min = policy
        .min_random_len
        .max(MIN_CHALLENGE_LEN - CHALLENGE_FIXED_LEN);
    if random < min {
        return Err(ChallengeError::TooShort { random, min });
    }
    let gateway_id = get_field(
        bytes
            .get(TIMESTAMP_LEN..CHALLENGE_FIXED_LEN)
            .unwrap_or_default(),
    );
    if gateway_id != policy.gateway_id {
        return Err(ChallengeError::WrongGateway(gateway_id));
    }
    let timestamp = read_u32(&bytes);
    if !within_tolerance(timestamp, policy.now, policy.tolerance_secs) {
        return Err(ChallengeError::StaleTimestamp {
            timestamp,
            now: policy.now,
            tolerance: policy.tolerance_secs,
        });
    }
    Ok(bytes)
}

/// Gateway side of leg 3: the answer must be the expected node's signature over the challenge.
pub fn verify_challenge_answer(
    challenge: &[u8],
    answer: &[u8],
    expected: Address,
) -> Result<(), AuthError> {
    let signer = recover_signer(challenge, answer)
        .map_err(|err| AuthError::ChallengeSignature(err.to_string()))?;
    if signer != expected {
        return Err(AuthError::ChallengeSignature(format!(
            "signed by {signer}, expected {expected}"
        )));
    }
    Ok(())
}

/// Unix seconds now, truncated to u32 as the wire carries it.
pub fn unix_now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    // Truncation is the wire format (Go does the same).
    (secs & u64::from(u32::MAX)) as u32
}
