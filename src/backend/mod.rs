//! Backends the relay proxies to: the vault capability and the capabilities named in requests.
//!
//! The relay core talks to them through [`VaultBackend`] and [`CapabilityBackend`]; the gRPC
//! implementations and mock servers live beside this file.
