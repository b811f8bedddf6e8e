//! The one state every route of the server shares: the application's own (what server
//! functions read, [`AppState`]) and what only the server's handlers need — how people sign
//! in, GitHub, the webhook secret and the live-update hub.

use std::sync::Arc;

use app::state::AppState;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::{auth::AuthConfig, config::GitHubConfig, live_hub::LiveHub};

#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub auth: Arc<AuthConfig>,
    /// For syncs a maintainer requests (`POST /api/v1/sync`); `None` when not configured.
    pub github: Option<Arc<GitHubConfig>>,
    /// Webhook deliveries are accepted only when signed with this.
    pub webhook_secret: Option<Arc<[u8]>>,
    pub live: LiveHub,
    /// Live streams held open, per client and in all.
    pub live_streams: Arc<crate::connections::Slots>,
    /// Whether the client is who `X-Forwarded-For` names (as for the rate limits).
    pub trust_forwarded_for: bool,
    /// The job queue: rescans that webhooks and maintainers ask for.
    pub jobs: crate::jobs::queue::Jobs,
}

impl FromRef<ServerState> for AppState {
    fn from_ref(state: &ServerState) -> Self {
        state.app.clone()
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.app.leptos_options.clone()
    }
}

impl FromRef<ServerState> for Arc<AuthConfig> {
    fn from_ref(state: &ServerState) -> Self {
        state.auth.clone()
    }
}
