//! Capability error strings (`CapabilityResponse.error`, chainlink-common
//! `pkg/capabilities/errors`): the wire form `Visibility:Origin:Code:message` and the text the Go
//! client renders, `[<code number>]<CodeName>: <message>`. Every relay node must render the same
//! text, because it is signed into the capability result.

use std::fmt;

/// Who may see the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The message may be reported to the workflow.
    Public,
    /// The message is private to the node (the default for legacy strings).
    Private,
}

/// Whose fault the error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The capability or the platform failed.
    System,
    /// The caller's input was at fault.
    User,
}

/// Declares [`ErrorCode`] with its wire names and numbers in one table.
macro_rules! error_codes {
    ($($variant:ident = $number:literal),+ $(,)?) => {
        /// The capability error code (gRPC-like codes plus Chainlink's 100+ codes).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", stringify!($variant), "` (", stringify!($number), ").")]
                $variant,
            )+
        }

        impl ErrorCode {
            /// The code's number, as rendered in brackets.
            pub fn number(self) -> u32 {
                match self { $(Self::$variant => $number,)+ }
            }

            /// The code's name, as on the wire and in the rendered text.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)+ }
            }

            /// The code for a wire name; an unrecognised name decodes as `Unknown` (as in Go).
            pub fn from_name(name: &str) -> Self {
                match name {
                    $(stringify!($variant) => Self::$variant,)+
                    _ => Self::Unknown,
                }
            }
        }
    };
}

error_codes! {
    Canceled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
    ConsensusFailed = 100,
    LimitExceeded = 101,
    InsufficientObservations = 102,
}

/// A decoded capability error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityError {
    /// Who may see the message.
    pub visibility: Visibility,
    /// Whose fault it is.
    pub origin: Origin,
    /// The error code.
    pub code: ErrorCode,
    /// The message (may contain `:`).
    pub message: String,
}

impl CapabilityError {
    /// Parses the wire form: split on `:` into at most 4 parts; fewer than 4 parts is a legacy
    /// plain error (Private, System, Unknown, the whole string as message). Never fails.
    pub fn parse(wire: &str) -> Self {
        let mut parts = wire.splitn(4, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(visibility), Some(origin), Some(code), Some(message)) => Self {
                visibility: if visibility == "Public" {
                    Visibility::Public
                } else {
                    Visibility::Private
                },
                origin: if origin == "User" {
                    Origin::User
                } else {
                    Origin::System
                },
                code: ErrorCode::from_name(code),
                message: message.to_string(),
            },
            _ => Self {
                visibility: Visibility::Private,
                origin: Origin::System,
                code: ErrorCode::Unknown,
                message: wire.to_string(),
            },
        }
    }
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}]{}: {}",
            self.code.number(),
            self.code.name(),
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_structured_error() {
        let err = CapabilityError::parse("Public:User:InvalidArgument:bad input");
        assert_eq!(
            err,
            CapabilityError {
                visibility: Visibility::Public,
                origin: Origin::User,
                code: ErrorCode::InvalidArgument,
                message: "bad input".into(),
            }
        );
        assert_eq!(err.to_string(), "[3]InvalidArgument: bad input");
    }

    #[test]
    fn legacy_string_is_private_system_unknown() {
        let err = CapabilityError::parse("boom");
        assert_eq!(err.visibility, Visibility::Private);
        assert_eq!(err.origin, Origin::System);
        assert_eq!(err.to_string(), "[2]Unknown: boom");
        assert_eq!(
            CapabilityError::parse("a:b:c").to_string(),
            "[2]Unknown: a:b:c"
        );
    }

    #[test]
    fn message_keeps_its_colons_and_high_codes_render() {
        let err = CapabilityError::parse("Private:System:ConsensusFailed:x: y:z");
        assert_eq!(err.to_string(), "[100]ConsensusFailed: x: y:z");
        assert_eq!(
            CapabilityError::parse("Public:System:InsufficientObservations:").to_string(),
            "[102]InsufficientObservations: "
        );
    }

    #[test]
    fn unknown_code_name_decodes_as_unknown() {
        let err = CapabilityError::parse("Public:User:NoSuchCode:m");
        assert_eq!(err.code, ErrorCode::Unknown);
        assert_eq!(err.to_string(), "[2]Unknown: m");
    }

    #[test]
    fn every_code_round_trips_by_name() {
        for (name, number) in [
            ("Canceled", 1),
            ("Unauthenticated", 16),
            ("LimitExceeded", 101),
        ] {
            let code = ErrorCode::from_name(name);
            assert_eq!((code.name(), code.number()), (name, number));
        }
    }
}
