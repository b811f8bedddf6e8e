//! Database access, one module per table family. Server-side only.

pub mod claims;
pub mod events;
pub mod findings;
pub mod history;
pub mod people;
pub mod progress;
pub mod targets;
pub mod triage;
pub mod users;
