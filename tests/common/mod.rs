//! Test support shared by the integration tests: where `../shared` is.
#![allow(dead_code)]

use std::path::PathBuf;

/// The environment variable that overrides where the shared reference folder is.
pub const SHARED_DIR_VAR: &str = "RELAY_SHARED_DIR";

/// The shared reference folder (`$RELAY_SHARED_DIR`, else `<crate root>/../shared`).
///
/// Panics with the path tried when the folder is missing: CI always has it, so a missing
/// folder is a broken setup that must not pass silently.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os(SHARED_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("testdata").is_dir(),
        "shared test data not found at {} (set {SHARED_DIR_VAR} to override)",
        dir.display()
    );
    dir
}

/// Reads a file inside the shared folder, by its path relative to it.
pub fn shared_file(relative: &str) -> Vec<u8> {
    let path = shared_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// The known-answer vectors, parsed.
pub fn kat() -> serde_json::Value {
    serde_json::from_slice(&shared_file("testdata/kat.json")).expect("kat.json is JSON")
}

/// One known-answer vector by name.
pub fn kat_vector(name: &str) -> serde_json::Value {
    kat()["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no kat vector named {name}"))
        .clone()
}
