//! Reconnect delays: jpillora/backoff as the Go connector configures it (factor 2, jitter):
//! attempt n waits uniform(min, min·2ⁿ) clamped to [min, max] (spec §3.4).

use std::time::Duration;

use rand::RngExt;

/// Delay generator for one gateway link.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

/// Beyond this exponent min·2ⁿ exceeds any sane max; stops the shift from overflowing.
const MAX_EXPONENT: u32 = 30;

impl Backoff {
    /// A backoff between `min` and `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next attempt; advances the attempt count.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        if ceiling <= self.min {
            return self.min;
        }
        let span = ceiling.saturating_sub(self.min).as_millis();
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let extra = rand::rng().random_range(0..=span);
        self.min.saturating_add(Duration::from_millis(extra))
    }

    /// The upper bound of the next delay: min·2ⁿ clamped to max.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32 << self.attempt.min(MAX_EXPONENT);
        self.min.saturating_mul(factor).min(self.max).max(self.min)
    }

    /// Back to the first delay (after a link served long enough).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_bounds_and_reset() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(15));
        let ceilings: Vec<u64> = (0..6)
            .map(|_| {
                let ceiling = backoff.ceiling();
                let delay = backoff.next_delay();
                assert!(
                    delay >= Duration::from_secs(1) && delay <= ceiling,
                    "{delay:?}"
                );
                ceiling.as_secs()
            })
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 15, 15]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }
}
