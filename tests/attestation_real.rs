//! Every real AWS document in ../shared/testdata/nitro: accepted at its `verify_at_s` with its
//! own PCRs and user data, rejected as expired at the wall clock, and every published negative
//! rejected with the right reason token.

mod attestation_support;
mod common;

use std::sync::Arc;

use attestation_support::{
    documents, load, own_pcrs, row, shared_root_der, user_data, verifier_for,
};
use confidential_relay::attestation::{
    AWS_NITRO_ROOT_G1_SHA256, AttestationVerifier, NitroVerifier, PcrSet, Policy, SystemClock,
    TrustRoot, parse,
};

#[test]
fn embedded_root_is_the_pinned_aws_root() {
    let root = TrustRoot::aws_nitro_root_g1().unwrap();
    assert_eq!(root.sha256_hex(), AWS_NITRO_ROOT_G1_SHA256);
    assert_eq!(
        AWS_NITRO_ROOT_G1_SHA256,
        "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
    );
    assert_eq!(root.der(), shared_root_der().as_slice());
    assert_eq!(root.der().len(), 533);
    assert!(root.is_aws());
}

#[test]
fn every_valid_document_verifies_inside_its_window() {
    let mut checked = 0;
    for row in documents().iter().filter(|r| r.expect == "ACCEPT") {
        let doc = load(row);
        let debug = row.kind == "valid-debug";
        let verifier = verifier_for(row, debug);
        let name = format!("{}/{}", row.source, row.file);
        match user_data(row) {
            Some(data) => {
                assert_eq!(verifier.verify(&doc, &[&data]), Ok(()), "{name}");
                let other = [0u8; 32];
                assert_eq!(
                    verifier.verify(&doc, &[&other]).unwrap_err().reason(),
                    "user_data_mismatch",
                    "{name}"
                );
            }
            None => {
                let err = verifier.verify(&doc, &[&[0u8; 32]]).unwrap_err();
                assert_eq!(err.reason(), "user_data_mismatch", "{name}");
                verifier
                    .verify_document_at(&doc, row.verify_at_s * 1000)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        if debug {
            let strict = verifier_for(row, false);
            let data = user_data(row).unwrap_or_default();
            assert_eq!(
                strict.verify(&doc, &[&data]).unwrap_err().reason(),
                "debug_enclave",
                "{name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 15, "valid documents listed in INDEX.tsv");
}

#[test]
fn every_valid_document_is_expired_at_the_wall_clock() {
    for row in documents().iter().filter(|r| r.expect == "ACCEPT") {
        let doc = load(row);
        let policy = Policy::new(vec![own_pcrs(row)])
            .unwrap()
            .insecure_allow_debug_enclaves(true);
        let verifier = NitroVerifier::new(
            policy,
            TrustRoot::aws_nitro_root_g1().unwrap(),
            Arc::new(SystemClock),
        );
        let data = user_data(row).unwrap_or_default();
        let err = verifier.verify(&doc, &[&data]).unwrap_err();
        assert_eq!(
            err.reason(),
            "expired",
            "{}/{}: {err}",
            row.source,
            row.file
        );
    }
}

#[test]
fn window_bounds_are_inclusive() {
    let row = row("marlin-oyster/sdks__rs__src__testcases__aws.bin");
    let doc = load(&row);
    let verifier = verifier_for(&row, false);
    for (at, ok) in [
        (row.valid_from_s - 1, false),
        (row.valid_from_s, true),
        (row.valid_to_s, true),
        (row.valid_to_s + 1, false),
    ] {
        let result = verifier.verify_document_at(&doc, at * 1000).map(|_| ());
        match ok {
            true => assert_eq!(result, Ok(()), "at {at}"),
            false => assert_eq!(result.unwrap_err().reason(), "expired", "at {at}"),
        }
    }
}

#[test]
fn published_negatives_are_rejected_with_their_reason() {
    let cases = [
        (
            "marlin-oyster/sdks__rs__src__testcases__custom.bin",
            "untrusted_root",
        ),
        (
            "marlin-oyster/sdks__rs__src__testcases__custom_pcr16.bin",
            "untrusted_root",
        ),
        (
            "eternis-remote-attestation-verifier/fixtures__invalid_attestation.b64",
            "bad_signature",
        ),
        (
            "base-nitro-validator/HintedNitroAttestation.t.sol__realAttestation.as-published.bin",
            "malformed",
        ),
        (
            "base-nitro-validator/HintedNitroAttestation.t.sol__realAttestationB64.as-published.b64",
            "malformed",
        ),
    ];
    let negatives: Vec<_> = documents()
        .into_iter()
        .filter(|r| r.expect == "REJECT")
        .collect();
    assert_eq!(negatives.len(), 5);
    for row in &negatives {
        let name = format!("{}/{}", row.source, row.file);
        let expected = cases
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("unexpected negative {name}"));
        let doc = load(row);
        let verifier = NitroVerifier::new(
            Policy::new(vec![PcrSet::new([0; 48], [1; 48], [2; 48])]).unwrap(),
            TrustRoot::aws_nitro_root_g1().unwrap(),
            Arc::new(SystemClock),
        );
        // The malformed vectors have no time; use the repaired twin's.
        let at = if row.verify_at_s == 0 {
            1_767_472_868
        } else {
            row.verify_at_s
        };
        let err = verifier.verify_document_at(&doc, at * 1000).unwrap_err();
        assert_eq!(err.reason(), expected, "{name}: {err}");
    }
}

#[test]
fn parsed_fields_match_the_index() {
    for row in documents().iter().filter(|r| r.expect == "ACCEPT") {
        let doc = load(row);
        let parsed = parse(&doc).unwrap();
        let p = &parsed.payload;
        assert_eq!(p.timestamp_ms, row.timestamp_ms);
        assert_eq!(hex::encode(p.pcrs[0].unwrap()), row.pcr0);
        assert_eq!(hex::encode(p.pcrs[2].unwrap()), row.pcr2);
        assert_eq!(p.user_data.map(<[u8]>::to_vec), user_data(row));
        assert_eq!(p.cabundle.len(), 4);
    }
}
