//! Hand-written protobuf messages of the backend API (no protoc).
