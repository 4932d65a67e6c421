//! The TOML configuration, validated once into typed values.
