//! (being written)

/// Event types this module records (for listEventTypes).
pub const EVENT_TYPES: &[&str] = &[];

/// Seed CloudStack's default offerings (first start; idempotent).
pub async fn seed(_c: &mut ferrostack_db::Conn) -> Result<(), ferrostack_types::Error> {
    Ok(())
}
