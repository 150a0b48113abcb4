//! Reads and checks the api layer used to do itself: lookups by uuid for list filters,
//! the per-page service maps of networks, capacity per zone, and the caller checks of a few
//! commands. Each function takes and releases its own connection.

mod capacity;
mod lookup;

pub use capacity::ZoneCapacity;
