//! The two canonical JSON forms of received params that an attestation may bind
//! (`relay-protocol.md` §0.1 item 1), and the duplicate-key check that precedes both.
//!
//! - *Declared order*: the typed params re-encoded as Go marshals the current structs
//!   ([`declared_order`]); unknown members are dropped.
//! - *As received*: the params object as received, minus its top-level `attestation` member,
//!   re-encoded compactly with Go string escaping, member order, unknown members and number
//!   literals kept ([`as_received`]). This is what a Go enclave of any struct version hashed.
//!
//! [`as_received`] walks every value of the params, so it is also where duplicate keys at any
//! depth are found; it must run before the typed parse, whose serde derive would otherwise let
//! duplicates of unknown members through.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::gojson;

/// Deepest nesting accepted in params. Real params nest four levels
/// (`signed_compute_requests[i].encryptedDecryptionKeyShares[j][k]`); the bound keeps the
/// re-parse of nested raw values linear in practice.
pub const MAX_PARAMS_DEPTH: usize = 16;

/// Why params could not be canonicalized. Each is a client error (-32602).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The params are not a JSON object.
    #[error("params must be a JSON object")]
    NotAnObject,
    /// A key appears twice in one object.
    #[error("duplicate key {} in params", super::validate::quoted(.0))]
    DuplicateKey(String),
    /// Nesting deeper than [`MAX_PARAMS_DEPTH`].
    #[error("params nest deeper than {MAX_PARAMS_DEPTH} levels")]
    TooDeep,
    /// The JSON itself is invalid.
    #[error("invalid params JSON: {0}")]
    Json(String),
}

/// The *as received* canonical form: `params` re-encoded compactly the Go way, without its
/// top-level `attestation` member. Fails on duplicate keys anywhere.
pub fn as_received(params: &RawValue) -> Result<Vec<u8>, CanonicalError> {
    let members = object_members(params)?.ok_or(CanonicalError::NotAnObject)?;
    let mut out = Vec::with_capacity(params.get().len());
    out.push(b'{');
    let mut first = true;
    for (key, value) in &members {
        if key == "attestation" {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(&mut out, key)?;
        out.push(b':');
        write_value(&mut out, value, 1)?;
    }
    out.push(b'}');
    Ok(out)
}

/// The *declared order* canonical form: the typed params with `attestation` blanked, as Go's
/// `json.Marshal` writes them.
pub fn declared_order<T: Serialize>(params: &T) -> Result<Vec<u8>, CanonicalError> {
    gojson::to_vec(params).map_err(|err| CanonicalError::Json(err.to_string()))
}

fn write_value(out: &mut Vec<u8>, raw: &RawValue, depth: usize) -> Result<(), CanonicalError> {
    if depth > MAX_PARAMS_DEPTH {
        return Err(CanonicalError::TooDeep);
    }
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let members = object_members(raw)?.ok_or(CanonicalError::NotAnObject)?;
            out.push(b'{');
            for (index, (key, value)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(out, key)?;
                out.push(b':');
                write_value(out, value, depth + 1)?;
            }
            out.push(b'}');
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = parse(text)?;
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Some(b'"') => {
            let value: String = parse(text)?;
            write_string(out, &value)?;
        }
        // Numbers and literals: RawValue holds exactly the received token, which is already
        // compact; keeping the literal keeps `1.0` and `1e3` as the enclave wrote them.
        _ => out.extend_from_slice(text.as_bytes()),
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, value: &str) -> Result<(), CanonicalError> {
    gojson::write(out, value).map_err(|err| CanonicalError::Json(err.to_string()))
}

fn parse<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, CanonicalError> {
    serde_json::from_str(text).map_err(|err| CanonicalError::Json(err.to_string()))
}

/// The members of `raw` in received order, or `None` when it is not an object.
fn object_members(raw: &RawValue) -> Result<Option<Members>, CanonicalError> {
    if !raw.get().starts_with('{') {
        return Ok(None);
    }
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    let mut duplicate = None;
    let result = deserializer.deserialize_map(MembersVisitor {
        duplicate: &mut duplicate,
    });
    match (result, duplicate) {
        (_, Some(key)) => Err(CanonicalError::DuplicateKey(key)),
        (Ok(members), None) => Ok(Some(members)),
        (Err(err), None) => Err(CanonicalError::Json(err.to_string())),
    }
}

type Members = Vec<(String, Box<RawValue>)>;

/// Collects an object's members; a duplicate key is recorded in `duplicate` (so the caller
/// gets the key itself, not serde's message) and stops the parse.
struct MembersVisitor<'a> {
    duplicate: &'a mut Option<String>,
}

impl<'de> Visitor<'de> for MembersVisitor<'_> {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Members::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.duplicate = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            let value: Box<RawValue> = map.next_value()?;
            members.push((key, value));
        }
        Ok(members)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Members, A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn keeps_order_unknown_members_and_number_literals() {
        let params =
            raw(r#"{ "b": 1.50, "attestation": "x", "a": {"z": [1e3, true, null]}, "s": "<&>" }"#);
        let out = as_received(&params).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"b":1.50,"a":{"z":[1e3,true,null]},"s":"\u003c\u0026\u003e"}"#
        );
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        for (text, key) in [
            (r#"{"a":1,"a":2}"#, "a"),
            (r#"{"x":{"k":1,"k":1}}"#, "k"),
            (r#"{"x":[{"y":[{"q":1,"q":2}]}]}"#, "q"),
            (r#"{"attestation":"a","attestation":"b"}"#, "attestation"),
        ] {
            assert_eq!(
                as_received(&raw(text)),
                Err(CanonicalError::DuplicateKey(key.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_non_objects_and_deep_nesting() {
        assert_eq!(as_received(&raw("[1]")), Err(CanonicalError::NotAnObject));
        assert_eq!(
            as_received(&raw(r#""s""#)),
            Err(CanonicalError::NotAnObject)
        );
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(20), "]".repeat(20));
        assert_eq!(as_received(&raw(&deep)), Err(CanonicalError::TooDeep));
    }
}
