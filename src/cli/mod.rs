//! Command-line entry points. `main` parses arguments, sets up logging and calls one function
//! per subcommand; each subcommand lives in its own file and returns its exit code, so tests can
//! call it directly.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod bench;
pub mod bench_attestation;
pub mod bench_relay;
pub mod check_config;
pub mod demo;
pub mod dev_gateway;
pub mod run;
pub mod user_data;
pub mod verify_attestation;

/// Exit code for a usage or input error (bad arguments, unreadable or invalid input file).
pub const EXIT_USAGE: u8 = 2;

/// The relay sidecar for Chainlink confidential workflows.
#[derive(Debug, Parser)]
#[command(name = "confidential-relay", version, about)]
pub struct Cli {
    /// Write logs as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay node beside a Chainlink node (serves until SIGINT/SIGTERM; SIGHUP reloads).
    Run(run::Args),
    /// Validate a configuration file and print a summary (no secrets).
    CheckConfig(check_config::Args),
    /// Print the canonical params JSON and the user data an attestation must carry.
    UserData(user_data::Args),
    /// Verify a Nitro attestation document and print a JSON report.
    VerifyAttestation(verify_attestation::Args),
    /// Run a benchmark.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Run the development gateway (a local test peer, not a production gateway).
    DevGateway(dev_gateway::Args),
    /// Run the whole relay path on this machine and verify every answer (no config needed).
    Demo(demo::Args),
}

/// Parses the process arguments and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and benchmarks print their own reports; per-request log lines would bury them.
    let quiet = matches!(cli.command, Command::Demo(_) | Command::Bench(_));
    init_logging_with(cli.log_json, if quiet { "error" } else { "info" });
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::UserData(args) => user_data::run(args),
        Command::VerifyAttestation(args) => verify_attestation::run(args),
        Command::Bench(command) => bench::run(command),
        Command::DevGateway(args) => dev_gateway::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

/// Sets up `tracing` to stderr: human-readable by default, JSON lines with `--log-json`.
/// `RUST_LOG` overrides the default level (`info`).
pub fn init_logging(json: bool) {
    init_logging_with(json, "info");
}

/// [`init_logging`] with another default level (when `RUST_LOG` is unset).
pub fn init_logging_with(json: bool, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests calling subcommands) is harmless; ignore its error.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
