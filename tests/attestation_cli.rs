//! `confidential-relay verify-attestation` end to end: JSON report, exit codes 0/1/2,
//! encodings, custom root, skipped checks.

mod attestation_support;
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use attestation_support::*;
use base64::Engine;
use confidential_relay::attestation::fake::FakeAttestor;
use serde_json::Value;

fn shared(path: &str) -> String {
    common::shared_dir()
        .join("testdata/nitro")
        .join(path)
        .display()
        .to_string()
}

fn temp(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("attest-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> (i32, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
        .arg("verify-attestation")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pcr_file(row: &Row) -> PathBuf {
    let json = format!(
        r#"[{{"pcr0":"{}","pcr1":"{}","pcr2":"{}"}}]"#,
        "00".repeat(48),
        "00".repeat(48),
        "00".repeat(48)
    );
    let own = format!(
        r#"{{"pcr0":"{}","pcr1":"{}","pcr2":"{}"}}"#,
        row.pcr0, row.pcr1, row.pcr2
    );
    let both = format!("[{}, {}]", &json[1..json.len() - 1], own);
    temp(&format!("{}.pcrs.json", row.file), both.as_bytes())
}

#[test]
fn valid_document_reports_fields_and_exits_0() {
    let (row, _) = marlin();
    let pcrs = pcr_file(&row);
    let at = row.verify_at_s.to_string();
    let (code, json, _) = run(
        &[
            &shared("marlin-oyster/sdks__rs__src__testcases__aws.bin"),
            "--at",
            &at,
            "--trusted-pcrs",
            pcrs.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["reason"], Value::Null);
    assert_eq!(
        json["document"]["module_id"],
        "i-0f1cd77d37fd8bcc9-enc018e7aa61e2040ff"
    );
    assert_eq!(json["document"]["timestamp_ms"], 1_734_075_478_960u64);
    assert_eq!(json["document"]["pcrs"]["0"], row.pcr0.as_str());
    assert_eq!(json["document"]["user_data"], Value::Null);
    assert_eq!(
        json["document"]["certificates"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        json["document"]["certificates"][0]["subject"],
        "C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves"
    );
    assert_eq!(json["checks"]["pcrs"], "passed");
    assert_eq!(json["checks"]["user_data"], "skipped");
    assert_eq!(json["trust_root"]["aws_nitro_root_g1"], true);
}

#[test]
fn rejections_exit_1_with_reason_tokens() {
    let at = "1731627990";
    let sui_hex = shared("sui/FIXED_VALID_ATTESTATION.hex");
    let (code, json, _) = run(&[&sui_hex], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("expired")));
    let (code, json, _) = run(&[&sui_hex, "--at", at], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("debug_enclave")));
    let (code, json, _) = run(&[&sui_hex, "--at", at, "--allow-debug"], None);
    assert_eq!((code, json["valid"].as_bool()), (0, Some(true)), "{json}");
    let (code, json, _) = run(
        &[&sui_hex, "--at", at, "--allow-debug", "--user-data", "00"],
        None,
    );
    assert_eq!(
        (code, json["reason"].as_str()),
        (1, Some("user_data_mismatch"))
    );
    let ud = "5a264748a62368075d34b9494634a3e096e0e48f6647f965b81d2a653de684f2";
    let (code, json, _) = run(
        &[&sui_hex, "--at", at, "--allow-debug", "--user-data", ud],
        None,
    );
    assert_eq!(
        (code, &json["checks"]["user_data"]),
        (0, &Value::from("passed"))
    );
    let (code, json, _) = run(&[&sui_hex, "--at", "1731628400", "--allow-debug"], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("stale")));
    let (code, json, _) = run(
        &[
            &sui_hex,
            "--at",
            "1731628400",
            "--allow-debug",
            "--max-age",
            "600",
        ],
        None,
    );
    assert_eq!(code, 0, "{json}");
    let bad = shared("eternis-remote-attestation-verifier/fixtures__invalid_attestation.b64");
    let (code, json, _) = run(&[&bad, "--at", "1721770181", "--allow-debug"], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("bad_signature")));
    let malformed = shared(
        "base-nitro-validator/HintedNitroAttestation.t.sol__realAttestation.as-published.bin",
    );
    let (code, json, _) = run(&[&malformed], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("malformed")));
    assert_eq!(json["document"], Value::Null);
}

#[test]
fn encodings_and_stdin() {
    let row = row("sui/FIXED_VALID_ATTESTATION.bin");
    let raw = load(&row);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let at = "1731627990";
    for (input, encoding) in [
        (raw.clone(), "bin"),
        (hex::encode(&raw).into_bytes(), "hex"),
        (b64.clone().into_bytes(), "base64"),
        (raw.clone(), "auto"),
        (b64.into_bytes(), "auto"),
        (hex::encode(&raw).into_bytes(), "auto"),
    ] {
        let (code, json, _) = run(
            &["-", "--encoding", encoding, "--at", at, "--allow-debug"],
            Some(&input),
        );
        assert_eq!(code, 0, "{encoding}: {json}");
    }
    let (code, _, _) = run(&["-", "--encoding", "hex", "--at", at], Some(b"zz"));
    assert_eq!(code, 2);
}

#[test]
fn usage_errors_exit_2() {
    let doc = shared("sui/FIXED_VALID_ATTESTATION.bin");
    let missing_pcr2 = temp(
        "missing-pcr2.json",
        format!(r#"{{"pcr0":"{0}","pcr1":"{0}"}}"#, "00".repeat(48)).as_bytes(),
    );
    let short_pcr = temp("short.json", br#"{"pcr0":"00","pcr1":"00","pcr2":"00"}"#);
    for args in [
        vec!["/nonexistent/document"],
        vec![doc.as_str(), "--user-data", "xyz"],
        vec![
            doc.as_str(),
            "--trusted-pcrs",
            missing_pcr2.to_str().unwrap(),
        ],
        vec![doc.as_str(), "--trusted-pcrs", short_pcr.to_str().unwrap()],
        vec![doc.as_str(), "--root", "/nonexistent/root.pem"],
        vec![doc.as_str(), "--encoding", "utf7"],
    ] {
        let (code, _, stderr) = run(&args, None);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
}

#[test]
fn custom_root_accepts_fake_documents() {
    let att = FakeAttestor::new().unwrap();
    let doc = att.mint(&fake_spec()).unwrap();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(att.root_der())
    );
    let root = temp("fake-root.pem", pem.as_bytes());
    let doc_path = temp("fake-doc.bin", &doc);
    let at = FAKE_NOW_S.to_string();
    let ud = hex::encode(FAKE_USER_DATA);
    let (code, json, _) = run(
        &[
            doc_path.to_str().unwrap(),
            "--at",
            &at,
            "--root",
            root.to_str().unwrap(),
            "--user-data",
            &ud,
        ],
        None,
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["trust_root"]["aws_nitro_root_g1"], false);
    let (code, json, _) = run(&[doc_path.to_str().unwrap(), "--at", &at], None);
    assert_eq!((code, json["reason"].as_str()), (1, Some("untrusted_root")));
}
