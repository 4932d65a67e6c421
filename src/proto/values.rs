//! `values.v1` (chainlink-protos `cre/values/v1/values.proto`): the DAG SDK's dynamic values.
//!
//! `Map.fields` is a `BTreeMap` so entries encode in key order, like Go's deterministic
//! marshalling: two relay nodes must produce identical bytes for the enclave's quorum.

use std::collections::BTreeMap;

use super::impl_name;

/// A dynamic value (field 8 reserved upstream).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The one value this holds; `None` is a null value.
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12")]
    pub kind: Option<value::Kind>,
}

/// The oneof of [`Value`].
pub mod value {
    use super::{BigInt, Decimal, List, Map};

    /// The `value` oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `string_value` = 1.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// `bool_value` = 2.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// `bytes_value` = 3.
        #[prost(bytes, tag = "3")]
        BytesValue(Vec<u8>),
        /// `map_value` = 4.
        #[prost(message, tag = "4")]
        MapValue(Map),
        /// `list_value` = 5.
        #[prost(message, tag = "5")]
        ListValue(List),
        /// `decimal_value` = 6.
        #[prost(message, tag = "6")]
        DecimalValue(Decimal),
        /// `int64_value` = 7.
        #[prost(int64, tag = "7")]
        Int64Value(i64),
        /// `bigint_value` = 9.
        #[prost(message, tag = "9")]
        BigintValue(BigInt),
        /// `time_value` = 10.
        #[prost(message, tag = "10")]
        TimeValue(prost_types::Timestamp),
        /// `float64_value` = 11.
        #[prost(double, tag = "11")]
        Float64Value(f64),
        /// `uint64_value` = 12.
        #[prost(uint64, tag = "12")]
        Uint64Value(u64),
    }
}

/// A string-keyed map of values, encoded in key order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Map {
    /// `fields` = 1.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// A list of values. Upstream numbers its only field 2 (field 1 unused).
#[derive(Clone, PartialEq, prost::Message)]
pub struct List {
    /// `fields` = 2.
    #[prost(message, repeated, tag = "2")]
    pub fields: Vec<Value>,
}

/// An arbitrary-precision integer: big-endian magnitude and sign.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BigInt {
    /// `abs_val` = 1: big-endian absolute value.
    #[prost(bytes = "vec", tag = "1")]
    pub abs_val: Vec<u8>,
    /// `sign` = 2: -1, 0 or 1.
    #[prost(int64, tag = "2")]
    pub sign: i64,
}

/// A decimal `coefficient * 10^exponent`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Decimal {
    /// `coefficient` = 1.
    #[prost(message, optional, tag = "1")]
    pub coefficient: Option<BigInt>,
    /// `exponent` = 2.
    #[prost(int32, tag = "2")]
    pub exponent: i32,
}

impl_name!(Value, "values.v1", "Value");
impl_name!(Map, "values.v1", "Map");
impl_name!(List, "values.v1", "List");
impl_name!(BigInt, "values.v1", "BigInt");
impl_name!(Decimal, "values.v1", "Decimal");

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn map_entries_encode_in_key_order() {
        let mut fields = BTreeMap::new();
        for key in ["b", "a"] {
            let value = Value {
                kind: Some(value::Kind::Int64Value(1)),
            };
            fields.insert(key.to_string(), value);
        }
        // entry a: 0a 07 0a 01 61 12 02 38 01, then entry b.
        assert_eq!(
            hex::encode(Map { fields }.encode_to_vec()),
            "0a070a0161120238010a070a0162120238 01".replace(' ', "")
        );
    }

    #[test]
    fn list_uses_field_two() {
        let list = List {
            fields: vec![Value {
                kind: Some(value::Kind::BoolValue(true)),
            }],
        };
        assert_eq!(hex::encode(list.encode_to_vec()), "12021001");
    }
}
