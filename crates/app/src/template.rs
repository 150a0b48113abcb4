//! (being written)

/// Event types this module records (for listEventTypes).
pub const EVENT_TYPES: &[&str] = &[];

/// Seed the OS catalogue and the default simulator templates (first start; idempotent).
pub async fn seed(_c: &mut ferrostack_db::Conn) -> Result<(), ferrostack_types::Error> {
    Ok(())
}

impl crate::App {
    /// Advance simulated template downloads (called periodically by the server).
    pub async fn template_downloads_tick(&self) -> Result<(), ferrostack_types::Error> {
        Ok(())
    }
}
