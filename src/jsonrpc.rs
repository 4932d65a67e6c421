//! The JSON-RPC envelope as Chainlink gateways speak it, and the one mapping from a failure to
//! the `(code, message)` that goes on the wire.
//!
//! Two deviations from JSON-RPC 2.0 are the gateway's, not ours: `id` is always a JSON string,
//! and every response echoes the request's `method` (the gateway routes node messages by the text
//! before the first `.`). Keys are written in the order Go marshals them: `jsonrpc`, `id`,
//! `method`, then `params` (requests) or exactly one of `result` / `error` (responses).
//!
//! Stage errors never build JSON themselves: they convert into a [`Failure`], and
//! [`Response::failure`] is the only place that decides the code and the public message. Every
//! `-32603` goes out as `internal error`; its cause stays in the [`Failure`] for the log.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The protocol version every response carries.
pub const VERSION: &str = "2.0";

/// The message of every `-32603` response; the real cause is logged, never sent.
pub const MASKED_INTERNAL_MESSAGE: &str = "internal error";

/// Longest method name echoed inside an error message. The `method` member itself is echoed
/// whole (the gateway routes by it); the message only needs enough to be recognisable.
pub const MAX_ECHOED_METHOD_CHARS: usize = 128;

/// JSON-RPC error codes used by the relay and its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// -32700: the frame is not JSON.
    Parse,
    /// -32600: the JSON is not a request.
    InvalidRequest,
    /// -32601: no handler for the method.
    MethodNotFound,
    /// -32602: the params are missing, malformed or refused.
    InvalidParams,
    /// -32603: anything the caller cannot fix; the message is always masked.
    Internal,
    /// -32000: the node is over capacity or timed out.
    ServerOverloaded,
}

impl ErrorCode {
    /// The numeric code on the wire.
    pub const fn code(self) -> i64 {
        match self {
            Self::Parse => -32700,
            Self::InvalidRequest => -32600,
            Self::MethodNotFound => -32601,
            Self::InvalidParams => -32602,
            Self::Internal => -32603,
            Self::ServerOverloaded => -32000,
        }
    }
}

/// Why a request failed, as the stage that failed it describes it.
///
/// The message of every variant except [`Failure::Internal`] is sent to the caller, so it must
/// name the problem without secret material. `Internal` carries the full cause for the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The method is not served here (-32601).
    MethodNotFound(String),
    /// The params are missing or refused (-32602); the text names the field.
    InvalidParams(String),
    /// Anything else (-32603); the text is the cause, logged and never sent.
    Internal(String),
    /// The node cannot take the request now (-32000).
    Overloaded(String),
}

impl Failure {
    /// The wire code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MethodNotFound(_) => ErrorCode::MethodNotFound,
            Self::InvalidParams(_) => ErrorCode::InvalidParams,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Overloaded(_) => ErrorCode::ServerOverloaded,
        }
    }

    /// The message sent to the caller: the full text, except for internal failures.
    pub fn public_message(&self) -> String {
        match self {
            Self::MethodNotFound(method) => {
                format!(
                    "unsupported method: {}",
                    bounded(method, MAX_ECHOED_METHOD_CHARS)
                )
            }
            Self::InvalidParams(text) | Self::Overloaded(text) => text.clone(),
            Self::Internal(_) => MASKED_INTERNAL_MESSAGE.to_owned(),
        }
    }

    /// The full cause, for the log line of this request.
    pub fn cause(&self) -> &str {
        match self {
            Self::MethodNotFound(text)
            | Self::InvalidParams(text)
            | Self::Internal(text)
            | Self::Overloaded(text) => text,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.cause(), self.code().code())
    }
}

/// `text` cut to at most `max_chars` characters, with `...` appended when cut.
pub(crate) fn bounded(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}...", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// A request from a gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version as sent; not checked (the Go connector does not check it either).
    #[serde(default)]
    pub jsonrpc: String,
    /// Request id, always a JSON string; echoed verbatim.
    pub id: String,
    /// Method name, e.g. `confidential.secrets.get`.
    pub method: String,
    /// The params exactly as received (bytes kept for duplicate-key checks and hashing);
    /// `None` when absent or `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Box<RawValue>>,
    /// A JWT for the gateway's user-facing layer; ignored by the relay.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
}

impl Request {
    /// Parses one frame. A frame that is not a request (bad JSON, numeric id, missing method)
    /// is an error; the connector logs and drops it, since there is no id to answer.
    pub fn from_slice(frame: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(frame)
    }
}

/// The error member of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Numeric code, e.g. -32602.
    pub code: i64,
    /// Human-readable message.
    pub message: String,
}

/// What a response carries: a result or an error, never both, never neither.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The method's result, already serialized.
    Result(Box<RawValue>),
    /// The error member.
    Error(ErrorObject),
}

/// A response to a gateway (or, in the dev gateway, from a node).
#[derive(Debug, Clone)]
pub struct Response {
    /// The request id, echoed.
    pub id: String,
    /// The request method, echoed.
    pub method: String,
    /// Result or error.
    pub outcome: Outcome,
}

impl Response {
    /// A success response carrying `result`, serialized once here.
    pub fn success<T: Serialize>(id: String, method: String, result: &T) -> Self {
        let outcome = match serde_json::value::to_raw_value(result) {
            Ok(raw) => Outcome::Result(raw),
            // The result types are plain structs of strings and lists; this cannot fail in
            // practice, and if it does the caller still gets exactly one answer.
            Err(err) => return Self::failure(id, method, &Failure::Internal(err.to_string())),
        };
        Self {
            id,
            method,
            outcome,
        }
    }

    /// The response for `failure`: the only place that maps a failure to code and message.
    pub fn failure(id: String, method: String, failure: &Failure) -> Self {
        let error = ErrorObject {
            code: failure.code().code(),
            message: failure.public_message(),
        };
        Self {
            id,
            method,
            outcome: Outcome::Error(error),
        }
    }

    /// The error member, if this is an error response.
    pub fn error(&self) -> Option<&ErrorObject> {
        match &self.outcome {
            Outcome::Error(error) => Some(error),
            Outcome::Result(_) => None,
        }
    }

    /// The result member, if this is a success response.
    pub fn result(&self) -> Option<&RawValue> {
        match &self.outcome {
            Outcome::Result(result) => Some(result),
            Outcome::Error(_) => None,
        }
    }

    /// The response as one compact JSON frame.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serializing strings, an integer and a pre-validated RawValue into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a response frame (used by the dev gateway).
    pub fn from_slice(frame: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(frame)
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("jsonrpc", VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("method", &self.method)?;
        match &self.outcome {
            Outcome::Result(result) => map.serialize_entry("result", result)?,
            Outcome::Error(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ResponseVisitor)
    }
}

struct ResponseVisitor;

impl<'de> Visitor<'de> for ResponseVisitor {
    type Value = Response;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Response, A::Error> {
        let mut id: Option<String> = None;
        let mut method: Option<String> = None;
        let mut result: Option<Box<RawValue>> = None;
        let mut error: Option<ErrorObject> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => set_once(&mut id, map.next_value()?, "id")?,
                "method" => set_once(&mut method, map.next_value()?, "method")?,
                "result" => {
                    let raw: Box<RawValue> = map.next_value()?;
                    if raw.get() != "null" {
                        set_once(&mut result, raw, "result")?;
                    }
                }
                "error" => {
                    let value: Option<ErrorObject> = map.next_value()?;
                    if let Some(value) = value {
                        set_once(&mut error, value, "error")?;
                    }
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let outcome = match (result, error) {
            (Some(result), None) => Outcome::Result(result),
            (None, Some(error)) => Outcome::Error(error),
            (Some(_), Some(_)) => return Err(de::Error::custom("both result and error present")),
            (None, None) => return Err(de::Error::custom("neither result nor error present")),
        };
        Ok(Response {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            method: method.unwrap_or_default(),
            outcome,
        })
    }
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_are_masked() {
        let response = Response::failure(
            "7".into(),
            "confidential.secrets.get".into(),
            &Failure::Internal("vault at 10.0.0.1 refused".into()),
        );
        assert_eq!(
            String::from_utf8(response.to_vec()).unwrap(),
            r#"{"jsonrpc":"2.0","id":"7","method":"confidential.secrets.get","error":{"code":-32603,"message":"internal error"}}"#
        );
    }

    #[test]
    fn unknown_method_is_named_and_bounded() {
        let long = "x".repeat(300);
        let failure = Failure::MethodNotFound(long);
        let message = failure.public_message();
        assert_eq!(
            message.len(),
            "unsupported method: ".len() + MAX_ECHOED_METHOD_CHARS + 3
        );
        assert_eq!(
            Failure::MethodNotFound("a.b".into()).public_message(),
            "unsupported method: a.b"
        );
    }

    #[test]
    fn success_response_keeps_key_order() {
        let response = Response::success("a".into(), "m.x".into(), &serde_json::json!({"k": 1}));
        assert_eq!(
            String::from_utf8(response.to_vec()).unwrap(),
            r#"{"jsonrpc":"2.0","id":"a","method":"m.x","result":{"k":1}}"#
        );
    }

    #[test]
    fn response_round_trips_and_rejects_both_members() {
        let frame = br#"{"jsonrpc":"2.0","id":"1","method":"m","error":{"code":-32602,"message":"bad","data":null}}"#;
        let response = Response::from_slice(frame).unwrap();
        assert_eq!(response.error().unwrap().code, -32602);
        let both = br#"{"id":"1","method":"m","result":{},"error":{"code":1,"message":"x"}}"#;
        assert_eq!(
            Response::from_slice(both).unwrap_err().to_string(),
            "both result and error present at line 1 column 68"
        );
    }

    #[test]
    fn request_with_numeric_id_is_not_a_request() {
        let err = Request::from_slice(br#"{"jsonrpc":"2.0","id":1,"method":"m"}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid type: integer `1`"),
            "{err}"
        );
        let null_params = Request::from_slice(br#"{"id":"1","method":"m","params":null}"#).unwrap();
        assert!(null_params.params.is_none());
    }
}
