//! Placeholder until its issue lands.

use std::process::ExitCode;

/// Arguments (none yet).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Not implemented yet: prints so and exits with the usage code.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::from(super::EXIT_USAGE)
}
