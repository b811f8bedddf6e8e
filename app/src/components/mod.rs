//! Pieces shared by several pages, with the server functions they call.

pub mod account;
pub mod burndown;
pub mod changes;
pub mod finding_table;
pub mod links;
pub mod ownership;
pub mod triage;
pub mod ui;
pub mod upstream_issue;
