//! The relay's policy on a *verified* document: freshness, debug-mode refusal, trusted PCR
//! sets and the `user_data` binding. Also the parser of Chainlink's trusted-PCR JSON.

use std::time::Duration;

use serde_json::Value;

use super::error::{ConfigError, Rejection};
use super::limits::{MAX_PCRS, PCR_POLICY_LENGTH};
use super::verifier::VerifiedDocument;

/// Default maximum document age (the reference's 5-minute window).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Default tolerated future skew of the document timestamp (enclave and relay clocks differ by
/// seconds; the Sui vector is 2 s ahead of its own test clock).
pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(30);

/// One PCR value as the policy compares it.
pub type PcrValue = [u8; PCR_POLICY_LENGTH];

/// A trusted set: PCR0, PCR1, PCR2 and optionally further indices, all of which must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSet {
    /// `(index, value)` pairs sorted by index; always contains 0, 1 and 2.
    values: Vec<(u8, PcrValue)>,
}

impl PcrSet {
    /// A set of PCR0-2.
    pub fn new(pcr0: PcrValue, pcr1: PcrValue, pcr2: PcrValue) -> Self {
        Self {
            values: vec![(0, pcr0), (1, pcr1), (2, pcr2)],
        }
    }

    /// Also requires PCR `index` (3-31) to equal `value`.
    pub fn with_pcr(mut self, index: u8, value: PcrValue) -> Self {
        self.values.retain(|(i, _)| *i != index);
        self.values.push((index, value));
        self.values.sort_by_key(|(i, _)| *i);
        self
    }

    /// The `(index, value)` pairs this set requires.
    pub fn values(&self) -> &[(u8, PcrValue)] {
        &self.values
    }

    /// The first index whose value differs from (or is missing in) `pcrs`, if any.
    fn first_mismatch(&self, pcrs: &[Option<&[u8]>; MAX_PCRS]) -> Option<u8> {
        self.values.iter().find_map(|(index, expected)| {
            let actual = pcrs.get(usize::from(*index)).copied().flatten();
            (actual != Some(expected.as_slice())).then_some(*index)
        })
    }
}

/// Parses Chainlink's trusted-PCR JSON: one object `{"pcr0": "<hex>", "pcr1": ..., "pcr2": ...}`
/// or a non-empty array of them. Each value is 48 bytes of hex; keys `pcr3`..`pcr31` add
/// further required indices; any other key is refused.
pub fn parse_trusted_pcrs_json(json: &[u8]) -> Result<Vec<PcrSet>, ConfigError> {
    let err = |m: String| ConfigError::TrustedPcrs(m);
    let value: Value = serde_json::from_slice(json).map_err(|e| err(format!("not JSON: {e}")))?;
    let objects = match value {
        Value::Array(items) if items.is_empty() => return Err(err("empty array".into())),
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err(err("expected an object or an array of objects".into())),
    };
    objects
        .iter()
        .enumerate()
        .map(|(n, object)| parse_set(object).map_err(|m| err(format!("set {n}: {m}"))))
        .collect()
}

fn parse_set(object: &Value) -> Result<PcrSet, String> {
    let map = object.as_object().ok_or("not an object")?;
    let mut values: Vec<(u8, PcrValue)> = Vec::new();
    for (key, value) in map {
        let index = key
            .strip_prefix("pcr")
            .filter(|d| !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|i| usize::from(*i) < MAX_PCRS && (key.len() == 4 || !key.starts_with("pcr0")))
            .ok_or_else(|| format!("unknown key {key:?}"))?;
        let text = value
            .as_str()
            .ok_or_else(|| format!("{key} is not a string"))?;
        let bytes = hex::decode(text).map_err(|_| format!("{key} is not hex"))?;
        let pcr: PcrValue = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("{key} is {} bytes, expected {PCR_POLICY_LENGTH}", b.len())
        })?;
        values.push((index, pcr));
    }
    let take = |i: u8| {
        values
            .iter()
            .find(|(index, _)| *index == i)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("missing pcr{i}"))
    };
    let mut set = PcrSet::new(take(0)?, take(1)?, take(2)?);
    for (index, value) in values.iter().filter(|(i, _)| *i > 2) {
        set = set.with_pcr(*index, *value);
    }
    Ok(set)
}

/// The per-request policy of a [`super::NitroVerifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    trusted_pcrs: Vec<PcrSet>,
    insecure_allow_debug_enclaves: bool,
    max_age: Duration,
    max_future_skew: Duration,
}

impl Policy {
    /// A policy trusting `trusted_pcrs` (at least one set), refusing debug enclaves, with the
    /// default freshness window.
    pub fn new(trusted_pcrs: Vec<PcrSet>) -> Result<Self, ConfigError> {
        if trusted_pcrs.is_empty() {
            return Err(ConfigError::TrustedPcrs("no trusted PCR set".into()));
        }
        Ok(Self {
            trusted_pcrs,
            insecure_allow_debug_enclaves: false,
            max_age: DEFAULT_MAX_AGE,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
        })
    }

    /// Accepts debug-mode enclaves (PCR0-2 all zero) if their PCRs are trusted. Development only.
    pub fn insecure_allow_debug_enclaves(mut self, allow: bool) -> Self {
        self.insecure_allow_debug_enclaves = allow;
        self
    }

    /// Sets the maximum document age.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets the tolerated future skew.
    pub fn with_max_future_skew(mut self, skew: Duration) -> Self {
        self.max_future_skew = skew;
        self
    }

    /// Whether debug-mode enclaves (PCR0-2 all zero) are accepted.
    pub fn allows_debug_enclaves(&self) -> bool {
        self.insecure_allow_debug_enclaves
    }

    /// The oldest document timestamp accepted, relative to the verification time.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// How far in the future a document timestamp may be.
    pub fn max_future_skew(&self) -> Duration {
        self.max_future_skew
    }

    /// The trusted sets.
    pub fn trusted_pcrs(&self) -> &[PcrSet] {
        &self.trusted_pcrs
    }

    /// Checks freshness, debug mode, PCRs and user data, in that order.
    pub fn check(
        &self,
        doc: &VerifiedDocument<'_>,
        user_data_candidates: &[&[u8]],
        now_ms: u64,
    ) -> Result<(), Rejection> {
        check_freshness(
            doc.timestamp_ms(),
            now_ms,
            self.max_age,
            self.max_future_skew,
        )?;
        check_debug(doc.pcrs(), self.insecure_allow_debug_enclaves)?;
        check_pcrs(doc.pcrs(), &self.trusted_pcrs)?;
        check_user_data(doc.user_data(), user_data_candidates)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `stale` when older than `max_age`, `future` when ahead by more than `skew`.
pub fn check_freshness(
    timestamp_ms: u64,
    now_ms: u64,
    max_age: Duration,
    skew: Duration,
) -> Result<(), Rejection> {
    if timestamp_ms > now_ms {
        let ahead_ms = timestamp_ms - now_ms;
        if ahead_ms > millis(skew) {
            return Err(Rejection::Future {
                ahead_ms,
                max_ms: millis(skew),
            });
        }
    } else {
        let age_ms = now_ms - timestamp_ms;
        if age_ms > millis(max_age) {
            return Err(Rejection::Stale {
                age_ms,
                max_ms: millis(max_age),
            });
        }
    }
    Ok(())
}

/// Whether PCR0-2 are present and all zero (a debug-mode enclave).
pub fn is_debug_mode(pcrs: &[Option<&[u8]>; MAX_PCRS]) -> bool {
    pcrs.iter()
        .take(3)
        .all(|p| p.is_some_and(|v| v.iter().all(|b| *b == 0)))
}

/// `debug_enclave` for a debug-mode document unless allowed.
pub fn check_debug(pcrs: &[Option<&[u8]>; MAX_PCRS], allow: bool) -> Result<(), Rejection> {
    if is_debug_mode(pcrs) && !allow {
        return Err(Rejection::DebugEnclave);
    }
    Ok(())
}

/// `pcr_mismatch` unless one set matches exactly (byte comparison, no wildcards).
pub fn check_pcrs(pcrs: &[Option<&[u8]>; MAX_PCRS], sets: &[PcrSet]) -> Result<(), Rejection> {
    let mut first = None;
    for set in sets {
        match set.first_mismatch(pcrs) {
            None => return Ok(()),
            Some(index) => {
                first.get_or_insert(index);
            }
        }
    }
    Err(Rejection::PcrMismatch {
        sets: sets.len(),
        index: first.unwrap_or(0),
    })
}

/// `user_data_mismatch` unless `user_data` is present and equals one candidate exactly.
pub fn check_user_data(user_data: Option<&[u8]>, candidates: &[&[u8]]) -> Result<(), Rejection> {
    let data = user_data.ok_or(Rejection::UserDataAbsent)?;
    if candidates.contains(&data) {
        Ok(())
    } else {
        Err(Rejection::UserDataMismatch)
    }
}
