//! The service an operator runs: configuration, the admin HTTP server, observability, and the
//! lifecycle that ties the gateway links, the relay, the verifier and the backends together.

pub mod admin;
pub mod metrics;
pub mod node;
pub mod observe;
pub mod swap;
