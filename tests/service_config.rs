//! The configuration file: the documented example validates, `check-config` prints a summary
//! without secrets, and every refusal names its field.

use std::path::{Path, PathBuf};
use std::process::Command;

use confidential_relay::config::{Config, NodeKeySource};

const KEY_HEX: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relay-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
        .unwrap()
}

#[test]
fn the_example_validates_with_its_documented_defaults() {
    let dir = temp_dir("example");
    let config = Config::parse(&example(), &dir).unwrap();
    assert_eq!(config.node_key, NodeKeySource::File(dir.join("node.key")));
    assert_eq!(config.relay.limits.max_secrets, 10);
    assert_eq!(config.relay.domain_hash.name(), "current");
    assert!(!config.relay.forward_org_id);
    assert!(config.attestation.root.is_aws());
    assert!(!config.attestation.policy.allows_debug_enclaves());
    assert_eq!(config.attestation.policy.max_age().as_secs(), 300);
    assert_eq!(config.attestation.policy.max_future_skew().as_secs(), 30);
    assert_eq!(config.attestation.policy.trusted_pcrs().len(), 1);
    assert_eq!(config.connector.max_in_flight, 256);
    assert_eq!(config.connector.max_message_bytes, 1_000_000);
    assert_eq!(config.admin_listen.to_string(), "127.0.0.1:9464");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_config_prints_a_summary_without_the_key() {
    let dir = temp_dir("check");
    std::fs::write(dir.join("node.key"), KEY_HEX).unwrap();
    std::fs::write(dir.join("relay.toml"), example()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
        .args(["check-config", "--config"])
        .arg(dir.join("relay.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "node address:        0x2c7536e3605d9c16a7a3d7b1898e529396a65c23",
        "gateway DON id:      confidential_relay_don",
        "  gateway-node-0 -> ws://127.0.0.1:5003/",
        "trust root:          AWS Nitro Root G1 (pinned) (sha256 641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b)",
        "trusted PCR sets:    1",
        "debug enclaves:      refused",
        "DomainHash formula:  current",
        "  vault@1.0.0 -> http://127.0.0.1:7000 (deadline 10s, max 64 concurrent)",
        "  my-action@1.0.0 -> http://127.0.0.1:7001 (deadline 10s, max 64 concurrent)",
        "limits:              max 10 secrets per request, 256 requests in flight, 1000000 byte messages",
    ] {
        assert!(
            stdout.lines().any(|line| line == expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(!stdout.contains(KEY_HEX) && !stdout.contains(&KEY_HEX[..16]));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_refusal_names_its_field() {
    let dir = temp_dir("refusals");
    let base = example();
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("key_file = \"node.key\"", ""),
            "node.key_file: the node key is required: set key_file or key_env",
        ),
        (
            base.replace(
                "# key_env = \"RELAY_NODE_KEY\"",
                "key_env = \"RELAY_NODE_KEY\"",
            ),
            "node.key_file: set key_file or key_env, not both",
        ),
        (
            base.replace("domain_hash = \"current\"", "domain_hash = \"v3\""),
            "relay.domain_hash: \"v3\" is not current or legacy",
        ),
        (
            base.replace("max_secrets = 10", "max_secrets = 0"),
            "relay.max_secrets: must be at least 1",
        ),
        (
            base.replace("max_age_secs = 300", "max_age_secs = 0"),
            "attestation.max_age_secs: 0 is outside 1..=3600",
        ),
        (
            base.replace("max_age_secs = 300", "max_age_secs = 86400"),
            "attestation.max_age_secs: 86400 is outside 1..=3600",
        ),
        (
            base.replace("max_future_skew_secs = 30", "max_future_skew_secs = 301"),
            "attestation.max_future_skew_secs: 301 is outside 0..=300",
        ),
        (
            base.replace("listen = \"127.0.0.1:9464\"", "listen = \"loopback\""),
            "admin.listen: \"loopback\" is not a socket address: invalid socket address syntax",
        ),
        (
            base.replace(
                "url = \"ws://127.0.0.1:5003/\"",
                "url = \"http://127.0.0.1:5003/\"",
            ),
            "gateway.gateways[0].url",
        ),
        (
            base.replace(
                "endpoint = \"http://127.0.0.1:7000\"",
                "endpoint = \"ftp://vault\"",
            ),
            "backends.vault.endpoint",
        ),
        (
            base.replace("pcr0 = \"000102", "pcr0 = \"00"),
            "attestation.trusted_pcrs: ",
        ),
    ];
    for (text, expected) in cases {
        let err = Config::parse(&text, &dir).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "{err:?} does not start with {expected:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_refuses_an_invalid_file_with_exit_64() {
    let dir = temp_dir("run-invalid");
    std::fs::write(dir.join("relay.toml"), "[node]\nkey_env = \"\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
        .args(["run", "--config"])
        .arg(dir.join("relay.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("invalid configuration "), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_loaded_with_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("key-mode");
    let key = dir.join("node.key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::write(dir.join("relay.toml"), example()).unwrap();
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
            .args(["check-config", "--config"])
            .arg(dir.join("relay.toml"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            stderr.contains("node key file is readable by group or others; chmod 600 it"),
            warned,
            "mode {mode:o}: {stderr}"
        );
        assert!(!stderr.contains(KEY_HEX));
    }
    std::fs::remove_dir_all(&dir).ok();
}
