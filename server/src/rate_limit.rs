//! Rate limits for the endpoints worth attacking — sign-in, tokens, scan uploads — per client:
//! a scan upload by its API token, anything else by the client's address (the peer's, or with
//! `--trust-forwarded-for` the first hop a reverse proxy names in `X-Forwarded-For`). One
//! noisy client fills its own bucket only. Buckets of clients that went quiet are dropped
//! every minute, so the limiter's memory follows the clients active in the last minute.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{extract::ConnectInfo, http::Request};
use sha2::{Digest, Sha256};
use tower_governor::{governor::GovernorConfigBuilder, key_extractor::KeyExtractor, GovernorError, GovernorLayer};

/// How many requests a client may make.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests at once after a quiet spell.
    pub burst: u32,
    /// Behind a reverse proxy: key clients by the address it reports, not its own.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_second: 10, burst: 30, trust_forwarded_for: false }
    }
}

/// Who is asking, for the limiter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// A scan upload's API token (a digest of it: the limiter keeps no secrets).
    Token([u8; 16]),
    Address(IpAddr),
    /// Neither is known (in-process calls, as in tests): one shared bucket.
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub struct ClientKey {
    trust_forwarded_for: bool,
}

impl KeyExtractor for ClientKey {
    type Key = Client;

    fn extract<T>(&self, request: &Request<T>) -> Result<Client, GovernorError> {
        let headers = request.headers();
        if request.uri().path().starts_with("/api/v1/scans") {
            if let Some(token) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                let digest = Sha256::digest(token.trim().as_bytes());
                return Ok(Client::Token(digest[..16].try_into().expect("16 of 32 bytes")));
            }
        }
        let address = client_address(headers, request.extensions(), self.trust_forwarded_for);
        Ok(address.map_or(Client::Unknown, Client::Address))
    }
}

/// The client's address: the peer's, or with `trust_forwarded_for` the first hop of
/// `X-Forwarded-For` when it names one. `None` for in-process calls (tests).
pub fn client_address(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|list| list.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// `routes` with `limit` applied per client (429 with `Retry-After` beyond it), and a task
/// that drops the buckets of quiet clients.
pub fn apply<S: Clone + Send + Sync + 'static>(routes: axum::Router<S>, limit: RateLimit) -> axum::Router<S> {
    let per_request = Duration::from_secs(1) / limit.per_second.max(1);
    let config = Arc::new(
        GovernorConfigBuilder::default()
            .period(per_request)
            .burst_size(limit.burst.max(1))
            .key_extractor(ClientKey { trust_forwarded_for: limit.trust_forwarded_for })
            .finish()
            .expect("a period and a burst above zero"),
    );
    let limiter = config.limiter().clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticks.tick().await;
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
    }
    routes.layer(GovernorLayer::new(config))
}
