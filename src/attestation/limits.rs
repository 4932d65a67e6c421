//! Every size and count limit the parser enforces, with the spec's allowance and our reason.
//! (`../shared/spec/nitro-attestation.md` §3 and §6.)

/// Largest decoded document accepted, checked before any decoding. Real documents are 4.4-5.2 KB;
/// 24 KiB is Tempo's cap and leaves room for a 1 KiB public key and user data.
pub const MAX_DOCUMENT_BYTES: usize = 24_576;

/// Largest COSE payload accepted (AWS CDDL, Sui and Tempo allow 16 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 16_384;

/// Deepest CBOR nesting accepted while skipping unknown values (Tempo's bound). Real documents
/// nest at most 3 levels.
pub const MAX_CBOR_DEPTH: usize = 16;

/// Most entries in the payload map: nine known keys plus room for forward-compatible additions,
/// bounded so duplicate detection of unknown keys stays a small linear scan.
pub const MAX_PAYLOAD_ENTRIES: usize = 32;

/// Most PCRs in a document (AWS: 1-32 entries, indices 0-31).
pub const MAX_PCRS: usize = 32;

/// PCR value lengths AWS defines (SHA-256, SHA-384, SHA-512 banks); Nitro uses 48.
pub const PCR_LENGTHS: [usize; 3] = [32, 48, 64];

/// Length of the PCR values the relay's policy compares (SHA-384).
pub const PCR_POLICY_LENGTH: usize = 48;

/// Most certificates in `cabundle` (AWS, Tempo and Base allow 32; real documents carry 4).
pub const MAX_CABUNDLE: usize = 32;

/// Largest DER certificate accepted in `certificate` or `cabundle` (AWS: 1-1024 bytes).
pub const MAX_CERTIFICATE_BYTES: usize = 1024;

/// Largest `public_key` (AWS text says 1-1024; real documents include an empty one).
pub const MAX_PUBLIC_KEY_BYTES: usize = 1024;

/// Largest `user_data` and `nonce`. AWS text says 512 in one place and 1024 in another; the
/// reference verifier allows 1024, and we match it for compatibility.
pub const MAX_USER_DATA_BYTES: usize = 1024;

/// Largest `nonce`; same reasoning as [`MAX_USER_DATA_BYTES`].
pub const MAX_NONCE_BYTES: usize = 1024;

/// Exact length of the raw `r || s` ES384 signature.
pub const SIGNATURE_BYTES: usize = 96;

/// Most chains remembered by the verifier's chain cache. A relay sees few distinct enclave
/// instances (one leaf per instance, reused for hours); 1024 entries of about 200 bytes each
/// bound memory while an attacker can only fill it with chains that verified.
pub const CHAIN_CACHE_CAPACITY: usize = 1024;
