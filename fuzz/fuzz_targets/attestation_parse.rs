//! Fuzzes the strict Nitro document parser: any input must parse or be rejected, never panic,
//! never allocate from a declared length. Seed the corpus with `../testdata/attestation/*.bin`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = confidential_relay::attestation::fuzz_parse(data);
});
