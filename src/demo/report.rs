//! The numbers of one run: request counts, latency percentiles (nearest rank), throughput, and
//! the summary table the demo and the benchmark print.

use std::time::Duration;

use serde_json::json;

/// Counts and latencies of one run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Requests sent.
    pub requests: usize,
    /// Requests whose answer passed every end-to-end check.
    pub ok: usize,
    /// Requests that failed (transport, gateway error or a failed check).
    pub failed: usize,
    /// Latency of every request (sent to answer checked), in completion order.
    pub latencies: Vec<Duration>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl Summary {
    /// The `p`-th percentile (0-100) by the nearest-rank method; zero without samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        nearest_rank(&sorted, p)
    }

    /// Requests answered (ok or not) per second of wall time.
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The summary as a Markdown table (also readable as plain text).
    pub fn table(&self) -> String {
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        [
            "| metric | value |".to_owned(),
            "|---|---:|".to_owned(),
            format!("| requests | {} |", self.requests),
            format!("| ok | {} |", self.ok),
            format!("| failed | {} |", self.failed),
            format!("| p50 latency | {} |", ms(self.percentile(50.0))),
            format!("| p90 latency | {} |", ms(self.percentile(90.0))),
            format!("| p99 latency | {} |", ms(self.percentile(99.0))),
            format!("| requests/s | {:.1} |", self.requests_per_sec()),
            format!("| wall time | {:.2} s |", self.elapsed.as_secs_f64()),
        ]
        .join("\n")
    }

    /// The summary as a JSON object (latencies in milliseconds).
    pub fn json(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        json!({
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.failed,
            "p50_ms": ms(self.percentile(50.0)),
            "p90_ms": ms(self.percentile(90.0)),
            "p99_ms": ms(self.percentile(99.0)),
            "requests_per_sec": self.requests_per_sec(),
            "wall_s": self.elapsed.as_secs_f64(),
        })
    }
}

/// Nearest rank: the smallest sample with at least `p`% of the samples at or below it.
fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(ms: &[u64]) -> Summary {
        Summary {
            requests: ms.len(),
            ok: ms.len(),
            failed: 0,
            latencies: ms.iter().map(|m| Duration::from_millis(*m)).collect(),
            elapsed: Duration::from_secs(2),
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=100 ms shuffled: p50 = 50, p90 = 90, p99 = 99.
        let mut values: Vec<u64> = (1..=100).rev().collect();
        values.swap(3, 70);
        let s = summary(&values);
        assert_eq!(s.percentile(50.0), Duration::from_millis(50));
        assert_eq!(s.percentile(90.0), Duration::from_millis(90));
        assert_eq!(s.percentile(99.0), Duration::from_millis(99));
        assert_eq!(s.percentile(100.0), Duration::from_millis(100));
        assert_eq!(s.requests_per_sec(), 50.0);
    }

    #[test]
    fn small_and_empty_samples() {
        let s = summary(&[7, 3]);
        assert_eq!(s.percentile(50.0), Duration::from_millis(3));
        assert_eq!(s.percentile(99.0), Duration::from_millis(7));
        assert_eq!(Summary::default().percentile(50.0), Duration::ZERO);
        assert_eq!(Summary::default().requests_per_sec(), 0.0);
    }

    #[test]
    fn table_lists_every_metric() {
        let table = summary(&[1, 2, 3, 4]).table();
        assert!(table.contains("| requests | 4 |"), "{table}");
        assert!(table.contains("| failed | 0 |"), "{table}");
        assert!(table.contains("| p90 latency | 4.00 ms |"), "{table}");
        assert!(table.contains("| requests/s | 2.0 |"), "{table}");
    }
}
