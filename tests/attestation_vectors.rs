//! Published test vectors in `testdata/attestation/`: documents minted by the fake attestor
//! (valid ones in every encoding variant AWS uses, one per bad-input class) and
//! `manifest.json` describing how to verify each and the expected verdict.
//!
//! Regenerate (new keys, so every file changes):
//!
//! ```text
//! cargo test --test attestation_vectors -- --ignored regenerate_vectors
//! ```
//!
//! The other tests run the committed manifest through the verifier and through the CLI.

mod attestation_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use attestation_support::*;
use base64::Engine;
use confidential_relay::attestation::fake::{
    ChainOptions, DocumentSpec, FakeAttestor, Field, LeafCurve, mutate,
};
use confidential_relay::attestation::{
    FixedClock, NitroVerifier, Policy, TrustRoot, parse_trusted_pcrs_json,
};
use serde_json::{Value, json};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/attestation")
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

struct Writer {
    entries: Vec<Value>,
    roots: Vec<(String, Vec<u8>)>,
}

impl Writer {
    fn root_name(&mut self, att: &FakeAttestor) -> String {
        if let Some((name, _)) = self.roots.iter().find(|(_, d)| d == att.root_der()) {
            return name.clone();
        }
        let name = format!("root-{}.pem", self.roots.len());
        self.roots.push((name.clone(), att.root_der().to_vec()));
        name
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        encoding: &str,
        doc: &[u8],
        att: &FakeAttestor,
        verify_at_s: u64,
        pcrs: [[u8; 48]; 3],
        expect: &str,
        reason: Option<&str>,
    ) {
        let (file, bytes) = match encoding {
            "bin" => (format!("{name}.bin"), doc.to_vec()),
            "hex" => (format!("{name}.hex"), hex::encode(doc).into_bytes()),
            _ => (
                format!("{name}.b64"),
                base64::engine::general_purpose::STANDARD
                    .encode(doc)
                    .into_bytes(),
            ),
        };
        std::fs::write(dir().join(&file), bytes).unwrap();
        let root = self.root_name(att);
        self.entries.push(json!({
            "file": file,
            "encoding": encoding,
            "verify_at_s": verify_at_s,
            "trust_root": root,
            "trusted_pcrs": [{"pcr0": hex::encode(pcrs[0]), "pcr1": hex::encode(pcrs[1]), "pcr2": hex::encode(pcrs[2])}],
            "expected_user_data": hex::encode(FAKE_USER_DATA),
            "allow_debug": false,
            "max_age_s": 300,
            "max_future_skew_s": 30,
            "expected": expect,
            "reason": reason,
        }));
    }
}

#[test]
#[ignore = "rewrites testdata/attestation; run explicitly to regenerate"]
fn regenerate_vectors() {
    std::fs::create_dir_all(dir()).unwrap();
    for entry in std::fs::read_dir(dir()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let mut w = Writer {
        entries: vec![],
        roots: vec![],
    };
    let att = FakeAttestor::new().unwrap();
    let now = FAKE_NOW_S;
    let spec = fake_spec();
    let valid = att.mint(&spec).unwrap();
    for enc in ["bin", "b64", "hex"] {
        w.add(
            "valid-definite",
            enc,
            &valid,
            &att,
            now,
            FAKE_PCRS,
            "ACCEPT",
            None,
        );
    }
    let indefinite = att
        .mint(&DocumentSpec {
            indefinite_map: true,
            ..spec.clone()
        })
        .unwrap();
    w.add(
        "valid-indefinite-map",
        "bin",
        &indefinite,
        &att,
        now,
        FAKE_PCRS,
        "ACCEPT",
        None,
    );
    w.add(
        "valid-tag18",
        "bin",
        &mutate::tagged(&valid, 18),
        &att,
        now,
        FAKE_PCRS,
        "ACCEPT",
        None,
    );
    let empty = att
        .mint(&DocumentSpec {
            public_key: Field::Bytes(vec![]),
            nonce: Field::Absent,
            ..spec.clone()
        })
        .unwrap();
    w.add(
        "valid-empty-public-key-absent-nonce",
        "bin",
        &empty,
        &att,
        now,
        FAKE_PCRS,
        "ACCEPT",
        None,
    );
    w.add(
        "valid-malleable-twin",
        "bin",
        &mutate::malleable_twin(&valid).unwrap(),
        &att,
        now,
        FAKE_PCRS,
        "ACCEPT",
        None,
    );
    let mut seventeen = spec.clone();
    seventeen.pcrs.push((16, vec![0x16; 48]));
    w.add(
        "valid-pcr16",
        "bin",
        &att.mint(&seventeen).unwrap(),
        &att,
        now,
        FAKE_PCRS,
        "ACCEPT",
        None,
    );

    let other = FakeAttestor::new().unwrap();
    let foreign = other.mint(&spec).unwrap();
    w.add(
        "bad-untrusted-root",
        "bin",
        &foreign,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("untrusted_root"),
    );
    w.add(
        "bad-expired",
        "bin",
        &valid,
        &att,
        now + 4 * 3600,
        FAKE_PCRS,
        "REJECT",
        Some("expired"),
    );
    w.add(
        "bad-not-yet-valid",
        "bin",
        &valid,
        &att,
        1_699_999_999,
        FAKE_PCRS,
        "REJECT",
        Some("expired"),
    );
    let flipped = mutate::replace_once(&valid, &FAKE_PCRS[1], &[0x23; 48]).unwrap();
    w.add(
        "bad-signature-payload-bit",
        "bin",
        &flipped,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("bad_signature"),
    );
    w.add(
        "bad-trailing-bytes",
        "bin",
        &mutate::with_trailing(&valid, &[0]),
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    w.add(
        "bad-tag19",
        "bin",
        &mutate::tagged(&valid, 19),
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    let sig95 = mutate::with_signature(&valid, &[1; 95]).unwrap();
    w.add(
        "bad-signature-95-bytes",
        "bin",
        &sig95,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    let payload = mutate::Parts::split(&valid).unwrap().payload;
    let es256 = att
        .sign_with_protected(&[0xa1, 0x01, 0x26], &payload)
        .unwrap();
    w.add(
        "bad-protected-es256",
        "bin",
        &es256,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    let mut entries = att.payload_entries(&spec);
    let dup = entries
        .iter()
        .find(|(k, _)| *k == confidential_relay::attestation::fake::Cbor::text("pcrs"))
        .unwrap()
        .clone();
    entries.push(dup);
    let dup_doc = att
        .sign_payload(&confidential_relay::attestation::fake::Cbor::Map(entries).encode())
        .unwrap();
    w.add(
        "bad-duplicate-pcrs-key",
        "bin",
        &dup_doc,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    let mut digest = att.payload_entries(&spec);
    digest[1].1 = confidential_relay::attestation::fake::Cbor::text("SHA256");
    let digest_doc = att
        .sign_payload(&confidential_relay::attestation::fake::Cbor::Map(digest).encode())
        .unwrap();
    w.add(
        "bad-digest-sha256",
        "bin",
        &digest_doc,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    let no_break = mutate::drop_final_payload_byte(&indefinite).unwrap();
    w.add(
        "bad-indefinite-map-no-break",
        "bin",
        &no_break,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("malformed"),
    );
    for (name, options) in [
        (
            "bad-chain-unknown-critical-extension",
            ChainOptions {
                leaf_unknown_critical_extension: true,
                ..ChainOptions::default()
            },
        ),
        (
            "bad-chain-pathlen",
            ChainOptions {
                extra_ca_below_instance: true,
                ..ChainOptions::default()
            },
        ),
        (
            "bad-chain-p256-leaf",
            ChainOptions {
                leaf_curve: LeafCurve::P256,
                ..ChainOptions::default()
            },
        ),
    ] {
        let a = FakeAttestor::with_options(options).unwrap();
        let d = a.mint(&spec).unwrap();
        w.add(
            name,
            "bin",
            &d,
            &a,
            now,
            FAKE_PCRS,
            "REJECT",
            Some("chain_invalid"),
        );
    }
    let debug = att
        .mint(&DocumentSpec::new(
            [[0; 48]; 3],
            &FAKE_USER_DATA,
            now * 1000,
        ))
        .unwrap();
    w.add(
        "bad-debug-enclave",
        "bin",
        &debug,
        &att,
        now,
        [[0; 48]; 3],
        "REJECT",
        Some("debug_enclave"),
    );
    w.add(
        "bad-pcr-mismatch",
        "bin",
        &valid,
        &att,
        now,
        [[0x11; 48], [0x22; 48], [0x34; 48]],
        "REJECT",
        Some("pcr_mismatch"),
    );
    let other_ud = att
        .mint(&DocumentSpec::new(FAKE_PCRS, &[0xcd; 32], now * 1000))
        .unwrap();
    w.add(
        "bad-user-data-mismatch",
        "bin",
        &other_ud,
        &att,
        now,
        FAKE_PCRS,
        "REJECT",
        Some("user_data_mismatch"),
    );
    w.add(
        "bad-stale",
        "bin",
        &valid,
        &att,
        now + 301,
        FAKE_PCRS,
        "REJECT",
        Some("stale"),
    );
    w.add(
        "bad-future",
        "bin",
        &valid,
        &att,
        now - 31,
        FAKE_PCRS,
        "REJECT",
        Some("future"),
    );

    for (name, der) in &w.roots {
        std::fs::write(dir().join(name), pem(der)).unwrap();
    }
    let manifest = json!({
        "description": "Nitro attestation test vectors minted by confidential-relay's fake attestor (P-384 root -> 3 CAs -> leaf). Verify each file (decoded per `encoding`) at `verify_at_s` with `trust_root` (PEM in this folder) as the only root, the `trusted_pcrs` sets, `expected_user_data`, the debug/freshness settings, and compare with `expected`/`reason`.",
        "regenerate": "cargo test --test attestation_vectors -- --ignored regenerate_vectors",
        "vectors": w.entries,
    });
    std::fs::write(
        dir().join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
}

fn manifest() -> Vec<Value> {
    let text =
        std::fs::read(dir().join("manifest.json")).expect("testdata/attestation/manifest.json");
    let m: Value = serde_json::from_slice(&text).unwrap();
    m["vectors"].as_array().unwrap().clone()
}

fn decode(entry: &Value) -> Vec<u8> {
    let raw = std::fs::read(dir().join(entry["file"].as_str().unwrap())).unwrap();
    match entry["encoding"].as_str().unwrap() {
        "bin" => raw,
        "hex" => hex::decode(raw).unwrap(),
        _ => base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap(),
    }
}

fn root_der(entry: &Value) -> Vec<u8> {
    let pem = std::fs::read_to_string(dir().join(entry["trust_root"].as_str().unwrap())).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn manifest_verdicts_hold_in_the_verifier() {
    let entries = manifest();
    assert_eq!(entries.len(), 27);
    let mut reasons = std::collections::BTreeSet::new();
    for e in &entries {
        let sets = parse_trusted_pcrs_json(e["trusted_pcrs"].to_string().as_bytes()).unwrap();
        let policy = Policy::new(sets)
            .unwrap()
            .insecure_allow_debug_enclaves(e["allow_debug"].as_bool().unwrap())
            .with_max_age(Duration::from_secs(e["max_age_s"].as_u64().unwrap()))
            .with_max_future_skew(Duration::from_secs(
                e["max_future_skew_s"].as_u64().unwrap(),
            ));
        let at = e["verify_at_s"].as_u64().unwrap();
        let verifier = NitroVerifier::new(
            policy,
            TrustRoot::insecure_custom_root(root_der(e), None).unwrap(),
            Arc::new(FixedClock::at_secs(at)),
        );
        let ud = hex::decode(e["expected_user_data"].as_str().unwrap()).unwrap();
        let got = verifier.verify_at(&decode(e), &[&ud], at * 1000);
        match e["expected"].as_str().unwrap() {
            "ACCEPT" => assert_eq!(got, Ok(()), "{}", e["file"]),
            _ => {
                let reason = got.unwrap_err().reason();
                assert_eq!(Some(reason), e["reason"].as_str(), "{}", e["file"]);
                reasons.insert(reason);
            }
        }
    }
    assert_eq!(reasons.len(), 10, "{reasons:?}");
}

#[test]
fn manifest_verdicts_hold_in_the_cli() {
    for e in manifest() {
        let pcrs = std::env::temp_dir().join(format!("vectors-{}-pcrs.json", std::process::id()));
        std::fs::write(&pcrs, e["trusted_pcrs"].to_string()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
            .arg("verify-attestation")
            .arg(dir().join(e["file"].as_str().unwrap()))
            .args([
                "--encoding",
                if e["encoding"] == "b64" {
                    "base64"
                } else {
                    e["encoding"].as_str().unwrap()
                },
            ])
            .args(["--at", &e["verify_at_s"].to_string()])
            .arg("--root")
            .arg(dir().join(e["trust_root"].as_str().unwrap()))
            .arg("--trusted-pcrs")
            .arg(&pcrs)
            .args(["--user-data", e["expected_user_data"].as_str().unwrap()])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let accept = e["expected"] == "ACCEPT";
        assert_eq!(
            out.status.code(),
            Some(if accept { 0 } else { 1 }),
            "{}",
            e["file"]
        );
        assert_eq!(report["reason"], e["reason"], "{}", e["file"]);
    }
}
