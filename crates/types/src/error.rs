//! The one error type. Every variant carries its CloudStack meaning: the HTTP status /
//! `errorcode`, the `cserrorcode`, and a message written for the operator.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// CloudStack's `cserrorcode` values (`CSExceptionErrorCode`).
pub mod cs_code {
    /// Raised by the API layer itself (parameter checks, paging, unknown command).
    pub const API: u32 = 9999;
    pub const CLOUD_RUNTIME: u32 = 4250;
    pub const ACCOUNT_LIMIT: u32 = 4280;
    pub const CLOUD_AUTHENTICATION: u32 = 4290;
    pub const INSUFFICIENT_CAPACITY: u32 = 4325;
    pub const INVALID_PARAMETER_VALUE: u32 = 4350;
    pub const PERMISSION_DENIED: u32 = 4365;
    pub const RESOURCE_ALLOCATION: u32 = 4370;
    pub const RESOURCE_UNAVAILABLE: u32 = 4380;
    pub const RESOURCE_IN_USE: u32 = 4400;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A required parameter was not given (431).
    #[error("missing parameter {name}")]
    MissingParameter { name: String },
    /// A parameter value did not parse as its declared type or broke a declared limit (431).
    #[error("invalid value {value} for parameter {name}")]
    InvalidParameterType { name: String, value: String },
    /// A uuid parameter named no entity the caller can see (431, CloudStack's exact wording).
    #[error("entity for parameter {name} value={value} does not exist")]
    UnknownEntity { name: String, value: String },
    /// A `name[i].field` map parameter was malformed (430).
    #[error("{0}")]
    MalformedParameter(String),
    /// A value was well-formed but not acceptable; the message says why and what to do (431).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// Authentication failed (401). The message is deliberately generic.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not act on this entity (531).
    #[error("{0}")]
    PermissionDenied(String),
    /// The action is not supported in this situation (432).
    #[error("{0}")]
    UnsupportedAction(String),
    /// An account or domain resource limit would be exceeded (532).
    #[error("{0}")]
    AccountLimit(String),
    /// No host, address or other capacity is left (533).
    #[error("{0}")]
    InsufficientCapacity(String),
    /// A resource needed for the action is not available right now (534).
    #[error("{0}")]
    ResourceUnavailable(String),
    /// Allocating a resource failed (535).
    #[error("{0}")]
    ResourceAllocation(String),
    /// The entity is still in use by others. Answered as CloudStack answers it in practice —
    /// a 431 parameter error naming what still uses it (its `InvalidParameterValueException`),
    /// not the 536 of the rarely used `ResourceInUseException`: the operator's next step is to
    /// fix the request, and clients treat 4xx as "your input".
    #[error("{0}")]
    ResourceInUse(String),
    /// A compare-and-swap on an entity's state lost: another operation changed it first (431,
    /// as CloudStack answers "is being operated on"). Callers that can wait or retry match on
    /// it; otherwise the message tells the operator to retry.
    #[error("{0}")]
    Conflict(String),
    /// The server is shutting down or cannot accept work (503).
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Something unexpected. The detail is logged with the correlation id, never sent to the
    /// client (530). Every occurrence is a bug to fix.
    #[error("internal error {correlation_id}: {detail}")]
    Internal { correlation_id: String, detail: String },
}

impl Error {
    pub fn missing(name: impl Into<String>) -> Self {
        Error::MissingParameter { name: name.into() }
    }
    pub fn invalid_type(name: impl Into<String>, value: impl Into<String>) -> Self {
        Error::InvalidParameterType {
            name: name.into(),
            value: value.into(),
        }
    }
    pub fn unknown_entity(name: impl Into<String>, value: impl fmt::Display) -> Self {
        Error::UnknownEntity {
            name: name.into(),
            value: value.to_string(),
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidParameterValue(msg.into())
    }
    pub fn denied(msg: impl Into<String>) -> Self {
        Error::PermissionDenied(msg.into())
    }
    pub fn in_use(msg: impl Into<String>) -> Self {
        Error::ResourceInUse(msg.into())
    }
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::UnsupportedAction(msg.into())
    }
    /// Wrap an unexpected failure: a fresh correlation id ties the log line to the reply.
    pub fn internal(detail: impl fmt::Display) -> Self {
        let correlation_id = uuid::Uuid::new_v4().to_string();
        Error::Internal {
            correlation_id,
            detail: detail.to_string(),
        }
    }

    /// Rebuild an error from its wire form (`errorcode`, `errortext`), e.g. a job's stored
    /// failure that an unwinding resumed after a restart must report again. 530 and codes this
    /// server never answers come back as internal errors under `correlation_id`.
    pub fn from_wire(code: u16, text: String, correlation_id: &str) -> Error {
        match code {
            430 => Error::MalformedParameter(text),
            431 => Error::InvalidParameterValue(text),
            401 => Error::Unauthorized(text),
            531 => Error::PermissionDenied(text),
            432 => Error::UnsupportedAction(text),
            532 => Error::AccountLimit(text),
            533 => Error::InsufficientCapacity(text),
            534 => Error::ResourceUnavailable(text),
            535 => Error::ResourceAllocation(text),
            536 => Error::ResourceInUse(text),
            503 => Error::ServiceUnavailable(text),
            internal_or_unknown => Error::Internal {
                correlation_id: correlation_id.to_string(),
                detail: format!("{text} (code {internal_or_unknown})"),
            },
        }
    }

    /// HTTP status, equal to CloudStack's `errorcode`.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::MissingParameter { .. }
            | Error::InvalidParameterType { .. }
            | Error::UnknownEntity { .. }
            | Error::InvalidParameterValue(_) => 431,
            Error::MalformedParameter(_) => 430,
            Error::Unauthorized(_) => 401,
            Error::PermissionDenied(_) => 531,
            Error::UnsupportedAction(_) => 432,
            Error::AccountLimit(_) => 532,
            Error::InsufficientCapacity(_) => 533,
            Error::ResourceUnavailable(_) => 534,
            Error::ResourceAllocation(_) => 535,
            Error::ResourceInUse(_) | Error::Conflict(_) => 431,
            Error::ServiceUnavailable(_) => 503,
            Error::Internal { .. } => 530,
        }
    }

    /// CloudStack's `cserrorcode`; `None` on the authentication paths, where the real server
    /// sends none.
    pub fn cs_error_code(&self) -> Option<u32> {
        match self {
            Error::MissingParameter { .. }
            | Error::InvalidParameterType { .. }
            | Error::UnknownEntity { .. }
            | Error::MalformedParameter(_)
            | Error::UnsupportedAction(_)
            | Error::ServiceUnavailable(_) => Some(cs_code::API),
            Error::InvalidParameterValue(_) => Some(cs_code::INVALID_PARAMETER_VALUE),
            Error::Unauthorized(_) => None,
            Error::PermissionDenied(_) => Some(cs_code::PERMISSION_DENIED),
            Error::AccountLimit(_) => Some(cs_code::ACCOUNT_LIMIT),
            Error::InsufficientCapacity(_) => Some(cs_code::INSUFFICIENT_CAPACITY),
            Error::ResourceUnavailable(_) => Some(cs_code::RESOURCE_UNAVAILABLE),
            Error::ResourceAllocation(_) => Some(cs_code::RESOURCE_ALLOCATION),
            Error::ResourceInUse(_) | Error::Conflict(_) => Some(cs_code::INVALID_PARAMETER_VALUE),
            Error::Internal { .. } => Some(cs_code::CLOUD_RUNTIME),
        }
    }

    /// The `errortext` shown to the client. `command` is the API name as called; CloudStack
    /// prefixes parameter errors with its lowercased form.
    pub fn client_message(&self, command: &str) -> String {
        let cmd = command.to_ascii_lowercase();
        match self {
            Error::MissingParameter { name } => {
                format!("Unable to execute API command {cmd} due to missing parameter {name}")
            }
            Error::InvalidParameterType { name, value } => {
                format!("Unable to execute API command {cmd} due to invalid value {value} for parameter {name}")
            }
            Error::UnknownEntity { name, value } => format!(
                "Unable to execute API command {cmd} due to invalid value. Invalid parameter {name} \
                 value={value} due to incorrect long value format, or entity does not exist or due \
                 to incorrect parameter annotation for the field in api cmd class."
            ),
            Error::Internal { correlation_id, .. } => format!(
                "Internal error executing command, please contact your system administrator \
                 (correlation id {correlation_id})"
            ),
            Error::MalformedParameter(m)
            | Error::InvalidParameterValue(m)
            | Error::Unauthorized(m)
            | Error::PermissionDenied(m)
            | Error::UnsupportedAction(m)
            | Error::AccountLimit(m)
            | Error::InsufficientCapacity(m)
            | Error::ResourceUnavailable(m)
            | Error::ResourceAllocation(m)
            | Error::ResourceInUse(m)
            | Error::Conflict(m)
            | Error::ServiceUnavailable(m) => m.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_a_cloudstack_code() {
        let cases = [
            (Error::missing("zoneid"), 431, Some(9999)),
            (Error::invalid_type("page", "x"), 431, Some(9999)),
            (Error::unknown_entity("id", "abc"), 431, Some(9999)),
            (Error::MalformedParameter("m".into()), 430, Some(9999)),
            (Error::invalid("bad"), 431, Some(4350)),
            (Error::Unauthorized("u".into()), 401, None),
            (Error::denied("d"), 531, Some(4365)),
            (Error::unsupported("u"), 432, Some(9999)),
            (Error::AccountLimit("l".into()), 532, Some(4280)),
            (Error::InsufficientCapacity("c".into()), 533, Some(4325)),
            (Error::ResourceUnavailable("r".into()), 534, Some(4380)),
            (Error::ResourceAllocation("a".into()), 535, Some(4370)),
            (Error::in_use("i"), 431, Some(4350)),
            (Error::Conflict("c".into()), 431, Some(4350)),
            (Error::ServiceUnavailable("s".into()), 503, Some(9999)),
            (Error::internal("boom"), 530, Some(4250)),
        ];
        for (e, status, cs) in cases {
            assert_eq!(e.http_status(), status, "{e:?}");
            assert_eq!(e.cs_error_code(), cs, "{e:?}");
        }
    }

    #[test]
    fn parameter_messages_use_cloudstack_wording() {
        assert_eq!(
            Error::missing("zoneid").client_message("deployVirtualMachine"),
            "Unable to execute API command deployvirtualmachine due to missing parameter zoneid"
        );
        let m = Error::unknown_entity("id", "1d8d87d4-1425-459c-8d81-c6f57dca2bd2").client_message("deleteAccount");
        assert!(m.contains("Invalid parameter id value=1d8d87d4-1425-459c-8d81-c6f57dca2bd2 due to incorrect long value format, or entity does not exist"));
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let e = Error::internal("secret table xyz");
        assert!(!e.client_message("x").contains("xyz"));
    }
}
