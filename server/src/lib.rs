#![recursion_limit = "256"]
//! The `unthread` binary's library: everything the commands and the tests share.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connections;
pub mod demo;
pub mod edge;
pub mod errors;
pub mod github;
pub mod handlers;
pub mod ingest;
pub mod jobs;
pub mod listen;
pub mod live_hub;
pub mod metrics;
pub mod pypi;
pub mod rate_limit;
pub mod router;
pub mod state;
