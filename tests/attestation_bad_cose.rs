//! Bad-input list items 13-21 (COSE envelope): each asserts the exact reason token.

mod attestation_support;
mod common;

use attestation_support::*;
use confidential_relay::attestation::fake::{FakeAttestor, mutate};
use confidential_relay::attestation::parse;

fn base_repaired() -> (Row, Vec<u8>) {
    let row =
        row("base-nitro-validator/HintedNitroAttestation.t.sol__realAttestation.repaired.bin");
    let doc = load(&row);
    (row, doc)
}

#[test]
fn item13_tag_18_accepted_other_tags_rejected() {
    let (row, doc) = marlin();
    assert_eq!(real_reason(&row, &mutate::tagged(&doc, 18)), "accepted");
    assert_eq!(real_reason(&row, &mutate::tagged(&doc, 19)), "malformed");
    assert_eq!(
        real_reason(&row, &mutate::tagged(&mutate::tagged(&doc, 18), 18)),
        "malformed"
    );
}

#[test]
fn item14_protected_header_other_than_es384_is_rejected() {
    let att = FakeAttestor::new().unwrap();
    let payload = mutate::Parts::split(&att.mint(&fake_spec()).unwrap())
        .unwrap()
        .payload;
    let headers: [&[u8]; 6] = [
        &[0xa1, 0x01, 0x26],                               // {1: -7} ES256
        &[0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00],       // {1: -35, 4: h'00'}
        &[],                                               // empty
        &[0x80],                                           // not a map
        &[0xa1, 0x01, 0x65, b'E', b'S', b'3', b'8', b'4'], // alg as text
        &[0xa1, 0x01, 0x38, 0x23],                         // {1: -36} ES512
    ];
    for protected in headers {
        let doc = att.sign_with_protected(protected, &payload).unwrap();
        assert_eq!(fake_reason(&att, &doc), "malformed", "{protected:02x?}");
    }
    // Control: the same path with the right header is accepted.
    let doc = att
        .sign_with_protected(&[0xa1, 0x01, 0x38, 0x22], &payload)
        .unwrap();
    assert_eq!(fake_reason(&att, &doc), "accepted");
}

#[test]
fn item15_signature_lengths_other_than_96_are_rejected() {
    let (row, doc) = marlin();
    let sig = mutate::Parts::split(&doc).unwrap().signature;
    for len in [64, 95, 97, 0] {
        let mut s = sig.clone();
        s.resize(len, 0x01);
        let bad = mutate::with_signature(&doc, &s).unwrap();
        assert_eq!(real_reason(&row, &bad), "malformed", "length {len}");
    }
}

#[test]
fn item16_flipped_payload_bit_breaks_the_signature() {
    let (row, doc) = marlin();
    let pcr0 = hex::decode(&row.pcr0).unwrap();
    let mut flipped = pcr0.clone();
    flipped[10] ^= 0x04;
    let bad = mutate::replace_once(&doc, &pcr0, &flipped).unwrap();
    assert_ne!(bad, doc);
    assert_eq!(real_reason(&row, &bad), "bad_signature");
}

#[test]
fn item18_indefinite_payload_reencoded_definite_breaks_the_signature() {
    let (row, doc) = base_repaired();
    assert_eq!(real_reason(&row, &doc), "accepted");
    let definite = mutate::definite_payload(&doc).unwrap();
    let parsed = parse(&definite).unwrap();
    assert_eq!(parsed.payload.timestamp_ms, row.timestamp_ms);
    assert_eq!(real_reason(&row, &definite), "bad_signature");
}

#[test]
fn item19_malleable_twins_are_accepted() {
    for path in [
        "sui/FIXED_VALID_ATTESTATION.bin",
        "marlin-oyster/sdks__rs__src__testcases__aws.bin",
    ] {
        let row = row(path);
        let doc = load(&row);
        let twin = mutate::malleable_twin(&doc).unwrap();
        assert_ne!(twin, doc);
        assert_ne!(mutate::is_high_s(&doc), mutate::is_high_s(&twin));
        assert_eq!(real_reason(&row, &twin), "accepted", "{path}");
    }
    let (_, doc) = marlin();
    assert_eq!(mutate::is_high_s(&doc), Some(true));
    let sui = load(&row("sui/FIXED_VALID_ATTESTATION.bin"));
    assert_eq!(mutate::is_high_s(&sui), Some(false));
}

#[test]
fn item20_trailing_bytes_and_wrong_outer_arity_are_rejected() {
    let (row, doc) = marlin();
    for bad in [
        mutate::with_trailing(&doc, &[0x00]),
        mutate::with_trailing(&doc, &[0xf6]),
        mutate::with_outer_items(&doc, 3).unwrap(),
        mutate::with_outer_items(&doc, 5).unwrap(),
    ] {
        assert_eq!(real_reason(&row, &bad), "malformed");
    }
    assert_eq!(
        real_reason(&row, &mutate::with_outer_items(&doc, 4).unwrap()),
        "accepted"
    );
}

#[test]
fn item22_indefinite_map_without_final_break_is_rejected() {
    let (row, doc) = base_repaired();
    let parts = mutate::Parts::split(&doc).unwrap();
    assert_eq!(parts.payload.first(), Some(&0xbf));
    assert_eq!(parts.payload.last(), Some(&0xff));
    let bad = mutate::drop_final_payload_byte(&doc).unwrap();
    assert_eq!(real_reason(&row, &bad), "malformed");
}
