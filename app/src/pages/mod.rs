//! One module per page (the list is in `docs/architecture.md`), each with the server
//! functions it reads through.

pub mod admin;
pub mod changes;
pub mod contribute;
pub mod finding;
pub mod findings;
pub mod not_found;
pub mod overview;
pub mod person;
pub mod report;
pub mod rules;
pub mod target;
pub mod targets;
pub mod teams;

pub use not_found::NotFound;
pub use overview::OverviewPage;
