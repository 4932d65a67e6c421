//! Configuration validation of the connector and the dev gateway (errors name the field),
//! the dev-gateway CLI's config loading, key loading and the node-address guard.

use std::path::Path;
use std::sync::Arc;

use confidential_relay::cli::dev_gateway;
use confidential_relay::gateway::dev::DevConfig;
use confidential_relay::gateway::{Connector, ConnectorConfig, NodeKey, StartError};
use secrecy::SecretString;

const GATEWAYS: &str = r#"
[[gateways]]
id = "gw-a"
url = "ws://localhost:8081/node"
[[gateways]]
id = "gw-b"
url = "wss://example.com:8090/node"
"#;

fn connector(head: &str, gateways: &str) -> Result<ConnectorConfig, String> {
    ConnectorConfig::from_toml(&format!("{head}\n{gateways}")).map_err(|err| err.to_string())
}

#[test]
fn valid_connector_config_gets_defaults() {
    let config = connector(r#"don_id = "relay_don""#, GATEWAYS).unwrap();
    assert_eq!(config.don_id, "relay_don");
    assert_eq!(config.gateways.len(), 2);
    assert_eq!(config.handshake_timeout.as_millis(), 10_000);
    assert_eq!(
        (
            config.backoff_min.as_millis(),
            config.backoff_max.as_millis()
        ),
        (1_000, 15_000)
    );
    assert_eq!(config.max_message_bytes, 1_000_000);
    assert_eq!(config.min_challenge_len, 10);
    assert_eq!(config.node_address, None);
}

#[test]
fn invalid_connector_configs_name_the_field() {
    let cases = [
        (
            r#"don_id = """#.to_owned(),
            GATEWAYS,
            "gateway connector config: don_id: must be 1..=64 bytes without NUL, got 0 bytes",
        ),
        (
            format!(r#"don_id = "{}""#, "d".repeat(66)),
            GATEWAYS,
            "gateway connector config: don_id: must be 1..=64 bytes without NUL, got 66 bytes",
        ),
        (
            "don_id = \"d\"\nnode_address = \"7e5f4552091a69125d5dfcb7b8c2659029395bdf\""
                .to_owned(),
            GATEWAYS,
            "gateway connector config: node_address: must be 0x followed by 40 hex digits",
        ),
        (
            r#"don_id = "d""#.to_owned(),
            "[[gateways]]\nid = \"a\"\nurl = \"ws://x/1\"\n[[gateways]]\nid = \"a\"\nurl = \"ws://x/2\"",
            r#"gateway connector config: gateways[1].id: duplicate gateway id "a""#,
        ),
        (
            r#"don_id = "d""#.to_owned(),
            "[[gateways]]\nid = \"a\"\nurl = \"ws://x/1\"\n[[gateways]]\nid = \"b\"\nurl = \"ws://x/1\"",
            r#"gateway connector config: gateways[1].url: duplicate gateway URL "ws://x/1""#,
        ),
        (
            r#"don_id = "d""#.to_owned(),
            "[[gateways]]\nid = \"a\"\nurl = \"http://x/1\"",
            "gateway connector config: gateways[0].url: must start with ws:// or wss://",
        ),
        (
            r#"don_id = "d""#.to_owned(),
            "gateways = []",
            "gateway connector config: gateways: at least one gateway is required",
        ),
        (
            "don_id = \"d\"\nbackoff_min_ms = 500\nbackoff_max_ms = 100".to_owned(),
            GATEWAYS,
            "gateway connector config: backoff_max_ms: must be at least backoff_min_ms",
        ),
        (
            "don_id = \"d\"\nmax_in_flight = 0".to_owned(),
            GATEWAYS,
            "gateway connector config: max_in_flight: must be greater than 0",
        ),
    ];
    for (head, gateways, expected) in cases {
        assert_eq!(connector(&head, gateways).unwrap_err(), expected, "{head}");
    }
    let unknown = connector("don_id = \"d\"\nsurprise = 1", GATEWAYS).unwrap_err();
    assert!(
        unknown.starts_with("gateway connector config: (toml): unknown field `surprise`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn node_address_must_match_the_key() {
    let key = Arc::new(NodeKey::from_hex(&SecretString::from(format!("{:064x}", 2))).unwrap());
    let text = format!(
        "don_id = \"d\"\nnode_address = \"0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf\"\n{GATEWAYS}"
    );
    let config = ConnectorConfig::from_toml(&text).unwrap();
    let err = Connector::start(config, key, Arc::new(NoHandler))
        .err()
        .unwrap();
    assert_eq!(
        err,
        StartError::AddressMismatch {
            configured: "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf".into(),
            actual: "0x2b5ad5c4795c026514f8317c7a215e218dccd6cf".into(),
        }
    );
}

struct NoHandler;

#[async_trait::async_trait]
impl confidential_relay::gateway::RequestHandler for NoHandler {
    async fn handle(
        &self,
        _: &str,
        request: confidential_relay::jsonrpc::Request,
    ) -> confidential_relay::jsonrpc::Response {
        let failure = confidential_relay::jsonrpc::Failure::MethodNotFound(request.method.clone());
        confidential_relay::jsonrpc::Response::failure(request.id, request.method, &failure)
    }
}

#[test]
fn key_loads_from_a_file_and_debug_shows_only_the_address() {
    let path = std::env::temp_dir().join(format!("gateway-key-{}.hex", std::process::id()));
    std::fs::write(&path, format!("0x{:064x}\n", 3)).unwrap();
    let key = NodeKey::from_hex_file(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        format!("{key:?}"),
        "NodeKey { address: 0x6813eb9362372eef6200f3b1dbc3f819671cba69, .. }"
    );
    let missing = NodeKey::from_hex_file(Path::new("/nonexistent/key.hex")).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "cannot read node key file /nonexistent/key.hex: No such file or directory (os error 2)"
    );
}

const MEMBERS: &str = r#"members = ["0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "0x2b5ad5c4795c026514f8317c7a215e218dccd6cf", "0x6813eb9362372eef6200f3b1dbc3f819671cba69", "0x1eff47bc3a10a45d4b230b5d10e37751fe6aa718"]"#;

fn dev_config(top: &str, don: &str) -> Result<DevConfig, String> {
    DevConfig::from_toml(&format!(
        "gateway_id = \"g\"\n{top}\n[don]\nname = \"d\"\n{don}"
    ))
    .map_err(|err| err.to_string())
}

#[test]
fn dev_config_validation() {
    let ok = dev_config("", &format!("f = 1\n{MEMBERS}")).unwrap();
    assert_eq!(
        (
            ok.f,
            ok.members.len(),
            ok.challenge_len,
            ok.timestamp_tolerance_secs
        ),
        (1, 4, 10, 5)
    );
    assert_eq!(ok.quorum_grace.unwrap().as_millis(), 10_000);
    let clamped = dev_config(
        "request_timeout_ms = 5000\nquorum_grace_ms = 20000",
        &format!("f = 1\n{MEMBERS}"),
    )
    .unwrap();
    assert_eq!(clamped.quorum_grace.unwrap().as_millis(), 5_000);
    let off = dev_config("quorum_grace_ms = -1", &format!("f = 1\n{MEMBERS}")).unwrap();
    assert_eq!(off.quorum_grace, None);
    let cases = [
        ("", "f = 2\n".to_owned() + MEMBERS, "dev gateway config: don.members: 4 members, need at least 3F+1 = 7"),
        (
            "",
            "f = 0\nmembers = [\"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\", \"0x7E5F4552091A69125D5DFCB7B8C2659029395BDF\"]".to_owned(),
            "dev gateway config: don.members[1]: duplicate node address 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
        ),
        ("", "f = 0\nmembers = [\"0x12\"]".to_owned(), "dev gateway config: don.members[0]: must be 0x followed by 40 hex digits"),
        (
            "heartbeat_interval_ms = 1000\npong_timeout_ms = 1000",
            "f = 1\n".to_owned() + MEMBERS,
            "dev gateway config: pong_timeout_ms: must be greater than heartbeat_interval_ms",
        ),
        (
            "heartbeat_interval_ms = 0\npong_timeout_ms = 3000",
            "f = 1\n".to_owned() + MEMBERS,
            "dev gateway config: pong_timeout_ms: needs heartbeat_interval_ms > 0",
        ),
    ];
    for (top, don, expected) in cases {
        assert_eq!(dev_config(top, &don).unwrap_err(), expected);
    }
    let zero_pong = dev_config("pong_timeout_ms = 0", &format!("f = 1\n{MEMBERS}")).unwrap();
    assert_eq!(zero_pong.pong_timeout, None);
}

#[test]
fn cli_loads_the_documented_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dev-gateway.example.toml");
    let config = dev_gateway::load(&example).unwrap();
    assert_eq!(config.gateway_id, "gateway-node-0");
    assert_eq!(config.members.len(), 4);
    let err = dev_gateway::load(Path::new("/nonexistent.toml")).unwrap_err();
    assert_eq!(
        err,
        "cannot read /nonexistent.toml: No such file or directory (os error 2)"
    );
}
