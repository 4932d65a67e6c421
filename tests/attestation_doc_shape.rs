//! Bad-input list item 21 and 38: the policy only takes verified documents, and errors carry
//! no parsed fields. `VerifiedDocument` has private fields, so it cannot be built outside the
//! verifier; this is checked by the `compile_fail` doctest on `VerifiedDocument` and here by
//! the result types.

use confidential_relay::attestation::{NitroVerifier, Rejection, VerifiedDocument};

#[test]
fn rejections_are_small_copy_values_without_document_fields() {
    fn is_copy<T: Copy + 'static>() {}
    is_copy::<Rejection>();
    // 'static + Copy: a rejection cannot borrow from (or own) the document.
    assert!(std::mem::size_of::<Rejection>() <= 48);
}

#[test]
fn verification_returns_either_a_verified_document_or_a_rejection() {
    let f: for<'a> fn(&NitroVerifier, &'a [u8], u64) -> Result<VerifiedDocument<'a>, Rejection> =
        NitroVerifier::verify_document_at;
    let _ = f;
}
