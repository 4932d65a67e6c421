//! Package `confidentialworkflow` (chainlink-protos
//! `cre/capabilities/compute/confidentialworkflow/v1alpha/client.proto`): the workflow execution
//! the Workflow DON authorizes. The newer fields 8-10 are not needed and are skipped on decode.

use super::impl_name;

/// The public data of a confidential workflow execution.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkflowExecution {
    /// `workflow_id` = 1.
    #[prost(string, tag = "1")]
    pub workflow_id: String,
    /// `binary_url` = 2.
    #[prost(string, tag = "2")]
    pub binary_url: String,
    /// `binary_hash` = 3: sha256 of the workflow binary.
    #[prost(bytes = "vec", tag = "3")]
    pub binary_hash: Vec<u8>,
    /// `execute_request` = 4.
    #[prost(bytes = "vec", tag = "4")]
    pub execute_request: Vec<u8>,
    /// `owner` = 5.
    #[prost(string, tag = "5")]
    pub owner: String,
    /// `execution_id` = 6.
    #[prost(string, tag = "6")]
    pub execution_id: String,
    /// `org_id` = 7 (chainlink-common copy and newer branches only).
    #[prost(string, tag = "7")]
    pub org_id: String,
}

impl_name!(
    WorkflowExecution,
    "confidentialworkflow",
    "WorkflowExecution"
);
