//! `confidential-relay bench attestation`: measures, in one run on one document, the raw
//! aws-lc-rs P-384 verification, a cold document verification (empty chain cache) and a cached
//! one, and prints medians. The document comes from the fake attestor (same shape as AWS's:
//! four-certificate cabundle, P-384 everywhere), so the benchmark needs no real enclave.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, UnparsedPublicKey};
use serde_json::json;

use crate::attestation::fake::{DocumentSpec, FakeAttestor};
use crate::attestation::{FixedClock, NitroVerifier, PcrSet, Policy, cose};

/// Default number of timed iterations per measurement.
const DEFAULT_ITERATIONS: u32 = 300;

/// Arguments of `bench attestation`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Timed iterations per measurement (the median is reported).
    #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
    pub iterations: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The medians of one benchmark run, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// `UnparsedPublicKey::verify` (key parse + ECDSA P-384 verify) of the COSE signature.
    pub raw_verify_us: f64,
    /// Full verification with the chain cache disabled.
    pub cold_us: f64,
    /// Full verification with the chain cached.
    pub cached_us: f64,
}

impl Report {
    /// Cached verifications per second on one core.
    pub fn docs_per_sec_per_core(&self) -> f64 {
        if self.cached_us > 0.0 {
            1e6 / self.cached_us
        } else {
            0.0
        }
    }
}

fn median_us(iterations: u32, mut f: impl FnMut() -> bool) -> Result<f64, String> {
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let start = Instant::now();
        let ok = f();
        samples.push(start.elapsed());
        if !ok {
            return Err("a benchmarked verification failed".into());
        }
    }
    samples.sort_unstable();
    let mid = samples.get(samples.len() / 2).copied().unwrap_or_default();
    Ok(mid.as_secs_f64() * 1e6)
}

/// Runs the benchmark with `iterations` samples per measurement.
pub fn measure(iterations: u32) -> Result<Report, String> {
    let iterations = iterations.max(1);
    let att = FakeAttestor::new().map_err(|e| e.to_string())?;
    let now_ms = 1_700_000_060_000;
    let pcrs = [[0x11; 48], [0x22; 48], [0x33; 48]];
    let user_data = [0xab; 32];
    let doc = att
        .mint(&DocumentSpec::new(pcrs, &user_data, now_ms))
        .map_err(|e| e.to_string())?;
    let policy =
        Policy::new(vec![PcrSet::new(pcrs[0], pcrs[1], pcrs[2])]).map_err(|e| e.to_string())?;
    let root = att.trust_root().map_err(|e| e.to_string())?;
    let clock = Arc::new(FixedClock(now_ms));
    let cold = NitroVerifier::with_cache_capacity(policy.clone(), root.clone(), clock.clone(), 0);
    let cached = NitroVerifier::new(policy, root, clock);

    let parsed = crate::attestation::parse(&doc).map_err(|e| e.to_string())?;
    let message = cose::sig_structure(parsed.protected, parsed.payload_bytes);
    let key = att.signing_public_key().map_err(|e| e.to_string())?;
    let raw_key = UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, key.as_slice());
    let ud: &[u8] = &user_data;

    // Warm up every path once (and fill the cache).
    let warm = raw_key.verify(&message, parsed.signature).is_ok()
        && cold.verify_at(&doc, &[ud], now_ms).is_ok()
        && cached.verify_at(&doc, &[ud], now_ms).is_ok();
    if !warm {
        return Err("benchmark document did not verify".into());
    }
    // Interleave rounds so that frequency changes affect all three alike.
    let rounds = 3;
    let per_round = iterations.div_ceil(rounds);
    let (mut raw, mut cold_s, mut cached_s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        raw.push(median_us(per_round, || {
            raw_key.verify(&message, parsed.signature).is_ok()
        })?);
        cold_s.push(median_us(per_round, || {
            cold.verify_at(&doc, &[ud], now_ms).is_ok()
        })?);
        cached_s.push(median_us(per_round, || {
            cached.verify_at(&doc, &[ud], now_ms).is_ok()
        })?);
    }
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    Ok(Report {
        raw_verify_us: mid(raw),
        cold_us: mid(cold_s),
        cached_us: mid(cached_s),
    })
}

/// The report as a Markdown table (the README shows this output).
pub fn table(report: &Report, iterations: u32) -> String {
    let raw = report.raw_verify_us;
    [
        format!("| measurement (median of {iterations} runs) | us | x raw |"),
        "|---|---:|---:|".to_owned(),
        format!("| raw P-384 verify (aws-lc-rs) | {raw:.1} | 1.00 |"),
        format!(
            "| cold document verification (empty cache) | {:.1} | {:.2} |",
            report.cold_us,
            report.cold_us / raw
        ),
        format!(
            "| cached document verification | {:.1} | {:.2} |",
            report.cached_us,
            report.cached_us / raw
        ),
        format!(
            "| documents per second per core (cached) | {:.0} | |",
            report.docs_per_sec_per_core()
        ),
    ]
    .join("\n")
}

/// Runs the benchmark and prints the table (or JSON). Exit 0, or 1 if verification failed.
pub fn run(args: Args) -> ExitCode {
    let report = match measure(args.iterations) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("bench attestation: {err}");
            return ExitCode::FAILURE;
        }
    };
    let out = if args.json {
        json!({
            "iterations": args.iterations,
            "raw_p384_verify_median_us": report.raw_verify_us,
            "cold_verify_median_us": report.cold_us,
            "cached_verify_median_us": report.cached_us,
            "cached_over_raw": report.cached_us / report.raw_verify_us,
            "cold_over_raw": report.cold_us / report.raw_verify_us,
            "docs_per_sec_per_core": report.docs_per_sec_per_core(),
        })
        .to_string()
    } else {
        table(&report, args.iterations)
    };
    // A closed stdout (e.g. piped into `head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{out}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_all_three_paths() {
        let report = measure(3).unwrap();
        assert!(report.raw_verify_us > 0.0);
        // Cold verification runs five P-384 verifications; it cannot be cheaper than one.
        assert!(report.cold_us > report.raw_verify_us);
        assert!(report.cached_us > 0.0);
    }
}
