//! Every query of every table, one module per table family (see `docs/architecture.md`).
//! A runtime (unchecked) query appears only where the SQL is built at run time; each says why.

pub mod activity;
pub mod campaign;
pub mod changes;
pub mod claims;
pub mod commit_order;
pub mod epic;
pub mod events;
pub mod finding_texts;
pub mod findings;
pub mod github;
pub mod history;
pub mod impact;
pub mod jobs;
pub mod links;
pub mod locks;
pub mod packages;
pub mod people;
pub mod progress;
pub mod reach;
pub mod reports;
pub mod runs_at_via;
pub mod scans;
pub mod targets;
pub mod teams;
pub mod tokens;
pub mod triage;
pub mod upgrades;
pub mod users;
