//! Bad-input list items 1-12 (trust anchor and chain): each asserts the exact reason token.

mod attestation_support;
mod common;

use attestation_support::*;
use base64::Engine;
use confidential_relay::attestation::chain::verify_certificate_signature;
use confidential_relay::attestation::fake::{self, ChainOptions, FakeAttestor, LeafCurve, mutate};
use confidential_relay::attestation::{AWS_NITRO_ROOT_G1_SHA256, Rejection, TrustRoot, parse};

fn cabundle(doc: &[u8]) -> Vec<Vec<u8>> {
    parse(doc)
        .unwrap()
        .payload
        .cabundle
        .iter()
        .map(|c| c.to_vec())
        .collect()
}

/// Replaces a byte sequence inside the payload and re-wraps (signature left as is).
fn edit_payload(doc: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let parts = mutate::Parts::split(doc).unwrap();
    let payload = mutate::replace_once(&parts.payload, from, to).unwrap();
    mutate::with_payload(doc, &payload).unwrap()
}

fn lookalike_root_der() -> Vec<u8> {
    let pem = common::shared_file(
        "testdata/nitro/eternis-remote-attestation-verifier/src__aws_root_invalid.pem",
    );
    let body: String = String::from_utf8(pem)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn item01_mock_root_document_is_untrusted() {
    let row = row("marlin-oyster/sdks__rs__src__testcases__custom.bin");
    assert_eq!(real_reason(&row, &load(&row)), "untrusted_root");
}

#[test]
fn item02_lookalike_root_refused_at_startup_and_if_forced() {
    let der = lookalike_root_der();
    assert_eq!(der.len(), 533);
    let pinned = TrustRoot::insecure_custom_root(der.clone(), Some(AWS_NITRO_ROOT_G1_SHA256));
    assert!(
        pinned
            .unwrap_err()
            .to_string()
            .contains("differs from the pinned")
    );
    let forced = TrustRoot::insecure_custom_root(der, None);
    // Forced anyway (its key may not even parse): V must still be refused.
    if let Ok(root) = forced {
        let (row, doc) = marlin();
        let verifier = confidential_relay::attestation::NitroVerifier::new(
            confidential_relay::attestation::Policy::new(vec![own_pcrs(&row)]).unwrap(),
            root,
            std::sync::Arc::new(confidential_relay::attestation::FixedClock::at_secs(
                row.verify_at_s,
            )),
        );
        let err = verifier
            .verify_document_at(&doc, row.verify_at_s * 1000)
            .unwrap_err();
        assert_eq!(err.reason(), "untrusted_root");
    }
}

#[test]
fn item03_same_subject_root_substitute_is_untrusted() {
    let (row, doc) = marlin();
    let bundle = cabundle(&doc);
    let lookalike = lookalike_root_der();
    assert_ne!(lookalike, bundle[0]);
    let swapped = edit_payload(&doc, &bstr(&bundle[0]), &bstr(&lookalike));
    assert_eq!(real_reason(&row, &swapped), "untrusted_root");
}

#[test]
fn item04_reordered_cabundle_is_rejected() {
    let (row, doc) = marlin();
    let b = cabundle(&doc);
    let original: Vec<u8> = b.iter().flat_map(|c| bstr(c)).collect();
    let reversed: Vec<u8> = b.iter().rev().flat_map(|c| bstr(c)).collect();
    assert_eq!(
        real_reason(&row, &edit_payload(&doc, &original, &reversed)),
        "untrusted_root"
    );
    let shuffled: Vec<u8> = [&b[0], &b[2], &b[1], &b[3]]
        .iter()
        .flat_map(|c| bstr(c))
        .collect();
    assert_eq!(
        real_reason(&row, &edit_payload(&doc, &original, &shuffled)),
        "chain_invalid"
    );
}

#[test]
fn item05_missing_intermediate_is_rejected() {
    let (row, doc) = marlin();
    let b = cabundle(&doc);
    let mut from = b"\x68cabundle\x84".to_vec();
    from.extend(b.iter().flat_map(|c| bstr(c)));
    let mut to = b"\x68cabundle\x83".to_vec();
    to.extend([&b[0], &b[1], &b[3]].iter().flat_map(|c| bstr(c)));
    let err = verifier_for(&row, true)
        .verify_document_at(&edit_payload(&doc, &from, &to), row.verify_at_s * 1000)
        .unwrap_err();
    assert_eq!(err.reason(), "chain_invalid");
    assert!(err.to_string().contains("issuer differs"), "{err}");
}

#[test]
fn item06_flipped_intermediate_bytes_are_rejected() {
    let (row, doc) = marlin();
    let b = cabundle(&doc);
    // Last byte of the zonal CA's DER lies in its signature; byte 100 lies in its TBS.
    for offset in [b[2].len() - 1, 100] {
        let mut bad = b[2].clone();
        bad[offset] ^= 0x01;
        let mutated = edit_payload(&doc, &bstr(&b[2]), &bstr(&bad));
        assert_eq!(
            real_reason(&row, &mutated),
            "chain_invalid",
            "offset {offset}"
        );
    }
}

#[test]
fn item07_leaf_under_root_and_pathlen_violations_are_rejected() {
    let (row, doc) = marlin();
    let b = cabundle(&doc);
    let mut from = b"\x68cabundle\x84".to_vec();
    from.extend(b.iter().flat_map(|c| bstr(c)));
    let mut to = b"\x68cabundle\x81".to_vec();
    to.extend(bstr(&b[0]));
    assert_eq!(
        real_reason(&row, &edit_payload(&doc, &from, &to)),
        "chain_invalid"
    );

    let att = FakeAttestor::with_options(ChainOptions {
        extra_ca_below_instance: true,
        ..ChainOptions::default()
    })
    .unwrap();
    let doc = att.mint(&fake_spec()).unwrap();
    let err = fake_verifier(&att)
        .verify_document_at(&doc, FAKE_NOW_S * 1000)
        .unwrap_err();
    assert_eq!(err.reason(), "chain_invalid");
    assert!(err.to_string().contains("pathLen"), "{err}");
}

#[test]
fn item10_short_der_s_certificate_signature_verifies() {
    let dir = "testdata/nitro/base-nitro-validator/certchain-2026-04-02-short-s";
    let cb: Vec<Vec<u8>> = (0..4)
        .map(|i| common::shared_file(&format!("{dir}/CB{i}.der")))
        .collect();
    for pair in cb.windows(2) {
        assert_eq!(verify_certificate_signature(&pair[0], &pair[1]), Ok(()));
    }
    assert_eq!(
        verify_certificate_signature(&cb[1], &cb[3])
            .unwrap_err()
            .reason(),
        "chain_invalid"
    );
}

fn fake_chain_reason(options: ChainOptions) -> Rejection {
    let att = FakeAttestor::with_options(options).unwrap();
    let doc = att.mint(&fake_spec()).unwrap();
    fake_verifier(&att)
        .verify_document_at(&doc, FAKE_NOW_S * 1000)
        .unwrap_err()
}

#[test]
fn item11_bad_extensions_algorithms_and_curves_are_rejected() {
    let cases = [
        (
            ChainOptions {
                leaf_unknown_critical_extension: true,
                ..ChainOptions::default()
            },
            "unknown critical extension",
        ),
        (
            ChainOptions {
                leaf_duplicate_extension: true,
                ..ChainOptions::default()
            },
            "duplicate extension",
        ),
        (
            ChainOptions {
                instance_ca_p256: true,
                ..ChainOptions::default()
            },
            "certificate 3: key is not EC P-384",
        ),
        (
            ChainOptions {
                leaf_curve: LeafCurve::P256,
                ..ChainOptions::default()
            },
            "certificate 4: key is not EC P-384",
        ),
        (
            ChainOptions {
                leaf_curve: LeafCurve::P521,
                ..ChainOptions::default()
            },
            "certificate 4: key is not EC P-384",
        ),
    ];
    for (options, cause) in cases {
        let err = fake_chain_reason(options.clone());
        assert_eq!(err.reason(), "chain_invalid", "{options:?}");
        assert!(err.to_string().contains(cause), "{options:?}: {err}");
    }
}

#[test]
fn item12_trailing_bytes_after_der_are_rejected() {
    let att = FakeAttestor::new().unwrap();
    let spec = fake_spec();
    for (key, index) in [("certificate", 4), ("cabundle", 1)] {
        let mut entries = att.payload_entries(&spec);
        for (k, v) in &mut entries {
            if *k != fake::Cbor::text(key) {
                continue;
            }
            match v {
                fake::Cbor::Bytes(der) => der.push(0),
                fake::Cbor::Array(items) => {
                    if let fake::Cbor::Bytes(der) = &mut items[1] {
                        der.push(0);
                    }
                }
                _ => unreachable!(),
            }
        }
        let doc = att
            .sign_payload(&fake::Cbor::Map(entries).encode())
            .unwrap();
        let err = fake_verifier(&att)
            .verify_document_at(&doc, FAKE_NOW_S * 1000)
            .unwrap_err();
        assert_eq!(err.reason(), "chain_invalid", "{key}");
        assert!(
            err.to_string()
                .contains(&format!("certificate {index}: trailing bytes")),
            "{err}"
        );
    }
}

#[test]
fn fake_documents_verify_under_the_fake_root_only() {
    let att = FakeAttestor::new().unwrap();
    let doc = att.mint(&fake_spec()).unwrap();
    assert_eq!(fake_reason(&att, &doc), "accepted");
    let aws = confidential_relay::attestation::NitroVerifier::new(
        confidential_relay::attestation::Policy::new(vec![
            confidential_relay::attestation::PcrSet::new(FAKE_PCRS[0], FAKE_PCRS[1], FAKE_PCRS[2]),
        ])
        .unwrap(),
        TrustRoot::aws_nitro_root_g1().unwrap(),
        std::sync::Arc::new(confidential_relay::attestation::FixedClock::at_secs(
            FAKE_NOW_S,
        )),
    );
    assert_eq!(
        aws.verify_document_at(&doc, FAKE_NOW_S * 1000)
            .unwrap_err()
            .reason(),
        "untrusted_root"
    );
    let other = FakeAttestor::new().unwrap();
    assert_eq!(fake_reason(&other, &doc), "untrusted_root");
}
