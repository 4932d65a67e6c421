//! `confidential-relay user-data`: prints the canonical params forms and the user data an
//! attestation must carry for them, to debug an attestation mismatch.
//!
//! Output, one item per line: the declared-order JSON, its user data (hex), the as-received
//! JSON, its user data (hex). Exit code 0, or 2 with a one-line error on bad input.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::value::RawValue;

use crate::relay::binding::canonical_forms;
use crate::relay::domain_hash::{DomainHashFormula, domain_hash};

/// Arguments of `user-data`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The method: `confidential.secrets.get` or `confidential.capability.execute`.
    #[arg(long)]
    pub method: String,
    /// File holding the params JSON object, or `-` for standard input.
    #[arg(long)]
    pub params: PathBuf,
    /// The DomainHash formula: `current` (length-prefixed) or `legacy` (newline).
    #[arg(long, default_value = "current")]
    pub formula: String,
}

/// Runs `user-data`, writing to standard output.
pub fn run(args: Args) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match render(&args)
        .and_then(|text| stdout.write_all(text.as_bytes()).map_err(|e| e.to_string()))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

/// The four output lines for `args`, or a one-line error.
pub fn render(args: &Args) -> Result<String, String> {
    let formula = DomainHashFormula::from_name(&args.formula).ok_or_else(|| {
        format!(
            "unknown formula {:?} (want current or legacy)",
            args.formula
        )
    })?;
    let text = read_input(&args.params)?;
    let params: Box<RawValue> = serde_json::from_str(text.trim())
        .map_err(|err| format!("params file is not JSON: {err}"))?;
    let forms = canonical_forms(&args.method, &params).map_err(|err| err.to_string())?;
    let mut out = String::new();
    for json in [&forms.declared_order, &forms.as_received] {
        out.push_str(&String::from_utf8_lossy(json));
        out.push('\n');
        out.push_str(&hex::encode(domain_hash(formula, forms.tag, json)));
        out.push('\n');
    }
    Ok(out)
}

fn read_input(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| format!("cannot read standard input: {err}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}
