//! The `confidential-relay` binary: argument parsing lives in the library's `cli` module.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    confidential_relay::cli::main()
}
