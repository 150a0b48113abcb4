//! (being written)

/// Event types this module records (for listEventTypes).
pub const EVENT_TYPES: &[&str] = &[];
