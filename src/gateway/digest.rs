//! `Request.Digest()` / `Response.Digest()` of chainlink-common (spec §2.2): hex SHA-256 of
//! canonical JSON (sorted keys, no whitespace, empty optional members omitted). The older
//! relay aggregator bucketed node responses by it; the dev gateway logs it per response.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jsonrpc::{Request, Response};

/// Canonical JSON text of `value`: object keys sorted bytewise, compact.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for key in keys {
                    if let Some(inner) = map.get(key) {
                        out.insert(key.clone(), sorted(inner));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn hex_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The digest of a response (its `jsonrpc`, `id`, `method`, `result` or `error`).
pub fn response_digest(response: &Response) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(response)?;
    Ok(hex_sha256(&canonical_json(&value)))
}

/// The digest of a request, without its `auth` member.
pub fn request_digest(request: &Request) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(request)?;
    if let Value::Object(map) = &mut value {
        map.remove("auth");
    }
    Ok(hex_sha256(&canonical_json(&value)))
}
