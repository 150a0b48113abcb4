//! (being written)
use crate::registry::Command;
pub fn commands() -> Vec<Command> {
    vec![]
}
