//! Shared vocabulary of ferrostack: the one error type and its CloudStack mapping,
//! typed ids, roles, time formatting and paging. No I/O lives here.

pub mod entity;
pub mod error;
pub mod event;
pub mod followup;
pub mod ids;
pub mod paging;
pub mod role;
pub mod state;
pub mod time;

pub use error::{Error, Result};
pub use event::EventType;
pub use paging::Page;
pub use role::{AccountType, RoleType};
