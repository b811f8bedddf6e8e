//! Who may do what, enforced on the server: anyone reads; a signed-in user (contributor)
//! acts for themself; maintainers assign, triage, edit links, manage tokens and trigger
//! syncs. Handlers take a [`Viewer`] and ask it for the level they need.

use app::state::AppState;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use tower_sessions::Session;

use super::{current_user, User};

pub use app::error::AppError;

/// The user behind a request, if signed in.
pub struct Viewer(pub Option<User>);

impl Viewer {
    /// Any signed-in user; anonymous → 401.
    pub fn user(&self) -> Result<&User, AppError> {
        self.0.as_ref().ok_or_else(|| AppError::unauthorized("sign in first"))
    }

    /// A maintainer; anonymous → 401, contributor → 403.
    pub fn maintainer(&self) -> Result<&User, AppError> {
        let user = self.user()?;
        if user.is_maintainer() {
            Ok(user)
        } else {
            Err(AppError::forbidden("only maintainers may do this"))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let session = Session::from_request_parts(parts, &state).await.map_err(|(_, m)| AppError::internal(m))?;
        Ok(Viewer(current_user(&session, &state.pool).await?))
    }
}

/// A maintainer, as a handler argument: extracted before the body, so anonymous and
/// contributor requests are refused (401/403) before their body is read or parsed.
pub struct Maintainer(pub User);

impl<S: Send + Sync> FromRequestParts<S> for Maintainer
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        Ok(Maintainer(viewer.maintainer()?.clone()))
    }
}

/// `serve --private`: nothing is shown to anonymous visitors. Pages send them to sign in;
/// API calls answer 401. Sign-in itself, health checks, static assets, webhooks and token
/// uploads stay reachable (they carry their own credentials).
pub async fn require_sign_in_when_private(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::State(config): axum::extract::State<std::sync::Arc<super::AuthConfig>>,
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
        AppError::unauthorized("this Unthread is private: sign in first").into_response()
    } else {
        axum::response::Redirect::to("/auth/login").into_response()
    }
}
