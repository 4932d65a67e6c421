//! The verifier's chain cache: hits skip the chain, never the COSE signature, the policy or
//! the validity of any certificate in the chain.

mod attestation_support;
mod common;

use attestation_support::*;
use confidential_relay::attestation::fake::{ChainOptions, FakeAttestor, mutate};
use confidential_relay::attestation::{CertificateError, Rejection};

#[test]
fn second_verification_is_a_cache_hit() {
    let att = FakeAttestor::new().unwrap();
    let v = fake_verifier(&att);
    let doc = att.mint(&fake_spec()).unwrap();
    let now = FAKE_NOW_S * 1000;
    assert_eq!(v.verify_at(&doc, &[&FAKE_USER_DATA], now), Ok(()));
    assert_eq!(v.cache_stats(), (0, 1));
    assert_eq!(v.verify_at(&doc, &[&FAKE_USER_DATA], now), Ok(()));
    assert_eq!(v.cache_stats(), (1, 1));
    assert_eq!(v.cache_len(), 1);
    // A new document from the same enclave reuses the chain.
    let mut spec = fake_spec();
    spec.user_data = confidential_relay::attestation::fake::Field::Bytes(vec![7; 32]);
    let other = att.mint(&spec).unwrap();
    assert_eq!(v.verify_at(&other, &[&[7; 32]], now), Ok(()));
    assert_eq!(v.cache_stats(), (2, 1));
}

#[test]
fn cached_chain_still_checks_signature_and_policy() {
    let att = FakeAttestor::new().unwrap();
    let v = fake_verifier(&att);
    let doc = att.mint(&fake_spec()).unwrap();
    let now = FAKE_NOW_S * 1000;
    assert_eq!(v.verify_at(&doc, &[&FAKE_USER_DATA], now), Ok(()));
    let bad = mutate::replace_once(&doc, &FAKE_USER_DATA, &[0xac; 32]).unwrap();
    assert_eq!(
        v.verify_at(&bad, &[&[0xac; 32]], now).unwrap_err().reason(),
        "bad_signature"
    );
    assert_eq!(
        v.verify_at(&doc, &[&[0; 32]], now).unwrap_err().reason(),
        "user_data_mismatch"
    );
    assert_eq!(v.cache_stats(), (2, 1));
}

#[test]
fn expiry_of_any_ancestor_is_rechecked_on_every_hit() {
    let zonal_expiry = FAKE_NOW_S as i64 + 600;
    let att = FakeAttestor::with_options(ChainOptions {
        zonal_ca_not_after_s: Some(zonal_expiry),
        ..ChainOptions::default()
    })
    .unwrap();
    let v = fake_verifier(&att);
    let doc = att.mint(&fake_spec()).unwrap();
    assert!(v.verify_document_at(&doc, FAKE_NOW_S * 1000).is_ok());
    assert!(
        v.verify_document_at(&doc, zonal_expiry as u64 * 1000)
            .is_ok()
    );
    assert_eq!(v.cache_stats(), (1, 1));
    // The leaf is still valid for hours, but the zonal CA is not.
    let err = v
        .verify_document_at(&doc, (zonal_expiry as u64 + 1) * 1000)
        .unwrap_err();
    assert_eq!(
        err,
        Rejection::Expired(CertificateError {
            index: Some(2),
            cause: "expired"
        })
    );
    assert_eq!(v.cache_stats(), (1, 2));
    assert_eq!(v.cache_len(), 0);
}

#[test]
fn foreign_root_never_reaches_the_cache() {
    let att = FakeAttestor::new().unwrap();
    let other = FakeAttestor::new().unwrap();
    let v = fake_verifier(&att);
    let doc = other.mint(&fake_spec()).unwrap();
    assert_eq!(
        v.verify_document_at(&doc, FAKE_NOW_S * 1000).unwrap_err(),
        Rejection::UntrustedRoot
    );
    assert_eq!(v.cache_stats(), (0, 0));
}
