//! `confidential-relay verify-attestation`: verifies one Nitro attestation document and prints
//! a JSON report. Exit codes: 0 valid, 1 rejected, 2 usage or input error.
//!
//! Chain and signature are always checked (AWS root unless `--root`); freshness and debug
//! refusal always apply; PCRs and user data are checked only when `--trusted-pcrs` /
//! `--user-data` are given, and are otherwise reported as `skipped`, not passed.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value, json};
use x509_parser::certificate::X509Certificate;

use crate::attestation::policy::{
    DEFAULT_MAX_FUTURE_SKEW, check_debug, check_freshness, check_pcrs, check_user_data,
};
use crate::attestation::{
    FixedClock, NitroVerifier, ParsedDocument, PcrSet, Policy, Rejection, SystemClock, TrustRoot,
    parse, parse_trusted_pcrs_json,
};

/// Largest input file read (text encodings of a 24 KiB document are well below this).
const MAX_INPUT_BYTES: u64 = 1 << 20;

/// How the input file encodes the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// Raw CBOR bytes.
    Bin,
    /// Standard base64 (whitespace ignored).
    Base64,
    /// Hex (whitespace ignored).
    Hex,
    /// Raw if it starts like a COSE_Sign1, else hex if it is hex, else base64.
    Auto,
}

/// Arguments of `verify-attestation`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Document file, or `-` for stdin.
    pub input: PathBuf,
    /// Encoding of the input.
    #[arg(long, value_enum, default_value_t = Encoding::Auto)]
    pub encoding: Encoding,
    /// Verification time in Unix seconds (default: now).
    #[arg(long)]
    pub at: Option<u64>,
    /// Trusted PCRs, Chainlink format: one {"pcr0","pcr1","pcr2"} object or an array of them.
    #[arg(long)]
    pub trusted_pcrs: Option<PathBuf>,
    /// Expected user data, hex.
    #[arg(long)]
    pub user_data: Option<String>,
    /// PEM trust root replacing the AWS Nitro Root-G1 (insecure: for tests and local demos).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Accept debug-mode enclaves (PCR0-2 all zero).
    #[arg(long)]
    pub allow_debug: bool,
    /// Maximum document age in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_age: u64,
}

/// Prints the report; see the module docs for exit codes.
pub fn run(args: Args) -> ExitCode {
    match report(&args) {
        Ok((report, valid)) => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            // A closed stdout (e.g. piped into `head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("verify-attestation: {message}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
    };
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if data.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!("input larger than {MAX_INPUT_BYTES} bytes"));
    }
    Ok(data)
}

/// Decodes the input bytes per `encoding`.
pub fn decode(data: &[u8], encoding: Encoding) -> Result<Vec<u8>, String> {
    let text = || -> String {
        String::from_utf8_lossy(data)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    match encoding {
        Encoding::Bin => Ok(data.to_vec()),
        Encoding::Hex => hex::decode(text()).map_err(|e| format!("not hex: {e}")),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(text())
            .map_err(|e| format!("not base64: {e}")),
        Encoding::Auto => match data.first() {
            Some(0x84 | 0xd2) => Ok(data.to_vec()),
            _ => {
                let t = text();
                if !t.is_empty() && t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    decode(data, Encoding::Hex)
                } else {
                    decode(data, Encoding::Base64)
                }
            }
        },
    }
}

fn opt_hex(v: Option<&[u8]>) -> Value {
    v.map_or(Value::Null, |b| Value::String(hex::encode(b)))
}

fn certificates(parsed: &ParsedDocument<'_>) -> Value {
    let p = &parsed.payload;
    let ders = p.cabundle.iter().copied().chain([p.certificate]);
    let certs: Vec<Value> = ders
        .enumerate()
        .map(|(i, der)| match x509_parser::parse_x509_certificate(der) {
            Ok((_, c)) => cert_json(i, &c),
            Err(_) => json!({"index": i, "error": "unparseable"}),
        })
        .collect();
    Value::Array(certs)
}

fn cert_json(index: usize, c: &X509Certificate<'_>) -> Value {
    json!({
        "index": index,
        "subject": c.subject().to_string(),
        "issuer": c.issuer().to_string(),
        "not_before": c.validity().not_before.timestamp(),
        "not_after": c.validity().not_after.timestamp(),
    })
}

fn document_json(parsed: &ParsedDocument<'_>) -> Value {
    let p = &parsed.payload;
    let mut pcrs = Map::new();
    for (i, v) in p.pcrs.iter().enumerate() {
        if let Some(v) = v {
            pcrs.insert(i.to_string(), Value::String(hex::encode(v)));
        }
    }
    json!({
        "module_id": p.module_id,
        "timestamp_ms": p.timestamp_ms,
        "pcrs": pcrs,
        "user_data": opt_hex(p.user_data),
        "public_key": opt_hex(p.public_key),
        "nonce": opt_hex(p.nonce),
        "certificates": certificates(parsed),
    })
}

fn outcome(result: Result<(), Rejection>) -> (Value, Option<Rejection>) {
    match result {
        Ok(()) => (json!("passed"), None),
        Err(e) => (
            json!({"failed": e.reason(), "detail": e.to_string()}),
            Some(e),
        ),
    }
}

/// Builds the report and whether the document is valid; `Err` is a usage/input error.
pub fn report(args: &Args) -> Result<(Value, bool), String> {
    let document = decode(&read_input(&args.input)?, args.encoding)?;
    let sets = match &args.trusted_pcrs {
        Some(path) => {
            let json = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(parse_trusted_pcrs_json(&json).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let user_data = match &args.user_data {
        Some(h) => Some(hex::decode(h).map_err(|e| format!("--user-data is not hex: {e}"))?),
        None => None,
    };
    let root = match &args.root {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let root =
                TrustRoot::insecure_custom_root_pem(&pem, None).map_err(|e| e.to_string())?;
            tracing::warn!(sha256 = %root.sha256_hex(), "using a custom trust root instead of AWS Nitro Root-G1");
            root
        }
        None => TrustRoot::aws_nitro_root_g1().map_err(|e| e.to_string())?,
    };
    let now_ms = match args.at {
        Some(secs) => FixedClock::at_secs(secs).0,
        None => crate::attestation::Clock::now_unix_ms(&SystemClock),
    };
    // The verifier's own policy is not used here: each policy check is run and reported
    // separately below, so that unconfigured checks show as skipped.
    let placeholder =
        Policy::new(vec![PcrSet::new([0; 48], [0; 48], [0; 48])]).map_err(|e| e.to_string())?;
    let verifier = NitroVerifier::new(placeholder, root.clone(), Arc::new(FixedClock(now_ms)));

    let mut out = Map::new();
    out.insert("verified_at".into(), json!(now_ms / 1000));
    out.insert(
        "trust_root".into(),
        json!({"aws_nitro_root_g1": root.is_aws(), "sha256": root.sha256_hex()}),
    );
    let mut checks = Map::new();
    let mut first: Option<Rejection> = None;
    match parse(&document) {
        Err(e) => {
            checks.insert(
                "parse".into(),
                json!({"failed": "malformed", "detail": e.to_string()}),
            );
            first = Some(Rejection::Malformed(e));
        }
        Ok(parsed) => {
            checks.insert("parse".into(), json!("passed"));
            out.insert("document".into(), document_json(&parsed));
            let verified = verifier.verify_document_at(&document, now_ms);
            let (v, err) = outcome(verified.as_ref().map(|_| ()).map_err(|e| *e));
            checks.insert("chain_and_signature".into(), v);
            first = first.or(err);
            let p = &parsed.payload;
            let max_age = Duration::from_secs(args.max_age);
            let mut policy_checks: Vec<(&str, Option<Result<(), Rejection>>)> = vec![
                (
                    "freshness",
                    Some(check_freshness(
                        p.timestamp_ms,
                        now_ms,
                        max_age,
                        DEFAULT_MAX_FUTURE_SKEW,
                    )),
                ),
                ("debug_mode", Some(check_debug(&p.pcrs, args.allow_debug))),
            ];
            policy_checks.push(("pcrs", sets.as_ref().map(|s| check_pcrs(&p.pcrs, s))));
            policy_checks.push((
                "user_data",
                user_data
                    .as_ref()
                    .map(|u| check_user_data(p.user_data, &[u.as_slice()])),
            ));
            for (name, result) in policy_checks {
                let v = match result {
                    None => json!("skipped"),
                    Some(r) => {
                        let (v, err) = outcome(r);
                        first = first.or(err);
                        v
                    }
                };
                checks.insert(name.into(), v);
            }
        }
    }
    let valid = first.is_none();
    out.insert("valid".into(), json!(valid));
    out.insert(
        "reason".into(),
        first.map_or(Value::Null, |e| json!(e.reason())),
    );
    out.insert(
        "detail".into(),
        first.map_or(Value::Null, |e| json!(e.to_string())),
    );
    out.insert("checks".into(), Value::Object(checks));
    Ok((Value::Object(out), valid))
}
