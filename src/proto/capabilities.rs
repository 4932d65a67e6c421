//! Package `capabilities` (chainlink-common `pkg/capabilities/pb/capabilities.proto`): the
//! request and response of `capabilities.Executable/Execute`.

use prost_types::{Any, Timestamp};

use super::impl_name;
use super::values::Map;

/// The request of `capabilities.Executable/Execute`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CapabilityRequest {
    /// `metadata` = 1.
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<RequestMetadata>,
    /// `config` = 2: DAG SDK config; Go always sends an empty map (present on the wire).
    #[prost(message, optional, tag = "2")]
    pub config: Option<Map>,
    /// `inputs` = 3: DAG SDK inputs; an empty map when unused (present on the wire).
    #[prost(message, optional, tag = "3")]
    pub inputs: Option<Map>,
    /// `payload` = 4: the typed request of the no-DAG SDK, passed through untouched.
    #[prost(message, optional, tag = "4")]
    pub payload: Option<Any>,
    /// `configPayload` = 5: unused by the relay.
    #[prost(message, optional, tag = "5")]
    pub config_payload: Option<Any>,
    /// `method` = 6, e.g. `vault.secrets.get`.
    #[prost(string, tag = "6")]
    pub method: String,
    /// `capabilityId` = 7, e.g. `vault@1.0.0`.
    #[prost(string, tag = "7")]
    pub capability_id: String,
}

/// Who is calling: the workflow, its execution and its DON (field 5 reserved upstream).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestMetadata {
    /// `workflow_id` = 1.
    #[prost(string, tag = "1")]
    pub workflow_id: String,
    /// `workflow_execution_id` = 2.
    #[prost(string, tag = "2")]
    pub workflow_execution_id: String,
    /// `workflow_owner` = 3.
    #[prost(string, tag = "3")]
    pub workflow_owner: String,
    /// `workflow_name` = 4.
    #[prost(string, tag = "4")]
    pub workflow_name: String,
    /// `workflow_don_id` = 6.
    #[prost(uint32, tag = "6")]
    pub workflow_don_id: u32,
    /// `workflow_don_config_version` = 7.
    #[prost(uint32, tag = "7")]
    pub workflow_don_config_version: u32,
    /// `reference_id` = 8.
    #[prost(string, tag = "8")]
    pub reference_id: String,
    /// `decoded_workflow_name` = 9.
    #[prost(string, tag = "9")]
    pub decoded_workflow_name: String,
    /// `spend_limits` = 10.
    #[prost(message, repeated, tag = "10")]
    pub spend_limits: Vec<SpendLimit>,
    /// `workflow_tag` = 11.
    #[prost(string, tag = "11")]
    pub workflow_tag: String,
    /// `workflow_registry_chain_selector` = 12.
    #[prost(string, tag = "12")]
    pub workflow_registry_chain_selector: String,
    /// `workflow_registry_address` = 13.
    #[prost(string, tag = "13")]
    pub workflow_registry_address: String,
    /// `engine_version` = 14.
    #[prost(string, tag = "14")]
    pub engine_version: String,
    /// `execution_timestamp` = 15.
    #[prost(message, optional, tag = "15")]
    pub execution_timestamp: Option<Timestamp>,
    /// `org_id` = 16.
    #[prost(string, tag = "16")]
    pub org_id: String,
}

/// A spend limit of one spend type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpendLimit {
    /// `spend_type` = 1.
    #[prost(string, tag = "1")]
    pub spend_type: String,
    /// `limit` = 2.
    #[prost(string, tag = "2")]
    pub limit: String,
}

/// The (first and only) stream message of `capabilities.Executable/Execute`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CapabilityResponse {
    /// `value` = 1: DAG SDK result.
    #[prost(message, optional, tag = "1")]
    pub value: Option<Map>,
    /// `error` = 2: serialized capability error; non-empty means failure.
    #[prost(string, tag = "2")]
    pub error: String,
    /// `metadata` = 3: ignored by the relay.
    #[prost(message, optional, tag = "3")]
    pub metadata: Option<ResponseMetadata>,
    /// `payload` = 4: no-DAG SDK result.
    #[prost(message, optional, tag = "4")]
    pub payload: Option<Any>,
    /// `ocr_attestation` = 5 (proto3 optional): ignored by the relay.
    #[prost(message, optional, tag = "5")]
    pub ocr_attestation: Option<OcrAttestation>,
}

/// Metering data of a response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseMetadata {
    /// `metering` = 1.
    #[prost(message, repeated, tag = "1")]
    pub metering: Vec<MeteringReportNodeDetail>,
    /// `capdon_n` = 2.
    #[prost(uint32, tag = "2")]
    pub capdon_n: u32,
}

/// One node's metering report.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MeteringReportNodeDetail {
    /// `peer_2_peer_id` = 1.
    #[prost(string, tag = "1")]
    pub peer_2_peer_id: String,
    /// `spend_unit` = 2.
    #[prost(string, tag = "2")]
    pub spend_unit: String,
    /// `spend_value` = 3.
    #[prost(string, tag = "3")]
    pub spend_value: String,
    /// `spend_value_in_gas_units` = 4.
    #[prost(string, tag = "4")]
    pub spend_value_in_gas_units: String,
}

/// An OCR attestation of a response (upstream `OCRAttestation`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OcrAttestation {
    /// `config_digest` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub config_digest: Vec<u8>,
    /// `sequence_number` = 2.
    #[prost(uint64, tag = "2")]
    pub sequence_number: u64,
    /// `signatures` = 3.
    #[prost(message, repeated, tag = "3")]
    pub signatures: Vec<AttributedSignature>,
}

/// A signature and the index of its signer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributedSignature {
    /// `signature` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub signature: Vec<u8>,
    /// `signer` = 2.
    #[prost(uint32, tag = "2")]
    pub signer: u32,
}

impl_name!(CapabilityRequest, "capabilities", "CapabilityRequest");
impl_name!(RequestMetadata, "capabilities", "RequestMetadata");
impl_name!(SpendLimit, "capabilities", "SpendLimit");
impl_name!(CapabilityResponse, "capabilities", "CapabilityResponse");
impl_name!(ResponseMetadata, "capabilities", "ResponseMetadata");
impl_name!(
    MeteringReportNodeDetail,
    "capabilities",
    "MeteringReportNodeDetail"
);
impl_name!(OcrAttestation, "capabilities", "OCRAttestation");
impl_name!(AttributedSignature, "capabilities", "AttributedSignature");
