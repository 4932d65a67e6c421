//! `confidential-relay demo`: the whole confidential relay path on this machine, in one
//! process, with no configuration and no network beyond loopback. A synthetic enclave sends
//! attested requests through a dev gateway to 4 relay nodes (F = 1) backed by a mock vault and
//! a mock capability, checks every answer end to end, prints a summary, then shows that bad
//! requests are refused with their reasons. Exit 0 only if everything went as expected.

use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::demo::stack::{DEMO_CAPABILITY_ID, DEMO_SECRETS};
use crate::demo::{CallKind, DemoStack, Enclave, RunOutcome, StackOptions, Tamper, drive};

/// Default number of good requests.
pub const DEFAULT_REQUESTS: usize = 200;
/// Default requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Failures listed in full before the rest are only counted.
const MAX_LISTED_FAILURES: usize = 10;

/// Exit code when a request or a check went wrong.
pub const EXIT_UNEXPECTED: u8 = 1;

/// The bad requests the demo sends: (label, method, how it is spoiled).
pub const BAD_REQUESTS: [(&str, CallKind, Tamper); 3] = [
    (
        "tampered attestation",
        CallKind::Secrets,
        Tamper::BadSignature,
    ),
    ("wrong PCRs", CallKind::Capability, Tamper::WrongPcrs),
    ("bad owner", CallKind::Secrets, Tamper::BadOwner),
];

/// Arguments of `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Good requests to send (alternating confidential.secrets.get and
    /// confidential.capability.execute).
    #[arg(long, default_value_t = DEFAULT_REQUESTS)]
    pub requests: usize,
    /// Requests in flight at once (at least 1).
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
}

/// Builds the multi-threaded runtime the demo and the benchmark run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))
}

/// Runs the demo; the exit code is 0 only when every request verified and every bad request
/// was refused with its expected reason.
pub fn run(args: Args) -> ExitCode {
    if args.concurrency == 0 {
        eprintln!("demo: --concurrency must be at least 1");
        return ExitCode::from(super::EXIT_USAGE);
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("demo: {err}");
            return ExitCode::from(EXIT_UNEXPECTED);
        }
    };
    let mut out = std::io::stdout().lock();
    match runtime.block_on(demo(&args, &mut out)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_UNEXPECTED),
        Err(err) => {
            eprintln!("demo: {err}");
            ExitCode::from(EXIT_UNEXPECTED)
        }
    }
}

/// The demo, writing its report to `out`; `Ok(true)` when everything went as expected.
pub async fn demo(args: &Args, out: &mut impl Write) -> Result<bool, String> {
    let options = StackOptions::default();
    let stack = DemoStack::start(options)
        .await
        .map_err(|err| err.to_string())?;
    let result = exercise(&stack, args, out).await;
    stack.shutdown().await;
    result
}

async fn exercise(stack: &DemoStack, args: &Args, out: &mut impl Write) -> Result<bool, String> {
    let enclave = Arc::new(stack.enclave().map_err(|err| err.to_string())?);
    let io = |err: std::io::Error| format!("cannot write the report: {err}");
    writeln!(
        out,
        "confidential-relay demo: dev gateway + {} relay nodes (F = {}), mock vault ({} secrets), mock capability {DEMO_CAPABILITY_ID}",
        stack.node_count(),
        stack.f(),
        DEMO_SECRETS.len()
    )
    .map_err(io)?;
    writeln!(out, "gateway user endpoint: {}", stack.http_url()).map_err(io)?;
    writeln!(
        out,
        "enclave X25519 public key: {}",
        enclave.public_key_hex()
    )
    .map_err(io)?;
    writeln!(
        out,
        "sending {} requests (alternating confidential.secrets.get / confidential.capability.execute), {} at a time\n",
        args.requests, args.concurrency
    )
    .map_err(io)?;
    let bar = progress_bar(args.requests);
    let run = drive(
        enclave.clone(),
        "demo",
        args.requests,
        args.concurrency,
        bar.as_ref(),
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let good = report_run(&run, out).map_err(io)?;
    let served = stack.node_successes();
    writeln!(out, "\nsuccessful answers per relay node: {served:?}").map_err(io)?;
    writeln!(
        out,
        "\nbad requests (each must be refused with its reason):"
    )
    .map_err(io)?;
    let bad = bad_requests(&enclave, out).await.map_err(io)?;
    let all = good && bad;
    writeln!(
        out,
        "\n{}",
        if all {
            "result: every request verified end to end and every bad request refused as expected"
        } else {
            "result: UNEXPECTED RESULTS (see above)"
        }
    )
    .map_err(io)?;
    Ok(all)
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(requests: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(u64::try_from(requests).unwrap_or(u64::MAX));
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} requests ({elapsed})") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Prints the summary and the failures; true when nothing failed.
pub fn report_run(run: &RunOutcome, out: &mut impl Write) -> std::io::Result<bool> {
    writeln!(out, "{}", run.summary.table())?;
    for (id, err) in run.failures.iter().take(MAX_LISTED_FAILURES) {
        writeln!(out, "FAILED {id}: {err}")?;
    }
    if run.failures.len() > MAX_LISTED_FAILURES {
        writeln!(
            out,
            "... and {} more failures",
            run.failures.len() - MAX_LISTED_FAILURES
        )?;
    }
    Ok(run.failures.is_empty() && run.summary.ok == run.summary.requests)
}

async fn bad_requests(enclave: &Enclave, out: &mut impl Write) -> std::io::Result<bool> {
    let mut all = true;
    for (index, (label, kind, tamper)) in BAD_REQUESTS.into_iter().enumerate() {
        let id = format!("demo-bad-{index}");
        match enclave.expect_refusal(&id, kind, tamper).await {
            Ok(message) => writeln!(
                out,
                "  {label:<22} {:<32} refused: {message}",
                kind.method()
            )?,
            Err(err) => {
                all = false;
                writeln!(out, "  {label:<22} {:<32} UNEXPECTED: {err}", kind.method())?;
            }
        }
    }
    Ok(all)
}
