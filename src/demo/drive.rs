//! Sends many good requests through the gateway with bounded concurrency, alternating the two
//! methods, checks every answer, and collects the summary and the failures.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt as _;
use indicatif::ProgressBar;

use super::enclave::{CallKind, CheckError, Enclave};
use super::report::Summary;

/// The result of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Counts, latencies and wall time.
    pub summary: Summary,
    /// Every failed request: (id, why).
    pub failures: Vec<(String, CheckError)>,
}

/// The method of request number `index`: secrets for even numbers, capability for odd ones.
pub fn kind_of(index: usize) -> CallKind {
    if index.is_multiple_of(2) {
        CallKind::Secrets
    } else {
        CallKind::Capability
    }
}

/// Sends `requests` requests with ids `<prefix>-<n>`, at most `concurrency` at a time, and
/// checks each answer end to end. `progress` (if any) advances once per answer.
pub async fn drive(
    enclave: Arc<Enclave>,
    prefix: &str,
    requests: usize,
    concurrency: usize,
    progress: Option<&ProgressBar>,
) -> RunOutcome {
    let started = Instant::now();
    let mut answers = futures_util::stream::iter(0..requests)
        .map(|index| {
            let enclave = enclave.clone();
            let id = format!("{prefix}-{index}");
            async move {
                let outcome = enclave.call(&id, kind_of(index)).await;
                (id, outcome)
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut outcome = RunOutcome::default();
    while let Some((id, result)) = answers.next().await {
        match result {
            Ok(latency) => {
                outcome.summary.ok += 1;
                outcome.summary.latencies.push(latency);
            }
            Err(err) => {
                outcome.summary.failed += 1;
                outcome.failures.push((id, err));
            }
        }
        if let Some(bar) = progress {
            bar.inc(1);
        }
    }
    outcome.summary.requests = requests;
    outcome.summary.elapsed = started.elapsed();
    outcome
}
