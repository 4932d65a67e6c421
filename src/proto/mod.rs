//! Hand-written protobuf messages of the backend API (no protoc, no build script).
//!
//! The structs mirror the field tables of `spec/backends-grpc.md` (chainlink-common and
//! chainlink-protos); each file holds one protobuf package. This file owns the
//! `google.protobuf.Any` helpers: Go's `anypb.New` writes the type URL
//! `type.googleapis.com/<package>.<Message>`, and every relay node must write the same bytes, so
//! [`pack`] writes exactly that and [`unpack`] accepts exactly that (no other prefix).

pub mod capabilities;
pub mod confidentialworkflow;
pub mod sdk;
pub mod values;
pub mod vault;

use prost::Name;
use prost_types::Any;

/// The type URL prefix Go's `anypb.New` writes.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// Why an `Any` could not be unpacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnyError {
    /// The `type_url` is not the one the expected message has.
    #[error("unexpected Any type URL {actual:?} (expected {expected:?})")]
    TypeUrl {
        /// The URL expected for the target message.
        expected: String,
        /// The URL found in the `Any`.
        actual: String,
    },
    /// The URL matched but the bytes are not a valid encoding of the message.
    #[error("invalid {type_name} bytes: {reason}")]
    Decode {
        /// The fully qualified protobuf name of the target message.
        type_name: String,
        /// prost's decode error text.
        reason: String,
    },
}

/// The Go type URL of `M`: `type.googleapis.com/<package>.<Message>`.
pub fn type_url_of<M: Name>() -> String {
    format!("{TYPE_URL_PREFIX}{}", M::full_name())
}

/// Wraps `message` in an `Any` with the Go type URL (see [`type_url_of`]).
pub fn pack<M: Name>(message: &M) -> Any {
    Any {
        type_url: type_url_of::<M>(),
        value: message.encode_to_vec(),
    }
}

/// Unpacks an `Any` holding `M`, checking the type URL exactly.
pub fn unpack<M: Name + Default>(any: &Any) -> Result<M, AnyError> {
    let expected = type_url_of::<M>();
    if any.type_url != expected {
        return Err(AnyError::TypeUrl {
            expected,
            actual: any.type_url.clone(),
        });
    }
    M::decode(any.value.as_slice()).map_err(|err| AnyError::Decode {
        type_name: M::full_name(),
        reason: err.to_string(),
    })
}

/// Implements [`prost::Name`] with the Go type URL for hand-written messages.
macro_rules! impl_name {
    ($ty:ty, $package:literal, $name:literal) => {
        impl ::prost::Name for $ty {
            const NAME: &'static str = $name;
            const PACKAGE: &'static str = $package;

            fn type_url() -> String {
                $crate::proto::type_url_of::<Self>()
            }
        }
    };
}
pub(crate) use impl_name;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::values::{Value, value::Kind};

    #[test]
    fn pack_writes_go_type_url_and_unpack_round_trips() {
        let value = Value {
            kind: Some(Kind::StringValue("hi".into())),
        };
        let any = pack(&value);
        assert_eq!(any.type_url, "type.googleapis.com/values.v1.Value");
        assert_eq!(<Value as Name>::type_url(), any.type_url);
        assert_eq!(unpack::<Value>(&any), Ok(value));
    }

    #[test]
    fn unpack_rejects_other_url_forms() {
        let mut any = pack(&Value::default());
        any.type_url = "/values.v1.Value".into();
        assert_eq!(
            unpack::<Value>(&any),
            Err(AnyError::TypeUrl {
                expected: "type.googleapis.com/values.v1.Value".into(),
                actual: "/values.v1.Value".into(),
            })
        );
    }

    #[test]
    fn unpack_reports_bad_bytes() {
        let any = Any {
            type_url: "type.googleapis.com/values.v1.Value".into(),
            value: vec![0x0a, 0x05, b'h'],
        };
        let err = unpack::<Value>(&any).unwrap_err();
        assert!(
            matches!(&err, AnyError::Decode { type_name, .. } if type_name == "values.v1.Value"),
            "{err:?}"
        );
    }
}
