//! `confidential-relay bench relay`: the demo's in-process stack (dev gateway, 4 relay nodes,
//! mock backends, synthetic enclave) under load, without progress output: throughput, latency
//! percentiles and CPU time per request.
//!
//! Everything runs in one process. Each relay node runs on its own runtime whose threads are
//! named `relay-node-<n>`, so the relay nodes' CPU time (request handling, attestation
//! verification, gRPC clients, websocket links) is read per thread from `/proc/self/task`.
//! The whole process's CPU is also reported, next to the two costs in it that are neither the
//! relay's nor the gateway's, each timed alone on one thread: the enclave's work (params,
//! DomainHash, minting and signing, checking, opening shares) and the mock vault's sealing.
//! CPU times have 10 ms resolution (`USER_HZ`), so runs should last seconds.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::demo::{EXIT_UNEXPECTED, report_run, runtime};
use crate::demo::cpu::{process_cpu_time, threads_cpu_time};
use crate::demo::drive::kind_of;
use crate::demo::stack::NODE_THREAD_PREFIX;
use crate::demo::{CallKind, DemoStack, Enclave, StackOptions, Tamper, drive};

/// Default number of measured requests.
const DEFAULT_REQUESTS: usize = 2000;
/// Default requests in flight at once.
const DEFAULT_CONCURRENCY: usize = 16;
/// Requests sent before measuring (connections, chain caches, allocator warm).
const WARMUP_REQUESTS: usize = 50;
/// Enclave-side repetitions timed for the subtraction.
const CALIBRATION_ROUNDS: usize = 200;

/// Arguments of `bench relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Measured requests (alternating the two methods).
    #[arg(long, default_value_t = DEFAULT_REQUESTS)]
    pub requests: usize,
    /// Requests in flight at once (at least 1).
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// CPU figures of one run, per measured request.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuReport {
    /// Process CPU time (all threads) during the measured run.
    pub total: Duration,
    /// `total` per request.
    pub total_per_request: Duration,
    /// CPU of all relay node threads per request (measured per thread).
    pub relay_nodes_per_request: Duration,
    /// `relay_nodes_per_request` divided by the relay nodes.
    pub per_node_per_request: Duration,
    /// The enclave's build-and-check work per request (timed alone, one thread).
    pub enclave_per_request: Duration,
    /// The mock vault's answers (sealing) per request, over all nodes (timed alone).
    pub vault_per_request: Duration,
    /// The rest of the process: dev gateway, mock gRPC servers, HTTP client.
    pub rest_per_request: Duration,
}

/// Runs the benchmark. Exit 0, 1 if a request failed or CPU time cannot be read, 2 on usage.
pub fn run(args: Args) -> ExitCode {
    if args.concurrency == 0 || args.requests == 0 {
        eprintln!("bench relay: --requests and --concurrency must be at least 1");
        return ExitCode::from(super::EXIT_USAGE);
    }
    let outcome = runtime().and_then(|runtime| runtime.block_on(bench(&args)));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_UNEXPECTED),
        Err(err) => {
            eprintln!("bench relay: {err}");
            ExitCode::from(EXIT_UNEXPECTED)
        }
    }
}

async fn bench(args: &Args) -> Result<bool, String> {
    let stack = DemoStack::start(StackOptions::default())
        .await
        .map_err(|err| err.to_string())?;
    let result = measure(&stack, args).await;
    stack.shutdown().await;
    result
}

async fn measure(stack: &DemoStack, args: &Args) -> Result<bool, String> {
    let enclave = Arc::new(stack.enclave().map_err(|err| err.to_string())?);
    let warmup = drive(
        enclave.clone(),
        "warmup",
        WARMUP_REQUESTS,
        args.concurrency,
        None,
    )
    .await;
    if !warmup.failures.is_empty() {
        return Err(format!("warm-up failed: {:?}", warmup.failures.first()));
    }
    let read = || -> Result<(Duration, Duration), String> {
        let process = process_cpu_time().ok_or("cannot read /proc/self/stat")?;
        let nodes = threads_cpu_time(NODE_THREAD_PREFIX).ok_or("cannot read /proc/self/task")?;
        Ok((process, nodes))
    };
    let (process_before, nodes_before) = read()?;
    let run = drive(
        enclave.clone(),
        "bench",
        args.requests,
        args.concurrency,
        None,
    )
    .await;
    let (process_after, nodes_after) = read()?;
    let enclave_per_request = enclave_cost(&enclave).await?;
    let vault_per_request = vault_cost(stack, args.requests)?;
    let total = process_after.saturating_sub(process_before);
    let divisor = u32::try_from(args.requests).unwrap_or(u32::MAX);
    let total_per_request = total / divisor;
    let relay_nodes_per_request = nodes_after.saturating_sub(nodes_before) / divisor;
    let nodes = u32::try_from(stack.node_count().max(1)).unwrap_or(1);
    let cpu = CpuReport {
        total,
        total_per_request,
        relay_nodes_per_request,
        per_node_per_request: relay_nodes_per_request / nodes,
        enclave_per_request,
        vault_per_request,
        rest_per_request: total_per_request
            .saturating_sub(relay_nodes_per_request)
            .saturating_sub(enclave_per_request)
            .saturating_sub(vault_per_request),
    };
    let mut out = std::io::stdout().lock();
    let io = |err: std::io::Error| format!("cannot write the report: {err}");
    let ok = if args.json {
        let mut report = run.summary.json();
        if let Some(object) = report.as_object_mut() {
            object.insert("concurrency".into(), args.concurrency.into());
            object.insert("relay_nodes".into(), stack.node_count().into());
            object.insert("f".into(), stack.f().into());
            object.insert("profile".into(), profile().into());
            object.insert("cpu".into(), cpu_json(&cpu));
            object.insert("node_successes".into(), json!(stack.node_successes()));
        }
        writeln!(out, "{report}").map_err(io)?;
        run.failures.is_empty()
    } else {
        writeln!(
            out,
            "bench relay: {} requests, {} at a time, {} relay nodes (F = {}), {} build\n",
            args.requests,
            args.concurrency,
            stack.node_count(),
            stack.f(),
            profile()
        )
        .map_err(io)?;
        let ok = report_run(&run, &mut out).map_err(io)?;
        writeln!(out, "\n{}", cpu_table(&cpu, stack.node_count())).map_err(io)?;
        ok
    };
    Ok(ok)
}

/// The enclave's CPU per request, timed on this thread: prepare (params, DomainHash, mint and
/// sign) and check (parse, quorum, open shares, decode) on recorded answers of both methods.
async fn enclave_cost(enclave: &Enclave) -> Result<Duration, String> {
    let mut recorded = Vec::new();
    for kind in [CallKind::Secrets, CallKind::Capability] {
        let id = format!("calibrate-{}", kind.method());
        let prepared = enclave
            .prepare(&id, kind, Tamper::None)
            .map_err(|e| e.to_string())?;
        let (status, body) = enclave.send(&prepared).await.map_err(|e| e.to_string())?;
        recorded.push((prepared, status, body));
    }
    let started = Instant::now();
    for round in 0..CALIBRATION_ROUNDS {
        let Some((prepared, status, body)) = recorded.get(round % 2) else {
            continue;
        };
        enclave
            .prepare(&format!("calibrate-{round}"), kind_of(round), Tamper::None)
            .map_err(|e| e.to_string())?;
        enclave
            .check(prepared, *status, body)
            .map_err(|e| format!("calibration answer failed its check: {e}"))?;
    }
    Ok(started.elapsed() / u32::try_from(CALIBRATION_ROUNDS).unwrap_or(1))
}

/// The mock vault's CPU per measured request: one recorded vault call answered again on this
/// thread, times the vault calls the run made, divided by the measured requests.
fn vault_cost(stack: &DemoStack, requests: usize) -> Result<Duration, String> {
    let recorded = stack.vault().requests();
    let sample = recorded.last().ok_or("the mock vault saw no request")?;
    let started = Instant::now();
    for _ in 0..CALIBRATION_ROUNDS {
        stack.vault().answer(sample)?;
    }
    let per_call = started.elapsed() / u32::try_from(CALIBRATION_ROUNDS).unwrap_or(1);
    // Calls during the measured run only: warm-up and calibration requests are excluded.
    let measured_calls = recorded
        .iter()
        .filter(|request| {
            request
                .metadata
                .as_ref()
                .is_some_and(|m| m.reference_id.starts_with("bench-"))
        })
        .count();
    let calls = u32::try_from(measured_calls).unwrap_or(u32::MAX);
    Ok(per_call * calls / u32::try_from(requests.max(1)).unwrap_or(u32::MAX))
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn cpu_json(cpu: &CpuReport) -> serde_json::Value {
    json!({
        "process_total_ms": cpu.total.as_secs_f64() * 1e3,
        "process_per_request_us": us(cpu.total_per_request),
        "relay_nodes_per_request_us": us(cpu.relay_nodes_per_request),
        "per_node_per_request_us": us(cpu.per_node_per_request),
        "enclave_per_request_us": us(cpu.enclave_per_request),
        "mock_vault_per_request_us": us(cpu.vault_per_request),
        "rest_per_request_us": us(cpu.rest_per_request),
    })
}

fn cpu_table(cpu: &CpuReport, nodes: usize) -> String {
    [
        "| CPU time per request | us |".to_owned(),
        "|---|---:|".to_owned(),
        format!(
            "| relay nodes, all {nodes} (their threads, measured) | {:.0} |",
            us(cpu.relay_nodes_per_request)
        ),
        format!(
            "| one relay node (the above / {nodes}) | {:.0} |",
            us(cpu.per_node_per_request)
        ),
        format!(
            "| whole process (one process runs everything) | {:.0} |",
            us(cpu.total_per_request)
        ),
        format!(
            "| of which enclave build + check (timed alone) | {:.0} |",
            us(cpu.enclave_per_request)
        ),
        format!(
            "| of which mock vault sealing (timed alone) | {:.0} |",
            us(cpu.vault_per_request)
        ),
        format!(
            "| of which the rest: dev gateway, mock gRPC servers, HTTP client | {:.0} |",
            us(cpu.rest_per_request)
        ),
    ]
    .join("\n")
}
