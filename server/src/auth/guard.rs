//! Who may do what, enforced on the server: anyone reads; a signed-in user (contributor)
//! acts for themself; maintainers assign, triage, edit links, manage tokens and trigger
//! syncs. Handlers take a [`Viewer`] and ask it for the level they need.

use app::state::AppState;
use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use tower_sessions::Session;

use super::{current_user, User};

/// An API failure with its HTTP status, answered as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, message.into())
    }
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!("{error}");
        Self(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log".into())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// The user behind a request, if signed in.
pub struct Viewer(pub Option<User>);

impl Viewer {
    /// Any signed-in user; anonymous → 401.
    pub fn user(&self) -> Result<&User, ApiError> {
        self.0.as_ref().ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "sign in first".into()))
    }

    /// A maintainer; anonymous → 401, contributor → 403.
    pub fn maintainer(&self) -> Result<&User, ApiError> {
        let user = self.user()?;
        if user.is_maintainer() {
            Ok(user)
        } else {
            Err(ApiError(StatusCode::FORBIDDEN, "only maintainers may do this".into()))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|(_, m)| ApiError::internal(m))?;
        current_user(&session, &state.pool).await.map(Viewer).map_err(ApiError::internal)
    }
}

/// `serve --private`: nothing is shown to anonymous visitors. Pages send them to sign in;
/// API calls answer 401. Sign-in itself, health checks, static assets, webhooks and token
/// uploads stay reachable (they carry their own credentials).
pub async fn require_sign_in_when_private(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::Extension(config): axum::Extension<std::sync::Arc<super::AuthConfig>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let open = ["/auth/", "/healthz", "/pkg/", "/webhooks/", "/api/v1/scans"].iter().any(|p| path.starts_with(p));
    if !config.private || open {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let viewer = match Viewer::from_request_parts(&mut parts, &state).await {
        Ok(viewer) => viewer,
        Err(e) => return e.into_response(),
    };
    if viewer.0.is_some() {
        return next.run(axum::extract::Request::from_parts(parts, body)).await;
    }
    if parts.uri.path().starts_with("/api/") {
        ApiError(StatusCode::UNAUTHORIZED, "this Unthread is private: sign in first".into()).into_response()
    } else {
        axum::response::Redirect::to("/auth/login").into_response()
    }
}
