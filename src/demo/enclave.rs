//! A synthetic enclave: it holds an X25519 key pair, builds `confidential.secrets.get` and
//! `confidential.capability.execute` params, mints a fake Nitro attestation bound to them
//! (DomainHash of the declared-order form, as the reference Go enclave does), posts JSON-RPC to
//! the gateway's HTTP endpoint, and checks every answer end to end ([`super::enclave_check`]).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_box::SecretKey;
use crypto_box::aead::OsRng;
use prost::Message as _;
use serde_json::json;

use super::DemoError;
use crate::attestation::fake::{DocumentSpec, FakeAttestor, mutate};
use crate::proto::sdk;
use crate::proto::values::{Value, value};
use crate::relay::binding::canonical_forms;
use crate::relay::domain_hash::domain_hash;
use crate::relay::{DomainHashFormula, METHOD_CAPABILITY_EXECUTE, METHOD_SECRETS_GET};

pub use super::enclave_check::CheckError;

/// PCRs of an enclave image the relays do not trust (the "wrong PCRs" bad request).
pub const UNTRUSTED_PCRS: [[u8; 48]; 3] = [[0xe0; 48], [0xe1; 48], [0xe2; 48]];
/// An owner that is not a hex address (the "bad owner" bad request).
pub const BAD_OWNER: &str = "0xnot-an-address";
/// Bound on one HTTP exchange with the gateway (its own request timeout is 30 s).
const HTTP_TIMEOUT: Duration = Duration::from_secs(40);

/// Which relay method a request calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `confidential.secrets.get` for every demo secret.
    Secrets,
    /// `confidential.capability.execute` of the echo capability.
    Capability,
}

impl CallKind {
    /// The JSON-RPC method.
    pub fn method(self) -> &'static str {
        match self {
            Self::Secrets => METHOD_SECRETS_GET,
            Self::Capability => METHOD_CAPABILITY_EXECUTE,
        }
    }
}

/// How to spoil a request (the demo's bad requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// A good request.
    None,
    /// One bit of the attestation's COSE signature flipped.
    BadSignature,
    /// Attested by an enclave image with [`UNTRUSTED_PCRS`].
    WrongPcrs,
    /// `owner` is [`BAD_OWNER`].
    BadOwner,
}

impl Tamper {
    /// What the relay must answer (-32602 message), as an exact text or a prefix.
    pub fn expected_refusal(self) -> Option<(&'static str, bool)> {
        match self {
            Self::None => None,
            Self::BadSignature => Some(("attestation rejected: bad_signature", true)),
            Self::WrongPcrs => Some(("attestation rejected: pcr_mismatch", true)),
            Self::BadOwner => Some(("invalid owner address: ", false)),
        }
    }
}

/// A secret the enclave expects, with the share bytes the mock vault was set up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSecret {
    /// Namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// The plaintext value.
    pub value: Vec<u8>,
    /// The ciphertext the vault stores.
    pub ciphertext: Vec<u8>,
    /// The plaintext shares, one per vault node.
    pub shares: Vec<Vec<u8>>,
}

/// What an enclave is built from.
#[derive(Debug, Clone)]
pub struct EnclaveSetup {
    /// Mints the attestations.
    pub attestor: Arc<FakeAttestor>,
    /// PCR0-2 of this enclave image.
    pub pcrs: [[u8; 48]; 3],
    /// Workflow owner, as sent.
    pub owner: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Capability to execute.
    pub capability_id: String,
    /// Secrets to request, in request order.
    pub secrets: Vec<ExpectedSecret>,
    /// F of the relay DON: F+1 identical results are required.
    pub f: usize,
    /// The gateway's user endpoint.
    pub url: String,
}

/// A request ready to send, and what its answer must contain.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// JSON-RPC id.
    pub id: String,
    /// Method.
    pub kind: CallKind,
    /// The HTTP body.
    pub body: Vec<u8>,
    /// The string value the echo capability must return.
    pub echo: String,
}

/// The synthetic enclave.
pub struct Enclave {
    pub(super) setup: EnclaveSetup,
    pub(super) secret_key: SecretKey,
    public_hex: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enclave")
            .field("public_key", &self.public_hex)
            .field("url", &self.setup.url)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl Enclave {
    /// An enclave with a fresh X25519 key pair.
    pub fn new(setup: EnclaveSetup) -> Result<Self, DemoError> {
        let secret_key = SecretKey::generate(&mut OsRng);
        let public_hex = hex::encode(secret_key.public_key().as_bytes());
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| super::setup("HTTP client", e))?;
        Ok(Self {
            setup,
            secret_key,
            public_hex,
            client,
        })
    }

    /// The enclave's X25519 public key, hex.
    pub fn public_key_hex(&self) -> &str {
        &self.public_hex
    }

    /// F of the relay DON this enclave expects.
    pub fn f(&self) -> usize {
        self.setup.f
    }

    /// Builds the params (without attestation), attests them and returns the request.
    pub fn prepare(
        &self,
        id: &str,
        kind: CallKind,
        tamper: Tamper,
    ) -> Result<Prepared, CheckError> {
        let owner = if tamper == Tamper::BadOwner {
            BAD_OWNER
        } else {
            self.setup.owner.as_str()
        };
        let echo = format!("echo {id}");
        let mut params = match kind {
            CallKind::Secrets => json!({
                "workflow_id": self.setup.workflow_id,
                "owner": owner,
                "execution_id": format!("exec-{id}"),
                "secrets": self.setup.secrets.iter()
                    .map(|s| json!({"key": s.key, "namespace": s.namespace}))
                    .collect::<Vec<_>>(),
                "enclave_public_key": self.public_hex,
            }),
            CallKind::Capability => {
                let request = sdk::CapabilityRequest {
                    id: self.setup.capability_id.clone(),
                    payload: Some(crate::proto::pack(&Value {
                        kind: Some(value::Kind::StringValue(echo.clone())),
                    })),
                    method: "Echo".to_owned(),
                    callback_id: 1,
                };
                json!({
                    "workflow_id": self.setup.workflow_id,
                    "owner": owner,
                    "execution_id": format!("exec-{id}"),
                    "reference_id": "1",
                    "capability_id": self.setup.capability_id,
                    "payload": STANDARD.encode(request.encode_to_vec()),
                })
            }
        };
        let raw = serde_json::value::to_raw_value(&params)
            .map_err(|e| CheckError::Build(e.to_string()))?;
        let forms =
            canonical_forms(kind.method(), &raw).map_err(|e| CheckError::Build(e.to_string()))?;
        let user_data = domain_hash(
            DomainHashFormula::default(),
            forms.tag,
            &forms.declared_order,
        );
        let pcrs = if tamper == Tamper::WrongPcrs {
            UNTRUSTED_PCRS
        } else {
            self.setup.pcrs
        };
        let mut document = self
            .setup
            .attestor
            .mint(&DocumentSpec::new(pcrs, &user_data, now_ms()))
            .map_err(|e| CheckError::Build(e.to_string()))?;
        if tamper == Tamper::BadSignature {
            // The signature is the document's last item, so its last byte is the document's.
            document = document
                .len()
                .checked_sub(1)
                .and_then(|last| mutate::flip_bit(&document, last, 0))
                .ok_or_else(|| CheckError::Build("cannot flip a signature bit".into()))?;
        }
        if let Some(object) = params.as_object_mut() {
            object.insert("attestation".into(), STANDARD.encode(&document).into());
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": kind.method(), "params": params});
        let body = serde_json::to_vec(&body).map_err(|e| CheckError::Build(e.to_string()))?;
        Ok(Prepared {
            id: id.to_owned(),
            kind,
            body,
            echo,
        })
    }

    /// POSTs a prepared request to the gateway: (HTTP status, body).
    pub async fn send(&self, prepared: &Prepared) -> Result<(u16, Vec<u8>), CheckError> {
        let response = self
            .client
            .post(&self.setup.url)
            .header("content-type", "application/json")
            .body(prepared.body.clone())
            .send()
            .await
            .map_err(|e| CheckError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| CheckError::Transport(e.to_string()))?;
        Ok((status, body.to_vec()))
    }

    /// Sends one good request and checks its answer end to end; returns the round-trip time
    /// (send to answer received; minting and checking are not included).
    pub async fn call(&self, id: &str, kind: CallKind) -> Result<Duration, CheckError> {
        let prepared = self.prepare(id, kind, Tamper::None)?;
        let started = Instant::now();
        let (status, body) = self.send(&prepared).await?;
        let took = started.elapsed();
        self.check(&prepared, status, &body)?;
        Ok(took)
    }

    /// Sends one spoiled request and checks that it is refused with the expected -32602
    /// reason; returns the refusal message.
    pub async fn expect_refusal(
        &self,
        id: &str,
        kind: CallKind,
        tamper: Tamper,
    ) -> Result<String, CheckError> {
        let prepared = self.prepare(id, kind, tamper)?;
        let (status, body) = self.send(&prepared).await?;
        self.check_refusal(tamper, status, &body)
    }
}
