//! Helpers shared by the attestation integration tests: the shared INDEX.tsv, decoding of the
//! on-disk encodings, and verifiers configured for one real document.
#![allow(dead_code)]

use std::sync::Arc;

use base64::Engine;
use confidential_relay::attestation::{
    FixedClock, NitroVerifier, PcrSet, PcrValue, Policy, TrustRoot,
};

use crate::common;

/// One row of `testdata/nitro/INDEX.tsv`.
#[derive(Debug, Clone)]
pub struct Row {
    pub source: String,
    pub file: String,
    pub on_disk: String,
    pub kind: String,
    pub expect: String,
    pub verify_at_s: u64,
    pub valid_from_s: u64,
    pub valid_to_s: u64,
    pub timestamp_ms: u64,
    pub pcr0: String,
    pub pcr1: String,
    pub pcr2: String,
    pub user_data: String,
}

/// Every row of the index.
pub fn index() -> Vec<Row> {
    let text = String::from_utf8(common::shared_file("testdata/nitro/INDEX.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let get = |name: &str| f.get(col(name)).copied().unwrap_or("").to_owned();
            let num = |name: &str| get(name).parse::<u64>().unwrap_or(0);
            Row {
                source: get("source"),
                file: get("file"),
                on_disk: get("on_disk"),
                kind: get("kind"),
                expect: get("expect"),
                verify_at_s: num("verify_at_s"),
                valid_from_s: num("valid_from_s"),
                valid_to_s: num("valid_to_s"),
                timestamp_ms: num("doc_timestamp_ms"),
                pcr0: get("pcr0"),
                pcr1: get("pcr1"),
                pcr2: get("pcr2"),
                user_data: get("user_data"),
            }
        })
        .collect()
}

/// Rows that are documents (valid or negative).
pub fn documents() -> Vec<Row> {
    index()
        .into_iter()
        .filter(|r| matches!(r.kind.as_str(), "valid-prod" | "valid-debug" | "negative"))
        .collect()
}

/// The row for `source/file`.
pub fn row(path: &str) -> Row {
    index()
        .into_iter()
        .find(|r| format!("{}/{}", r.source, r.file) == path)
        .unwrap_or_else(|| panic!("no INDEX row {path}"))
}

/// Decoded document bytes of a row.
pub fn load(row: &Row) -> Vec<u8> {
    let raw = common::shared_file(&format!("testdata/nitro/{}/{}", row.source, row.file));
    let text = || -> String {
        String::from_utf8(raw.clone())
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    match row.on_disk.as_str() {
        "binary" => raw,
        "hex" => hex::decode(text()).unwrap(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(text())
            .unwrap(),
        other => panic!("unknown encoding {other}"),
    }
}

/// The shared AWS root file (CB0.der).
pub fn shared_root_der() -> Vec<u8> {
    common::shared_file("testdata/nitro/base-nitro-validator/certchain-2026-04-02-short-s/CB0.der")
}

fn pcr(hex_text: &str) -> PcrValue {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

/// The trusted set made of the row's own PCR0-2.
pub fn own_pcrs(row: &Row) -> PcrSet {
    PcrSet::new(pcr(&row.pcr0), pcr(&row.pcr1), pcr(&row.pcr2))
}

/// The row's user data as bytes (`None` for null; empty for `empty`).
pub fn user_data(row: &Row) -> Option<Vec<u8>> {
    match row.user_data.as_str() {
        "null" => None,
        "empty" => Some(Vec::new()),
        hex_text => Some(hex::decode(hex_text).unwrap()),
    }
}

/// An AWS-rooted verifier trusting the row's PCRs, clock at `verify_at_s`.
pub fn verifier_for(row: &Row, allow_debug: bool) -> NitroVerifier {
    let policy = Policy::new(vec![own_pcrs(row)])
        .unwrap()
        .insecure_allow_debug_enclaves(allow_debug);
    NitroVerifier::new(
        policy,
        TrustRoot::aws_nitro_root_g1().unwrap(),
        Arc::new(FixedClock::at_secs(row.verify_at_s)),
    )
}

/// Unix seconds inside the default fake chain's validity.
pub const FAKE_NOW_S: u64 = 1_700_000_060;

/// Default PCR0-2 of fake documents.
pub const FAKE_PCRS: [[u8; 48]; 3] = [[0x11; 48], [0x22; 48], [0x33; 48]];

/// The 32-byte user data of fake documents.
pub const FAKE_USER_DATA: [u8; 32] = [0xab; 32];

/// A valid spec for the default fake chain at [`FAKE_NOW_S`].
pub fn fake_spec() -> confidential_relay::attestation::fake::DocumentSpec {
    confidential_relay::attestation::fake::DocumentSpec::new(
        FAKE_PCRS,
        &FAKE_USER_DATA,
        FAKE_NOW_S * 1000,
    )
}

/// A verifier trusting the fake attestor's root and [`FAKE_PCRS`], clock at [`FAKE_NOW_S`].
pub fn fake_verifier(att: &confidential_relay::attestation::fake::FakeAttestor) -> NitroVerifier {
    let [a, b, c] = FAKE_PCRS;
    fake_verifier_with(att, Policy::new(vec![PcrSet::new(a, b, c)]).unwrap())
}

/// A verifier trusting the fake attestor's root under `policy`, clock at [`FAKE_NOW_S`].
pub fn fake_verifier_with(
    att: &confidential_relay::attestation::fake::FakeAttestor,
    policy: Policy,
) -> NitroVerifier {
    NitroVerifier::new(
        policy,
        att.trust_root().unwrap(),
        Arc::new(FixedClock::at_secs(FAKE_NOW_S)),
    )
}

/// The reason token of verifying `doc` with the fake verifier and the fake user data.
pub fn fake_reason(
    att: &confidential_relay::attestation::fake::FakeAttestor,
    doc: &[u8],
) -> &'static str {
    match fake_verifier(att).verify_at(doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000) {
        Ok(()) => "accepted",
        Err(e) => e.reason(),
    }
}

/// The CBOR encoding of a byte string (head + content).
pub fn bstr(bytes: &[u8]) -> Vec<u8> {
    confidential_relay::attestation::fake::Cbor::Bytes(bytes.to_vec()).encode()
}

/// The marlin `aws.bin` document ("V" in the spec) and its row.
pub fn marlin() -> (Row, Vec<u8>) {
    let row = row("marlin-oyster/sdks__rs__src__testcases__aws.bin");
    let doc = load(&row);
    (row, doc)
}

/// Reason token of chain + signature verification of a real document at its verify time.
pub fn real_reason(row: &Row, doc: &[u8]) -> &'static str {
    match verifier_for(row, true).verify_document_at(doc, row.verify_at_s * 1000) {
        Ok(_) => "accepted",
        Err(e) => e.reason(),
    }
}
