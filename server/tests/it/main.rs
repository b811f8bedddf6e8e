//! The server's integration tests, as one test binary: each module was once a binary of
//! its own, linking the server, the app and the scanner again (minutes on two cores).
//! They share one throw-away PostgreSQL cluster, a fresh database per test.

// Tests read rows as tuples to compare them whole with what they expect.
#![allow(clippy::type_complexity)]

mod support;

mod api_index_feed;
mod app_database;
mod arbitrary_input;
mod auth;
mod authorization;
mod bad_input;
mod changes;
mod cli_dev_login;
mod concurrent_routers;
mod connections;
mod dashboard;
mod dependency_scan;
mod embedded_cluster;
mod epic_replay;
mod faults;
mod finding_context;
mod github_links;
mod github_sync;
mod github_webhook;
mod lint_action;
mod logins;
mod observability;
mod openapi;
mod progress;
mod queue_faults;
mod reachability;
mod requirements_fixture;
mod requirements_import;
mod rescans;
mod runs_at;
mod sarif_import;
mod scan_ingest;
mod scan_scope;
mod security;
mod truthful_numbers;
mod upgrades;
mod weekly_report;
