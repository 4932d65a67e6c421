//! The one-process demo of the whole confidential relay path, shared by `confidential-relay
//! demo`, `confidential-relay bench relay` and the end-to-end tests.
//!
//! - [`stack`]: a dev gateway, N relay nodes (own key, connector, verifier, backends) and mock
//!   backends on loopback, with hooks to kill a node and restart the gateway.
//! - [`enclave`]: a synthetic enclave that builds attested requests and checks every answer end
//!   to end (quorum of identical results, sealed shares opened, capability payload decoded).
//! - [`mod@drive`]: sends many requests with bounded concurrency; [`report`]: percentiles and the
//!   summary table; [`cpu`]: process CPU time; [`consensus`]: the vault DON's agreement.

pub mod consensus;
pub mod cpu;
pub mod drive;
pub mod enclave;
pub mod enclave_check;
pub mod report;
pub mod stack;

pub use drive::{RunOutcome, drive};
pub use enclave::{CallKind, CheckError, Enclave, Tamper};
pub use report::Summary;
pub use stack::{DemoStack, StackOptions};

/// Why the demo stack could not be built or operated.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A component failed to start; the text names the component and the cause.
    #[error("demo setup: {0}")]
    Setup(String),
    /// Relay nodes did not connect to the dev gateway in time.
    #[error(
        "only {connected} of {expected} relay nodes connected to the dev gateway within {secs} s"
    )]
    NotConnected {
        /// Nodes connected when the wait ended.
        connected: usize,
        /// Nodes expected.
        expected: usize,
        /// The wait in seconds.
        secs: u64,
    },
    /// No relay node with this index is running.
    #[error("no running relay node {0}")]
    NoSuchNode(usize),
}

/// Shorthand for a setup error with context.
pub(crate) fn setup(context: &str, err: impl std::fmt::Display) -> DemoError {
    DemoError::Setup(format!("{context}: {err}"))
}
