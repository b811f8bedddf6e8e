//! Database access, one module per table family. Server-side only.

pub mod events;
pub mod progress;
pub mod targets;
