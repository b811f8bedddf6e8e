//! The HTTP surface: Leptos pages and server functions, static assets, health.

use std::{sync::Arc, time::Duration};

use app::{shell, state::AppState, App};
use axum::http::HeaderValue;
use axum::{
    extract::DefaultBodyLimit,
    routing::{delete, get, post},
    Router,
};
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use sqlx::PgPool;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

use crate::{handlers, state::ServerState};

/// What the HTTP surface needs beyond the database and the site.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Webhook deliveries are accepted only with a secret.
    pub webhook_secret: Option<String>,
    pub auth: crate::auth::AuthConfig,
    /// GitHub, for syncs requested through the API.
    pub github: Option<crate::config::GitHubConfig>,
    /// Weekly reports: links, defaults, and where they are posted.
    pub reports: app::state::ReportSettings,
    /// Requests per client to sign-in, token and upload endpoints.
    pub rate_limit: crate::rate_limit::RateLimit,
    /// Shown at the top of every page: what of the data is simulated (the demo).
    pub notice: Option<String>,
    /// Live-update streams held open at once.
    pub live_streams: crate::config::StreamLimits,
    /// The demo: nothing is written to GitHub (no pull requests are opened).
    pub demo: bool,
}

/// Why pull requests cannot be opened from this server, if they cannot.
fn pull_requests_unavailable(settings: &Settings) -> Option<String> {
    const WRITE_ACCESS: &str =
        "a GitHub token (GITHUB_TOKEN) with Contents and Pull requests write access to the repository";
    if settings.demo {
        Some(format!("This demo writes nothing to GitHub: opening a pull request needs a server with {WRITE_ACCESS}."))
    } else if settings.github.as_ref().and_then(|g| g.token.as_ref()).is_none() {
        Some(format!("This server has no GitHub token: opening pull requests needs {WRITE_ACCESS}."))
    } else {
        None
    }
}

/// The pages' routes, generated once per process. Generating them runs the app once with
/// resource loading suppressed for the whole process (leptos_server's `SuppressResourceLoad`,
/// a global flag): a page whose resource is first polled meanwhile — a request served while
/// another router is built — waits forever, until the request timeout answers 503
/// (leptos#4773). The test suite builds routers while others serve, which is how it showed
/// (a request hung 300 s while the same request just after took 20 ms, same pool, same
/// router); generated once, before any router exists to serve, there is no such window.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application for `pool`, serving assets from the options' site root.
pub fn build(pool: PgPool, leptos_options: LeptosOptions, settings: Settings) -> Router {
    let sessions = crate::auth::session::layer(pool.clone(), settings.auth.secure_cookies());
    let sign_in = app::state::SignInOptions {
        github: settings.auth.client_id.is_some() && settings.auth.client_secret.is_some(),
        dev_login: settings.auth.dev_login,
    };
    let cache = app::cache::ReadCache::default();
    cache.read_finding_texts(&pool);
    crate::metrics::handle();
    let live = crate::live_hub::LiveHub::start(pool.clone(), cache.clone());
    let jobs = crate::jobs::queue::Jobs::new(pool.clone());
    let app = AppState {
        leptos_options: leptos_options.clone(),
        pool,
        sign_in,
        cache,
        reports: settings.reports.clone(),
        rescans: Some(Arc::new(jobs.clone())),
        notice: settings.notice.clone(),
        pull_requests_unavailable: pull_requests_unavailable(&settings),
    };
    let state = ServerState {
        app: app.clone(),
        auth: Arc::new(settings.auth),
        github: settings.github.map(Arc::new),
        webhook_secret: settings.webhook_secret.filter(|s| !s.is_empty()).map(|s| s.into_bytes().into()),
        live,
        live_streams: crate::connections::Slots::new(settings.live_streams.total, settings.live_streams.per_client),
        trust_forwarded_for: settings.rate_limit.trust_forwarded_for,
        jobs,
    };
    let pkg_dir = std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir);
    let assets = Router::new().fallback_service(ServeDir::new(pkg_dir).precompressed_gzip()).layer(
        SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("public, max-age=300"),
        ),
    );
    let routes = page_routes();
    let router = Router::<ServerState>::new()
        .route("/healthz", get(handlers::health::healthz))
        .route("/metrics", get(crate::metrics::render))
        .merge(crate::rate_limit::apply(
            Router::new()
                .route("/auth/login", get(crate::auth::oauth::login))
                .route("/auth/callback", get(crate::auth::oauth::callback))
                .route("/auth/logout", post(crate::auth::oauth::logout))
                .route("/auth/dev-login", post(crate::auth::dev_login::dev_login))
                .route("/api/v1/tokens", get(handlers::api::list_tokens).post(handlers::api::create_token))
                .route("/api/v1/tokens/{id}", delete(handlers::api::revoke_token))
                .route(
                    "/api/v1/scans",
                    post(handlers::api::upload_scan).layer(DefaultBodyLimit::max(handlers::api::MAX_UPLOAD_BYTES)),
                ),
            settings.rate_limit,
        ))
        .route(app::live::LIVE_PATH, get(handlers::live::stream))
        .route("/api/v1/baseline", get(handlers::api::baseline))
        .route("/api/v1/changes", get(handlers::changes::list).post(handlers::changes::create))
        .route("/api/v1/changes/{id}", get(handlers::changes::get))
        .route("/api/v1/links", post(handlers::api::add_link))
        .route("/api/v1/links/{id}", delete(handlers::api::remove_link))
        .route("/api/v1/openapi.json", get(handlers::openapi::document))
        .route("/api/v1/sync", post(handlers::api::trigger_sync))
        .route("/api/v1/targets/{id}/rescan", post(handlers::api::rescan_target))
        .route("/api/v1/jobs/{id}/retry", post(handlers::api::retry_job))
        .route("/api/v1/jobs/{id}/cancel", post(handlers::api::cancel_job))
        .route("/reports/weekly/{file}", get(handlers::reports::download))
        .route(
            "/webhooks/github",
            post(handlers::github_webhook::receive)
                .layer(DefaultBodyLimit::max(handlers::github_webhook::MAX_BODY_BYTES)),
        )
        .nest_service(&format!("/{}", leptos_options.site_pkg_dir), assets)
        // Pages and server functions read the application's state from their context.
        .leptos_routes_with_context(&state, routes, provide_app_state(app.clone()), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<ServerState, _>(provide_app_state(app), shell))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::guard::require_sign_in_when_private))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(state.auth.clone(), crate::auth::csrf::refuse_cross_site_writes))
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::middleware::from_fn(crate::errors::client_errors_of_server_functions))
        .layer(axum::middleware::from_fn(crate::edge::refuse_invalid_text))
        // Inside the request-id layers: error bodies quote the id.
        .layer(axum::middleware::from_fn(crate::errors::render_errors))
        // Pages and JSON gzipped for clients that accept it (/admin was 330 KB plain); the
        // live stream (`text/event-stream`) and the precompressed assets are left as they are.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true).no_br().no_deflate().no_zstd())
        // Every request gets an id (or keeps the proxy's): in the log line of each request,
        // in the answer's `x-request-id`, and in error messages users can report.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(RandomRequestId))
        .layer(axum::middleware::map_request(drop_unlikely_request_id))
        .with_state(state);
    with_security_headers(router)
}

/// Headers every answer carries (unless a handler chose its own): browsers must not guess
/// content types (a text error echoing a query value stays text), send only the origin to
/// other sites, and never show these pages inside another site's frame.
fn with_security_headers(router: Router) -> Router {
    use axum::http::header;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Pages set their own policy, with the nonce of their scripts (app's shell); anything
        // else (JSON, text, assets) may load nothing at all.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        ))
}

/// A proxy's request id is kept only when it looks like one (up to 64 letters, digits, `-`,
/// `_`, `.`): it is echoed in every answer and written in logs, so anything else a client
/// sends is replaced by an id of our own.
async fn drop_unlikely_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let looks_like_an_id = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 64
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if request.headers().get("x-request-id").is_some_and(|value| !looks_like_an_id(value)) {
        request.headers_mut().remove("x-request-id");
    }
    request
}

fn provide_app_state(app: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || provide_context(app.clone())
}

/// A random (UUID v4) id for each request that arrives without one.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl tower_http::request_id::MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<tower_http::request_id::RequestId> {
        uuid::Uuid::new_v4().to_string().parse().ok().map(tower_http::request_id::RequestId::new)
    }
}

fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id, method = %request.method(), path = request.uri().path())
}

/// Leptos options for a site built by `scripts/build-site.sh` into `site_root`.
pub fn leptos_options(site_root: &str, site_pkg_dir: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("unthread")
        .site_root(site_root)
        .site_pkg_dir(site_pkg_dir)
        .site_addr(addr)
        .build()
}
