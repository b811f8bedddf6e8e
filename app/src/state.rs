//! What every request handler and server function can reach on the server.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// Which ways of signing in this server offers.
    pub sign_in: SignInOptions,
    /// Aggregates kept until the next announced change.
    pub cache: crate::cache::ReadCache,
    pub reports: ReportSettings,
    /// Queues rescans ("Rescan now"); `None` where no job queue is reachable.
    pub rescans: Option<std::sync::Arc<dyn crate::jobs::Rescans>>,
    /// A notice every page shows (the demo says what of it is simulated).
    pub notice: Option<String>,
    /// Why this server cannot open pull requests (the demo writes nothing to GitHub; a server
    /// without a token cannot); `None` when it can.
    pub pull_requests_unavailable: Option<String>,
}

/// How weekly reports are made here.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    /// Where this server is reached: links in reports point there.
    pub base_url: String,
    /// The default timezone of report weeks.
    pub timezone: chrono_tz::Tz,
    /// A claim with no activity for this many days is stale.
    pub stale_after_days: u32,
    /// Posts reports to GitHub, when a destination and a token are configured.
    pub publisher: Option<std::sync::Arc<dyn crate::report::publish::Publisher>>,
}

impl ReportSettings {
    /// The report a request or a command asks for: `week` (default: the last complete one)
    /// in `timezone` (default: this server's), with this server's links and stale-claim
    /// threshold. Blank values count as absent; a bad one is an error that says what is wrong.
    pub fn resolve(&self, week: Option<&str>, timezone: Option<&str>) -> Result<crate::report::Options, String> {
        use crate::report::{week::parse_timezone, IsoWeek};
        let given = |value: Option<&str>| value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let timezone = match given(timezone) {
            Some(name) => parse_timezone(&name)?,
            None => self.timezone,
        };
        let week = match given(week) {
            Some(text) => text.parse::<IsoWeek>().map_err(|e| e.to_string())?,
            None => IsoWeek::containing(chrono::Utc::now(), timezone).previous(),
        };
        Ok(crate::report::Options {
            week,
            timezone,
            stale_after_days: self.stale_after_days,
            base_url: self.base_url.clone(),
        })
    }
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:3000".into(),
            timezone: chrono_tz::UTC,
            stale_after_days: 14,
            publisher: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SignInOptions {
    /// A GitHub OAuth app is configured.
    pub github: bool,
    /// `serve --dev-login`.
    pub dev_login: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
