//! Package `sdk.v1alpha` (chainlink-protos `cre/sdk/v1alpha/sdk.proto`): the capability request
//! an enclave sends and the response the relay returns to it. Only `sdk.v1alpha` type URLs
//! unpack on the Go side (the byte-identical `sdk.v1` package is not used).

use prost_types::Any;

use super::impl_name;

/// A capability call from a workflow.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CapabilityRequest {
    /// `id` = 1: capability id; ignored by the relay (routing uses the params).
    #[prost(string, tag = "1")]
    pub id: String,
    /// `payload` = 2: forwarded unchanged.
    #[prost(message, optional, tag = "2")]
    pub payload: Option<Any>,
    /// `method` = 3.
    #[prost(string, tag = "3")]
    pub method: String,
    /// `callback_id` = 4.
    #[prost(int32, tag = "4")]
    pub callback_id: i32,
}

/// The result of a capability call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CapabilityResponse {
    /// The `response` oneof; `None` is an empty response (zero bytes).
    #[prost(oneof = "capability_response::Response", tags = "1, 2")]
    pub response: Option<capability_response::Response>,
}

/// The oneof of [`CapabilityResponse`].
pub mod capability_response {
    use prost_types::Any;

    /// The `response` oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Response {
        /// `payload` = 1.
        #[prost(message, tag = "1")]
        Payload(Any),
        /// `error` = 2.
        #[prost(string, tag = "2")]
        Error(String),
    }
}

impl_name!(CapabilityRequest, "sdk.v1alpha", "CapabilityRequest");
impl_name!(CapabilityResponse, "sdk.v1alpha", "CapabilityResponse");
