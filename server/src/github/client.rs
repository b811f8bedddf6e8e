//! GET requests to the GitHub REST API through octocrab, made cheap and robust:
//!
//! - conditional: the ETag of each URL's last 200 is kept in `gh_http_cache`; the next
//!   request sends `If-None-Match`, and a 304 (free of rate limit) reuses the stored body;
//! - paginated: `Link: <...>; rel="next"` is followed to the end;
//! - rate limits: a 403/429 with `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`,
//!   one with `retry-after` waits that long, then the request is made again;
//! - 5xx and transport errors are retried with exponential backoff.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use http::{header, HeaderMap, HeaderValue, StatusCode};
use octocrab::Octocrab;
use sqlx::PgPool;

const ACCEPT: &str = "application/vnd.github+json";
const API_VERSION: &str = "2022-11-28";

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GET {url}: not found")]
    NotFound { url: String },
    #[error("GET {url}: HTTP {status}: {message}")]
    Status { url: String, status: StatusCode, message: String },
    #[error("GET {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("GET {url}: still failing after {attempts} attempts: {last}")]
    GaveUp { url: String, attempts: u32, last: String },
    #[error("GET {url}: unexpected response body: {detail}")]
    Body { url: String, detail: String },
    #[error("GET {url}: more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error(transparent)]
    BadReference(#[from] super::refs::BadReference),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl GitHubError {
    /// Whether asking again later may succeed (rate limits, GitHub's 5xx, the network), as
    /// opposed to an answer that will not change (gone, private, too large).
    pub fn is_transient(&self) -> bool {
        matches!(self, GitHubError::Transport { .. } | GitHubError::GaveUp { .. } | GitHubError::Database(_))
    }
}

/// The fields of GitHub's repository resource Unthread reads.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct RepositoryMeta {
    pub full_name: String,
    pub private: bool,
    pub default_branch: String,
}

/// A page of a response: its body and the next page's URL.
#[derive(Clone, Debug)]
pub struct Page {
    pub url: String,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub next: Option<String>,
    /// Answered 304: the body is the stored one.
    pub not_modified: bool,
}

/// What a client did, for the sync report.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU32,
    pub not_modified: AtomicU32,
    pub rate_limited: AtomicU32,
    pub retries: AtomicU32,
}

pub struct GitHub {
    pub(super) octocrab: Octocrab,
    api_url: String,
    pool: PgPool,
    pub counters: Counters,
    max_attempts: u32,
    /// First backoff after a 5xx or transport error (doubles each time).
    backoff: Duration,
    /// Longest wait for a rate-limit reset before giving up on this run.
    max_rate_limit_wait: Duration,
}

impl GitHub {
    /// A client for the API at `api_url` (`https://api.github.com`), authenticated with
    /// `token` when given (public data needs none, but gets 60 requests an hour).
    pub fn new(pool: PgPool, api_url: &str, token: Option<String>) -> Result<Self, octocrab::Error> {
        Self::with_read_timeout(pool, api_url, token, Duration::from_secs(60))
    }

    /// Like [`GitHub::new`], giving up on a response that has not come after `read_timeout`
    /// (then retried like a 5xx).
    pub fn with_read_timeout(
        pool: PgPool,
        api_url: &str,
        token: Option<String>,
        read_timeout: Duration,
    ) -> Result<Self, octocrab::Error> {
        let mut builder = Octocrab::builder()
            .base_uri(api_url)?
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(read_timeout));
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            builder = builder.personal_token(token);
        }
        Ok(Self {
            octocrab: builder.build()?,
            api_url: api_url.trim_end_matches('/').to_owned(),
            pool,
            counters: Counters::default(),
            max_attempts: 5,
            backoff: Duration::from_millis(500),
            max_rate_limit_wait: Duration::from_secs(3600),
        })
    }

    /// How many times one request is tried before its error is returned (default 5).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Shorter waits, for tests.
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// `path` (`/repos/...`) as an absolute URL of this API.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// GETs one page, conditionally. Call [`GitHub::remember`] once its data is stored.
    pub async fn get(&self, url: &str) -> Result<Page, GitHubError> {
        let cached = db::models::github::cached_page(&self.pool, url).await?;
        let mut attempt = 0;
        let mut delay = self.backoff;
        loop {
            attempt += 1;
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
            headers.insert("x-github-api-version", HeaderValue::from_static(API_VERSION));
            if let Some(etag) = cached.as_ref().and_then(|page| HeaderValue::from_str(&page.etag).ok()) {
                headers.insert(header::IF_NONE_MATCH, etag);
            }
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.octocrab._get_with_headers(url, Some(headers)).await {
                Err(error) => error.to_string(),
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    if status == StatusCode::NOT_MODIFIED {
                        if let Some(page) = cached {
                            self.counters.not_modified.fetch_add(1, Ordering::Relaxed);
                            return Ok(Page {
                                url: url.to_owned(),
                                body: page.body,
                                etag: Some(page.etag),
                                next: page.link_next,
                                not_modified: true,
                            });
                        }
                    }
                    let body = self
                        .octocrab
                        .body_to_string(response)
                        .await
                        .map_err(|e| GitHubError::Transport { url: url.to_owned(), detail: e.to_string() })?;
                    if status.is_success() {
                        return Ok(Page {
                            url: url.to_owned(),
                            body: body.into_bytes(),
                            etag: header_str(&headers, header::ETAG.as_str()).map(str::to_owned),
                            next: next_link(&headers),
                            not_modified: false,
                        });
                    }
                    match self.unsuccessful(url, attempt, status, &headers, &body).await? {
                        None => continue,
                        Some(failure) => failure,
                    }
                }
            };
            self.back_off(url, attempt, &failure, &mut delay).await?;
        }
    }

    /// After an answer that is not a success: waits out a rate limit (`None`: ask again now),
    /// returns the error of an answer that will not change, or says why to retry (a 5xx).
    async fn unsuccessful(
        &self,
        url: &str,
        attempt: u32,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Result<Option<String>, GitHubError> {
        if let Some(wait) = rate_limit_wait(status, headers, body) {
            if wait > self.max_rate_limit_wait || attempt >= self.max_attempts {
                return Err(GitHubError::GaveUp {
                    url: url.to_owned(),
                    attempts: attempt,
                    last: format!("rate limited for {wait:?}"),
                });
            }
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("GitHub rate limit reached: waiting {wait:?} before GET {url}");
            tokio::time::sleep(wait).await;
            return Ok(None);
        }
        if status == StatusCode::NOT_FOUND {
            return Err(GitHubError::NotFound { url: url.to_owned() });
        }
        if !status.is_server_error() {
            let message = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_default();
            return Err(GitHubError::Status { url: url.to_owned(), status, message });
        }
        Ok(Some(format!("HTTP {status}")))
    }

    /// Waits before the next attempt after `failure` (doubling `delay`), or gives up after
    /// the last one.
    async fn back_off(&self, url: &str, attempt: u32, failure: &str, delay: &mut Duration) -> Result<(), GitHubError> {
        if attempt >= self.max_attempts {
            return Err(GitHubError::GaveUp { url: url.to_owned(), attempts: attempt, last: failure.to_owned() });
        }
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("GET {url}: {failure}; retrying in {delay:?}");
        tokio::time::sleep(*delay).await;
        *delay = (*delay * 2).min(Duration::from_secs(60));
        Ok(())
    }

    /// Downloads `url` (an archive, a raw file), following redirects (GitHub answers a
    /// tarball request with a 302 to its download host), refusing bodies over `limit` bytes —
    /// by their announced length before reading, else as they stream in. Rate limits, 5xx and
    /// transport errors are handled as for [`GitHub::get`].
    pub async fn download(&self, url: &str, accept: &'static str, limit: u64) -> Result<Vec<u8>, GitHubError> {
        use http_body_util::BodyExt;
        let mut attempt = 0;
        let mut delay = self.backoff;
        let mut location = url.to_owned();
        let mut redirects = 0;
        loop {
            attempt += 1;
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
            headers.insert("x-github-api-version", HeaderValue::from_static(API_VERSION));
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.octocrab._get_with_headers(location.as_str(), Some(headers)).await {
                Err(error) => error.to_string(),
                Ok(response) => {
                    let status = response.status();
                    if status.is_redirection() {
                        let next = header_str(response.headers(), header::LOCATION.as_str()).map(str::to_owned);
                        match next {
                            Some(next) if redirects < 5 => {
                                redirects += 1;
                                location = next;
                                attempt -= 1;
                                continue;
                            }
                            _ => {
                                return Err(GitHubError::Status {
                                    url: url.to_owned(),
                                    status,
                                    message: "a redirect without a usable Location".into(),
                                })
                            }
                        }
                    }
                    if status.is_success() {
                        let announced = header_str(response.headers(), header::CONTENT_LENGTH.as_str())
                            .and_then(|v| v.parse::<u64>().ok());
                        if announced.is_some_and(|n| n > limit) {
                            return Err(GitHubError::TooLarge { url: url.to_owned(), limit });
                        }
                        let mut body = response.into_body();
                        let mut bytes = Vec::with_capacity(announced.unwrap_or(0).min(limit) as usize);
                        let mut broken = None;
                        while let Some(frame) = body.frame().await {
                            match frame {
                                Ok(frame) => {
                                    if let Some(data) = frame.data_ref() {
                                        if bytes.len() as u64 + data.len() as u64 > limit {
                                            return Err(GitHubError::TooLarge { url: url.to_owned(), limit });
                                        }
                                        bytes.extend_from_slice(data);
                                    }
                                }
                                Err(e) => {
                                    broken = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                        match broken {
                            None => return Ok(bytes),
                            Some(detail) => detail,
                        }
                    } else {
                        let headers = response.headers().clone();
                        let body = self.octocrab.body_to_string(response).await.unwrap_or_default();
                        match self.unsuccessful(url, attempt, status, &headers, &body).await? {
                            None => continue,
                            Some(failure) => failure,
                        }
                    }
                }
            };
            self.back_off(url, attempt, &failure, &mut delay).await?;
        }
    }

    /// What GitHub says of a repository: its default branch, whether it is private.
    pub async fn repository(&self, repository: &str) -> Result<RepositoryMeta, GitHubError> {
        let url = self.url(&format!("/repos/{}", super::refs::check_repository(repository)?));
        let (meta, page) = self.get_json(&url).await?;
        self.remember(&page).await?;
        Ok(meta)
    }

    /// A repository's archive at `git_ref` (a commit sha or a branch), gzipped tar.
    pub async fn tarball(&self, repository: &str, git_ref: &str, limit: u64) -> Result<Vec<u8>, GitHubError> {
        let url = self.url(&format!(
            "/repos/{}/tarball/{}",
            super::refs::check_repository(repository)?,
            super::refs::encode(git_ref)?
        ));
        self.download(&url, "application/vnd.github+json", limit).await
    }

    /// One file of a repository at `git_ref`, raw.
    pub async fn raw_file(
        &self,
        repository: &str,
        path: &str,
        git_ref: &str,
        limit: u64,
    ) -> Result<Vec<u8>, GitHubError> {
        let url = self.url(&format!(
            "/repos/{}/contents/{}?ref={}",
            super::refs::check_repository(repository)?,
            super::refs::encode_path(path)?,
            super::refs::encode(git_ref)?
        ));
        self.download(&url, "application/vnd.github.raw+json", limit).await
    }

    /// Keeps `page`'s ETag and body for the next conditional request of its URL.
    pub async fn remember(&self, page: &Page) -> Result<(), GitHubError> {
        let Some(etag) = &page.etag else { return Ok(()) };
        if page.not_modified {
            return Ok(());
        }
        db::models::github::remember_page(&self.pool, &page.url, etag, page.next.as_deref(), &page.body).await?;
        Ok(())
    }

    /// GETs and parses one JSON resource; the caller [`GitHub::remember`]s the page once it
    /// has stored what the resource said.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<(T, Page), GitHubError> {
        let page = self.get(url).await?;
        let value = serde_json::from_slice(&page.body)
            .map_err(|e| GitHubError::Body { url: url.to_owned(), detail: e.to_string() })?;
        Ok((value, page))
    }

    /// Every item of a paginated list, following `Link: rel="next"`. Returns the pages too,
    /// to be remembered once their items are stored.
    pub async fn get_all<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<(Vec<T>, Vec<Page>), GitHubError> {
        let mut items = Vec::new();
        let mut pages = Vec::new();
        let mut next = Some(url.to_owned());
        while let Some(url) = next {
            if pages.len() >= 1000 {
                break; // 100,000 items: a runaway `next` chain, not a real list
            }
            let page = self.get(&url).await?;
            let mut batch: Vec<T> = serde_json::from_slice(&page.body)
                .map_err(|e| GitHubError::Body { url: url.clone(), detail: e.to_string() })?;
            items.append(&mut batch);
            next = page.next.clone();
            pages.push(page);
        }
        Ok((items, pages))
    }
}

/// A ref in a URL: branch names may hold `/`, which GitHub takes as is; anything else that
/// is not URL-safe is escaped.
fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = header_str(headers, header::LINK.as_str())?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// How long to wait before asking again, when `status` is a primary or secondary rate limit.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap, body: &str) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let number = |name: &str| header_str(headers, name).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(seconds) = number("retry-after") {
        return Some(Duration::from_secs(seconds.max(0) as u64));
    }
    if number("x-ratelimit-remaining") == Some(0) {
        let reset = number("x-ratelimit-reset").unwrap_or(0);
        let now = chrono::Utc::now();
        // Reset is whole seconds: wait until the end of that second.
        let wait_ms = (reset * 1000 - now.timestamp_millis()).max(0) as u64 + 250;
        return Some(Duration::from_millis(wait_ms));
    }
    // A secondary limit without headers: at least a minute, says GitHub.
    let secondary = body.to_ascii_lowercase().contains("secondary rate limit");
    (secondary || status == StatusCode::TOO_MANY_REQUESTS).then_some(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn link_headers() {
        let recorded = "<https://api.github.com/repositories/515435940/issues?per_page=3&page=2>; rel=\"next\", <https://api.github.com/repositories/515435940/issues?per_page=3&page=5>; rel=\"last\"";
        assert_eq!(
            next_link(&headers(&[("link", recorded)])).as_deref(),
            Some("https://api.github.com/repositories/515435940/issues?per_page=3&page=2")
        );
        let last_page = "<https://api.github.com/resource?page=4>; rel=\"prev\", <https://api.github.com/resource?page=1>; rel=\"first\"";
        assert_eq!(next_link(&headers(&[("link", last_page)])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limit_waits() {
        let limited = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1377013266")]);
        // A reset in the past: go again at once (plus the margin).
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &limited, ""), Some(Duration::from_millis(250)));
        let retry_after = headers(&[("retry-after", "7")]);
        assert_eq!(rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &retry_after, ""), Some(Duration::from_secs(7)));
        let forbidden = headers(&[("x-ratelimit-remaining", "4999")]);
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &forbidden, "{\"message\":\"Resource not accessible\"}"),
            None
        );
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &forbidden, "You have exceeded a secondary rate limit"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(rate_limit_wait(StatusCode::INTERNAL_SERVER_ERROR, &limited, ""), None);
    }
}
