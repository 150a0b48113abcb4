//! Typed internal row ids. The API speaks UUIDs; rows are keyed by integers so that lists
//! page and join on compact indexed keys.

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
    )*};
}

id_type!(DomainId, AccountId, UserId, RoleId, JobId, EventId);

/// Parse an API uuid: CloudStack's canonical lowercase 8-4-4-4-12 hex form. Uppercase is
/// accepted and normalised (the server is lenient where clients are not).
pub fn parse_uuid(s: &str) -> Option<uuid::Uuid> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(s).ok()
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
