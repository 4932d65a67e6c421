//! `confidential-relay check-config --config <file>`: validates the configuration and prints a
//! summary an operator can review: node address, DON ids, gateways, trusted PCR sets, DomainHash
//! formula, backend routes and limits. No secret material is printed: the node key is loaded
//! only to show its address.
//!
//! Exit codes: 0 valid, 64 invalid (the offending field is named).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

use super::run::EXIT_CONFIG;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML configuration file.
    #[arg(long)]
    pub config: PathBuf,
}

/// Validates and prints the summary.
pub fn run(args: Args) -> ExitCode {
    match summary(&args.config) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("invalid configuration {}: {message}", args.config.display());
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// The summary of the file at `path`, or the refusal naming the field.
pub fn summary(path: &std::path::Path) -> Result<String, String> {
    let config = Config::load(path).map_err(|err| err.to_string())?;
    let key = config.node_key.load().map_err(|err| err.to_string())?;
    let mut out = String::new();
    let c = &config.connector;
    let _ = writeln!(out, "configuration OK: {}", path.display());
    let _ = writeln!(out, "node address:        {}", key.address());
    let _ = writeln!(out, "gateway DON id:      {}", c.don_id);
    let _ = writeln!(
        out,
        "workflow DON:        id {}, config version {}",
        config.relay.don_id, config.relay.don_config_version
    );
    let _ = writeln!(out, "gateways:");
    for gateway in &c.gateways {
        let _ = writeln!(out, "  {} -> {}", gateway.id, gateway.url);
    }
    let policy = &config.attestation.policy;
    let root = &config.attestation.root;
    let _ = writeln!(
        out,
        "trust root:          {} (sha256 {})",
        if root.is_aws() {
            "AWS Nitro Root G1 (pinned)"
        } else {
            "CUSTOM (insecure: tests only)"
        },
        root.sha256_hex()
    );
    let _ = writeln!(out, "trusted PCR sets:    {}", policy.trusted_pcrs().len());
    for (index, set) in policy.trusted_pcrs().iter().enumerate() {
        for (pcr, value) in set.values() {
            let _ = writeln!(out, "  set {index} pcr{pcr} = {}", hex::encode(value));
        }
    }
    let _ = writeln!(
        out,
        "debug enclaves:      {}",
        if policy.allows_debug_enclaves() {
            "ALLOWED (insecure)"
        } else {
            "refused"
        }
    );
    let _ = writeln!(
        out,
        "document max age:    {} s, future skew {} s",
        policy.max_age().as_secs(),
        policy.max_future_skew().as_secs()
    );
    let _ = writeln!(
        out,
        "DomainHash formula:  {}",
        config.relay.domain_hash.name()
    );
    let _ = writeln!(out, "backend routes:");
    for line in config.backends_plan.summary() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(
        out,
        "limits:              max {} secrets per request, {} requests in flight, {} byte messages",
        config.relay.limits.max_secrets, c.max_in_flight, c.max_message_bytes
    );
    let _ = writeln!(out, "org id forwarded:    {}", config.relay.forward_org_id);
    let _ = writeln!(out, "admin listen:        {}", config.admin_listen);
    Ok(out)
}
