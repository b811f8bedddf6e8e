//! What the integration tests share: throw-away databases, the application as a router
//! with the options a test asks for, requests and their replies, the real GitHub payloads
//! of `../shared/fixtures/github`, seed data, and archives (tarballs of real commits, wheels).

pub mod archives;
pub mod database;
pub mod github;
pub mod http;
pub mod seed;

pub use database::{database_url, fresh_database};
pub use http::{send, TestApp};
pub use seed::{create_user, finding, scan_input, seed_finding, seed_fix, seed_scan, sign_in};
