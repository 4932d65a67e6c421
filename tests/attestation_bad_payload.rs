//! Bad-input list items 24-37 (payload CBOR, field semantics, policy), on documents signed by
//! the fake attestor so that only the intended defect is present.

mod attestation_support;
mod common;

use std::time::Duration;

use attestation_support::*;
use confidential_relay::attestation::fake::{Cbor, FakeAttestor, Field};
use confidential_relay::attestation::{
    FormatError, PcrSet, Policy, Problem, Rejection, limits, parse, parse_trusted_pcrs_json,
};

/// Mints a document from the default entries after `edit`.
fn minted(att: &FakeAttestor, edit: impl FnOnce(&mut Vec<(Cbor, Cbor)>)) -> Vec<u8> {
    let mut entries = att.payload_entries(&fake_spec());
    edit(&mut entries);
    att.sign_payload(&Cbor::Map(entries).encode()).unwrap()
}

fn set(entries: &mut [(Cbor, Cbor)], key: &str, value: Cbor) {
    let slot = entries
        .iter_mut()
        .find(|(k, _)| *k == Cbor::text(key))
        .unwrap();
    slot.1 = value;
}

fn remove(entries: &mut Vec<(Cbor, Cbor)>, key: &str) {
    entries.retain(|(k, _)| *k != Cbor::text(key));
}

fn duplicate(entries: &mut Vec<(Cbor, Cbor)>, key: &str) {
    let entry = entries
        .iter()
        .find(|(k, _)| *k == Cbor::text(key))
        .unwrap()
        .clone();
    entries.push(entry);
}

fn format_error(att: &FakeAttestor, doc: &[u8]) -> FormatError {
    match fake_verifier(att).verify_document_at(doc, FAKE_NOW_S * 1000) {
        Err(Rejection::Malformed(e)) => e,
        other => panic!("expected malformed, got {other:?}"),
    }
}

fn pcr_entries(edit: impl FnOnce(&mut Vec<(Cbor, Cbor)>)) -> Cbor {
    let mut pcrs: Vec<(Cbor, Cbor)> = (0..16u64)
        .map(|i| {
            let v = FAKE_PCRS
                .get(i as usize)
                .map_or(vec![0; 48], |p| p.to_vec());
            (Cbor::Uint(i), Cbor::Bytes(v))
        })
        .collect();
    edit(&mut pcrs);
    Cbor::Map(pcrs)
}

#[test]
fn item24_duplicate_top_level_keys_are_rejected() {
    let att = FakeAttestor::new().unwrap();
    for key in ["pcrs", "user_data", "certificate", "nonce"] {
        let doc = minted(&att, |e| duplicate(e, key));
        assert_eq!(
            format_error(&att, &doc),
            FormatError::new(key, Problem::DuplicateKey)
        );
    }
}

#[test]
fn item25_bad_pcr_maps_are_rejected() {
    let att = FakeAttestor::new().unwrap();
    let cases: Vec<(Cbor, Problem)> = vec![
        (
            pcr_entries(|p| p.push((Cbor::Uint(3), Cbor::Bytes(vec![0; 48])))),
            Problem::DuplicateKey,
        ),
        (
            pcr_entries(|p| p.push((Cbor::Nint(0), Cbor::Bytes(vec![0; 48])))),
            Problem::WrongType {
                expected: "uint index",
            },
        ),
        (
            pcr_entries(|p| p.push((Cbor::Uint(32), Cbor::Bytes(vec![0; 48])))),
            Problem::Invalid("index above 31"),
        ),
        (
            pcr_entries(|p| p.push((Cbor::text("16"), Cbor::Bytes(vec![0; 48])))),
            Problem::WrongType {
                expected: "uint index",
            },
        ),
        (
            pcr_entries(|p| p[5].1 = Cbor::Bytes(vec![0; 33])),
            Problem::Invalid("value length not 32, 48 or 64"),
        ),
        (
            Cbor::Map(vec![]),
            Problem::Size {
                min: 1,
                max: 32,
                actual: 0,
            },
        ),
    ];
    for (pcrs, problem) in cases {
        let doc = minted(&att, |e| set(e, "pcrs", pcrs.clone()));
        assert_eq!(
            format_error(&att, &doc),
            FormatError::new("pcrs", problem),
            "{pcrs:?}"
        );
    }
    // Indefinite-length PCR map with the 32-byte and 64-byte banks is fine.
    let doc = minted(&att, |e| {
        let Cbor::Map(p) = pcr_entries(|p| {
            p[7].1 = Cbor::Bytes(vec![7; 32]);
            p[8].1 = Cbor::Bytes(vec![8; 64]);
        }) else {
            unreachable!()
        };
        set(e, "pcrs", Cbor::IndefMap(p));
    });
    assert_eq!(fake_reason(&att, &doc), "accepted");
}

#[test]
fn item26_reserved_encodings_and_wrong_simple_types_are_rejected() {
    let att = FakeAttestor::new().unwrap();
    let cases: Vec<(&str, Cbor, Problem)> = vec![
        ("timestamp", Cbor::Raw(vec![0x1c]), Problem::Reserved),
        ("user_data", Cbor::Raw(vec![0x5c]), Problem::Reserved),
        (
            "user_data",
            Cbor::Raw(vec![0xf9, 0x00, 0x00]),
            Problem::WrongType {
                expected: "byte string or null",
            },
        ),
        (
            "user_data",
            Cbor::Undefined,
            Problem::WrongType {
                expected: "byte string or null",
            },
        ),
        (
            "nonce",
            Cbor::Raw(vec![0xf5]),
            Problem::WrongType {
                expected: "byte string or null",
            },
        ),
        (
            "user_data",
            Cbor::Raw(vec![0x5f, 0x41, 0x00, 0xff]),
            Problem::ChunkedString,
        ),
        (
            "module_id",
            Cbor::Raw(vec![0x7f, 0x61, 0x61, 0xff]),
            Problem::ChunkedString,
        ),
        (
            "certificate",
            Cbor::Null,
            Problem::WrongType {
                expected: "byte string",
            },
        ),
    ];
    for (key, value, problem) in cases {
        let doc = minted(&att, |e| set(e, key, value.clone()));
        assert_eq!(
            format_error(&att, &doc),
            FormatError::new(key, problem),
            "{key} {value:?}"
        );
    }
}

#[test]
fn item27_nesting_huge_lengths_and_size_cap() {
    let att = FakeAttestor::new().unwrap();
    let mut deep = Cbor::Null;
    for _ in 0..20 {
        deep = Cbor::Array(vec![deep]);
    }
    let doc = minted(&att, |e| e.push((Cbor::text("deep"), deep)));
    assert_eq!(
        format_error(&att, &doc),
        FormatError::new("unknown payload value", Problem::TooDeep)
    );
    let mut huge = vec![0x5b];
    huge.extend([0xff; 8]);
    let doc = minted(&att, |e| set(e, "user_data", Cbor::Raw(huge)));
    assert_eq!(
        format_error(&att, &doc),
        FormatError::new("user_data", Problem::Truncated)
    );
    let doc = minted(&att, |e| {
        e.push((
            Cbor::text("big"),
            Cbor::Raw(vec![0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ))
    });
    assert_eq!(
        format_error(&att, &doc),
        FormatError::new("unknown payload value", Problem::Truncated)
    );
    let over = vec![0u8; limits::MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        parse(&over).unwrap_err(),
        FormatError::new(
            "document",
            Problem::Size {
                min: 1,
                max: limits::MAX_DOCUMENT_BYTES,
                actual: limits::MAX_DOCUMENT_BYTES + 1
            }
        )
    );
}

#[test]
fn item28_unknown_key_skipped_but_not_duplicated() {
    let att = FakeAttestor::new().unwrap();
    let extra = (
        Cbor::text("future_field"),
        Cbor::Map(vec![(Cbor::Uint(1), Cbor::Array(vec![Cbor::Null]))]),
    );
    let doc = minted(&att, |e| e.insert(3, extra.clone()));
    assert_eq!(fake_reason(&att, &doc), "accepted");
    let doc = minted(&att, |e| {
        e.push(extra.clone());
        e.push(extra.clone());
    });
    assert_eq!(
        format_error(&att, &doc),
        FormatError::new("payload", Problem::DuplicateKey)
    );
}

#[test]
fn item29_31_field_semantics() {
    let att = FakeAttestor::new().unwrap();
    type Edit = Box<dyn Fn(&mut Vec<(Cbor, Cbor)>)>;
    let cases: Vec<(Edit, FormatError)> = vec![
        (
            Box::new(|e| set(e, "digest", Cbor::text("SHA256"))),
            FormatError::new("digest", Problem::Invalid("not SHA384")),
        ),
        (
            Box::new(|e| set(e, "digest", Cbor::text("sha384"))),
            FormatError::new("digest", Problem::Invalid("not SHA384")),
        ),
        (
            Box::new(|e| remove(e, "digest")),
            FormatError::new("digest", Problem::Missing),
        ),
        (
            Box::new(|e| set(e, "module_id", Cbor::text(""))),
            FormatError::new("module_id", Problem::Invalid("empty")),
        ),
        (
            Box::new(|e| remove(e, "module_id")),
            FormatError::new("module_id", Problem::Missing),
        ),
        (
            Box::new(|e| set(e, "timestamp", Cbor::Uint(0))),
            FormatError::new("timestamp", Problem::Invalid("zero")),
        ),
        (
            Box::new(|e| remove(e, "timestamp")),
            FormatError::new("timestamp", Problem::Missing),
        ),
        (
            Box::new(|e| set(e, "timestamp", Cbor::Nint(5))),
            FormatError::new("timestamp", Problem::WrongType { expected: "uint" }),
        ),
        (
            Box::new(|e| set(e, "timestamp", Cbor::text("1"))),
            FormatError::new("timestamp", Problem::WrongType { expected: "uint" }),
        ),
        (
            Box::new(|e| remove(e, "certificate")),
            FormatError::new("certificate", Problem::Missing),
        ),
        (
            Box::new(|e| set(e, "cabundle", Cbor::Array(vec![]))),
            FormatError::new(
                "cabundle",
                Problem::Size {
                    min: 1,
                    max: 32,
                    actual: 0,
                },
            ),
        ),
        (
            Box::new(|e| set(e, "cabundle", Cbor::IndefArray(vec![]))),
            FormatError::new(
                "cabundle",
                Problem::Size {
                    min: 1,
                    max: 32,
                    actual: 0,
                },
            ),
        ),
        (
            Box::new(|e| remove(e, "pcrs")),
            FormatError::new("pcrs", Problem::Missing),
        ),
    ];
    for (n, (edit, expected)) in cases.into_iter().enumerate() {
        let doc = minted(&att, |e| edit(e));
        assert_eq!(format_error(&att, &doc), expected, "case {n}");
    }
}

#[test]
fn item32_optional_field_size_limits() {
    let att = FakeAttestor::new().unwrap();
    let max = limits::MAX_USER_DATA_BYTES;
    let at_limit = vec![0x5a; max];
    let mut verifier_ok = 0;
    for key in ["user_data", "nonce"] {
        let doc = minted(&att, |e| set(e, key, Cbor::Bytes(at_limit.clone())));
        let v = fake_verifier(&att);
        let ud: &[u8] = if key == "user_data" {
            &at_limit
        } else {
            &FAKE_USER_DATA
        };
        assert_eq!(v.verify_at(&doc, &[ud], FAKE_NOW_S * 1000), Ok(()), "{key}");
        verifier_ok += 1;
        let doc = minted(&att, |e| set(e, key, Cbor::Bytes(vec![0x5a; max + 1])));
        assert_eq!(
            format_error(&att, &doc),
            FormatError::new(
                key,
                Problem::Size {
                    min: 0,
                    max,
                    actual: max + 1
                }
            )
        );
    }
    assert_eq!(verifier_ok, 2);
    let doc = minted(&att, |e| set(e, "public_key", Cbor::Bytes(vec![1; 1025])));
    assert_eq!(
        format_error(&att, &doc),
        FormatError::new(
            "public_key",
            Problem::Size {
                min: 0,
                max: 1024,
                actual: 1025
            }
        )
    );
}

#[test]
fn item33_optional_fields_absent_null_or_empty() {
    let att = FakeAttestor::new().unwrap();
    let mut spec = fake_spec();
    let v = fake_verifier(&att);
    for (field, expected) in [
        (Field::Absent, Err(Rejection::UserDataAbsent)),
        (Field::Null, Err(Rejection::UserDataAbsent)),
        (Field::Bytes(vec![]), Err(Rejection::UserDataMismatch)),
        (Field::Bytes(FAKE_USER_DATA.to_vec()), Ok(())),
    ] {
        spec.user_data = field.clone();
        spec.public_key = field.clone();
        spec.nonce = field.clone();
        let doc = att.mint(&spec).unwrap();
        let parsed = parse(&doc).unwrap();
        assert_eq!(
            parsed.payload.public_key,
            match &field {
                Field::Bytes(b) => Some(b.as_slice()),
                _ => None,
            }
        );
        let got = v.verify_at(&doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000);
        assert_eq!(got, expected, "{field:?}");
        if let Err(e) = got {
            assert_eq!(e.reason(), "user_data_mismatch");
        }
    }
}

#[test]
fn item34_pcr_comparison_is_exact() {
    let att = FakeAttestor::new().unwrap();
    let doc = minted(&att, |e| {
        set(
            e,
            "pcrs",
            pcr_entries(|p| p.retain(|(k, _)| *k != Cbor::Uint(1))),
        )
    });
    assert_eq!(fake_reason(&att, &doc), "pcr_mismatch");
    let doc = att.mint(&fake_spec()).unwrap();
    let zero_set = Policy::new(vec![PcrSet::new([0; 48], FAKE_PCRS[1], FAKE_PCRS[2])]).unwrap();
    let v = fake_verifier_with(&att, zero_set);
    assert_eq!(
        v.verify_at(&doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000),
        Err(Rejection::PcrMismatch { sets: 1, index: 0 })
    );
    let two_sets = Policy::new(vec![
        PcrSet::new([9; 48], [9; 48], [9; 48]),
        PcrSet::new(FAKE_PCRS[0], FAKE_PCRS[1], FAKE_PCRS[2]).with_pcr(8, [0; 48]),
    ])
    .unwrap();
    let v = fake_verifier_with(&att, two_sets);
    assert_eq!(
        v.verify_at(&doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000),
        Ok(())
    );
    let missing = parse_trusted_pcrs_json(br#"{"pcr0": "00", "pcr1": "00"}"#).unwrap_err();
    assert!(missing.to_string().contains("pcr0 is 1 bytes"), "{missing}");
    let p = hex::encode([1u8; 48]);
    let missing = parse_trusted_pcrs_json(format!(r#"{{"pcr0":"{p}","pcr1":"{p}"}}"#).as_bytes())
        .unwrap_err();
    assert!(missing.to_string().contains("missing pcr2"), "{missing}");
}

#[test]
fn item35_debug_documents_need_the_insecure_switch() {
    let att = FakeAttestor::new().unwrap();
    let spec = confidential_relay::attestation::fake::DocumentSpec::new(
        [[0; 48]; 3],
        &FAKE_USER_DATA,
        FAKE_NOW_S * 1000,
    );
    let doc = att.mint(&spec).unwrap();
    for allow in [false, true] {
        let policy = Policy::new(vec![PcrSet::new([0; 48], [0; 48], [0; 48])])
            .unwrap()
            .insecure_allow_debug_enclaves(allow);
        let v = fake_verifier_with(&att, policy);
        let got = v.verify_at(&doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000);
        assert_eq!(
            got,
            if allow {
                Ok(())
            } else {
                Err(Rejection::DebugEnclave)
            }
        );
    }
}

#[test]
fn item36_freshness_window() {
    let att = FakeAttestor::new().unwrap();
    let v = fake_verifier(&att);
    let now = FAKE_NOW_S * 1000;
    let five_min = 300_000;
    for (ts, expected) in [
        (now - five_min, "accepted"),
        (now - five_min - 1, "stale"),
        (now + 30_000, "accepted"),
        (now + 30_001, "future"),
    ] {
        let mut spec = fake_spec();
        spec.timestamp_ms = ts;
        let doc = att.mint(&spec).unwrap();
        let got = v
            .verify_at(&doc, &[&FAKE_USER_DATA], now)
            .map_or_else(|e| e.reason(), |()| "accepted");
        assert_eq!(got, expected, "timestamp {ts}");
    }
    // The Sui vector is ~2.45 s ahead of its own test clock: accepted with the default skew.
    let row = row("sui/FIXED_VALID_ATTESTATION.bin");
    let doc = load(&row);
    let v = verifier_for(&row, true);
    let ud = user_data(&row).unwrap();
    assert_eq!(v.verify_at(&doc, &[&ud], 1_731_627_987_000), Ok(()));
    let strict = Policy::new(vec![own_pcrs(&row)])
        .unwrap()
        .insecure_allow_debug_enclaves(true)
        .with_max_future_skew(Duration::ZERO);
    let v = confidential_relay::attestation::NitroVerifier::new(
        strict,
        confidential_relay::attestation::TrustRoot::aws_nitro_root_g1().unwrap(),
        std::sync::Arc::new(confidential_relay::attestation::SystemClock),
    );
    assert_eq!(
        v.verify_at(&doc, &[&ud], 1_731_627_987_000)
            .unwrap_err()
            .reason(),
        "future"
    );
}

#[test]
fn item37_replay_with_other_params_fails_on_user_data() {
    let att = FakeAttestor::new().unwrap();
    let doc = att.mint(&fake_spec()).unwrap();
    let v = fake_verifier(&att);
    assert_eq!(
        v.verify_at(&doc, &[&FAKE_USER_DATA], FAKE_NOW_S * 1000),
        Ok(())
    );
    let other = [0xcd; 32];
    assert_eq!(
        v.verify_at(&doc, &[&other, &[0xab; 31]], FAKE_NOW_S * 1000)
            .unwrap_err()
            .reason(),
        "user_data_mismatch"
    );
    assert_eq!(
        v.verify_at(&doc, &[&other, &FAKE_USER_DATA], FAKE_NOW_S * 1000),
        Ok(())
    );
}
