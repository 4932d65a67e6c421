//! The `[backends]` section: validation names the offending field; the summary lists routes.

use std::time::Duration;

use confidential_relay::backend::config::{EndpointAddr, RoutePlan};
use confidential_relay::backend::{BackendsConfig, ConfigError, GrpcBackends};

fn parse(section: &str) -> BackendsConfig {
    toml::from_str(section).expect("test TOML parses")
}

fn rejection(section: &str) -> ConfigError {
    parse(section)
        .validate()
        .expect_err("config must be rejected")
}

#[test]
fn full_config_validates_with_defaults_and_overrides() {
    let plan = parse(
        r#"
        default_endpoint = "http://127.0.0.1:7001"
        connect_timeout_ms = 500
        max_concurrency = 16
        [vault]
        endpoint = "unix:///run/chainlink/vault.sock"
        [capabilities."my-action@1.0.0"]
        endpoint = "https://capability.internal:7443"
        deadline_ms = 30000
        max_concurrency = 8
        "#,
    )
    .validate()
    .unwrap();
    assert_eq!(plan.connect_timeout, Duration::from_millis(500));
    assert_eq!(plan.max_decode_bytes, 1024 * 1024);
    assert_eq!(
        plan.routes["vault@1.0.0"],
        RoutePlan {
            endpoint: EndpointAddr::Unix("/run/chainlink/vault.sock".into()),
            deadline: Duration::from_secs(10),
            max_concurrency: 16,
        }
    );
    assert_eq!(
        plan.routes["my-action@1.0.0"].deadline,
        Duration::from_secs(30)
    );
    assert_eq!(plan.routes["my-action@1.0.0"].max_concurrency, 8);
    assert_eq!(
        plan.summary(),
        [
            "my-action@1.0.0 -> https://capability.internal:7443 (deadline 30s, max 8 concurrent)",
            "vault@1.0.0 -> unix:///run/chainlink/vault.sock (deadline 10s, max 16 concurrent)",
            "* -> http://127.0.0.1:7001 (deadline 10s, max 16 concurrent)",
        ]
    );
    // Building the clients makes no connection (and needs no runtime).
    assert!(GrpcBackends::new(&plan).is_ok());
}

#[test]
fn the_vault_may_use_the_default_endpoint() {
    let plan = parse("default_endpoint = \"http://[::1]:9000\"")
        .validate()
        .unwrap();
    assert!(plan.routes.is_empty());
    assert_eq!(
        plan.summary(),
        ["* -> http://[::1]:9000 (deadline 10s, max 64 concurrent)"]
    );
}

#[test]
fn rejections_name_the_field() {
    let cases = [
        (
            "",
            "backends.vault: missing: set [backends.vault] or backends.default_endpoint",
        ),
        (
            "default_endpoint = \"ftp://host:1\"",
            "backends.default_endpoint: \"ftp://host:1\": the scheme must be http, https or unix",
        ),
        (
            "[vault]\nendpoint = \"http://host:1/prefix\"",
            "backends.vault.endpoint: \"http://host:1/prefix\": expected scheme://host:port with no path",
        ),
        (
            "[vault]\nendpoint = \"unix://relative.sock\"",
            "backends.vault.endpoint: \"unix://relative.sock\": a unix endpoint is unix:///absolute/path",
        ),
        (
            "[vault]\nendpoint = \"unix:///v.sock\"\ndeadline_ms = 0",
            "backends.vault.deadline_ms: 0 ms is outside 1..=300000",
        ),
        (
            "deadline_ms = 300001\n[vault]\nendpoint = \"unix:///v.sock\"",
            "backends.deadline_ms: 300001 ms is outside 1..=300000",
        ),
        (
            "connect_timeout_ms = 60001\n[vault]\nendpoint = \"unix:///v.sock\"",
            "backends.connect_timeout_ms: 60001 ms is outside 1..=60000",
        ),
        (
            "max_decode_bytes = 10\n[vault]\nendpoint = \"unix:///v.sock\"",
            "backends.max_decode_bytes: 10 is outside 1024..=16777216",
        ),
        (
            "[vault]\nendpoint = \"unix:///v.sock\"\n[capabilities.\"a@1\"]\nendpoint = \"http://h:1\"\nmax_concurrency = 0",
            "backends.capabilities.\"a@1\".max_concurrency: 0 is outside 1..=4096",
        ),
        (
            "default_endpoint = \"http://h:1\"\n[capabilities.\"vault@1.0.0\"]\nendpoint = \"http://h:2\"",
            "backends.capabilities.\"vault@1.0.0\": configure the vault in [backends.vault]",
        ),
        (
            "default_endpoint = \"http://h:1\"\n[capabilities.\"\"]\nendpoint = \"http://h:2\"",
            "backends.capabilities.\"\": a capability id has 1..=256 characters",
        ),
        (
            "default_endpoint = \"http://:1\"",
            "backends.default_endpoint: \"http://:1\": expected scheme://host:port (the host is missing)",
        ),
        (
            "default_endpoint = \"http://a b:1\"",
            "backends.default_endpoint: \"http://a b:1\" is not a URI: invalid uri character",
        ),
    ];
    for (section, expected) in cases {
        assert_eq!(rejection(section).to_string(), expected, "for {section:?}");
    }
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let err =
        toml::from_str::<BackendsConfig>("[vault]\nendpoint = \"unix:///v.sock\"\ndeadline = 5")
            .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `deadline`"),
        "{err}"
    );
}
