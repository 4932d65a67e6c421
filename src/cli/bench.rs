//! `confidential-relay bench ...`: benchmarks operators run on their own machines.

use std::process::ExitCode;

use clap::Subcommand;

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Attestation verification: raw P-384, cold and cached document verification.
    Attestation(super::bench_attestation::Args),
    /// The demo stack under load: throughput, latency percentiles, CPU time per request.
    Relay(super::bench_relay::Args),
}

/// Runs one benchmark.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Attestation(args) => super::bench_attestation::run(args),
        Command::Relay(args) => super::bench_relay::run(args),
    }
}
