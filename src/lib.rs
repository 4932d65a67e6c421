//! `confidential-relay`: a sidecar beside a Chainlink node that lets confidential workflows in
//! AWS Nitro enclaves reach the node's secrets vault and capabilities.
//!
//! # Layout
//!
//! The modules follow the data flow of one request:
//!
//! - [`gateway`]: the authenticated websocket link to each Chainlink gateway (node side) and a
//!   development gateway (gateway side).
//! - [`jsonrpc`]: the request/response envelope and the only mapping from a failure to a code.
//! - [`relay`]: the two relay methods: params, validation, attestation binding, backend exchange.
//! - [`attestation`]: parsing and verifying AWS Nitro attestation documents.
//! - [`proto`]: hand-written protobuf messages of the backend API.
//! - [`backend`]: the vault and capability backends over gRPC, and mock servers.
//! - [`config`]: the TOML configuration, validated once into typed values.
//! - [`cli`]: the command-line entry points.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod attestation;
pub mod backend;
pub mod cli;
pub mod config;
pub mod demo;
pub mod gateway;
pub mod jsonrpc;
pub mod proto;
pub mod relay;
pub mod service;
