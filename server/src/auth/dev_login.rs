//! `serve --dev-login`: sign in as any login with any role, without GitHub — for the demo
//! and the end-to-end tests. Refused at start-up unless the server listens on loopback only
//! ([`super::check_dev_login_address`]); the account is marked `dev_only`.

use db::{kinds::Role, models::users};
use std::sync::Arc;

use app::state::AppState;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{session, AuthConfig};

#[derive(Deserialize)]
pub struct DevLogin {
    login: String,
    #[serde(default)]
    role: Option<String>,
}

pub async fn dev_login(
    State(state): State<AppState>,
    State(config): State<Arc<AuthConfig>>,
    session: Session,
    Form(form): Form<DevLogin>,
) -> Response {
    if !config.dev_login {
        return (StatusCode::NOT_FOUND, "the development login is off").into_response();
    }
    let role = match form.role.as_deref().map(str::parse::<Role>) {
        None => Role::Contributor,
        Some(Ok(role)) => role,
        Some(Err(e)) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let id = match users::sign_in_dev_user(&state.pool, form.login.trim(), role).await {
        Ok(Some(id)) => id,
        Ok(None) => return (StatusCode::CONFLICT, "that login belongs to a GitHub account").into_response(),
        Err(sqlx::Error::Database(e)) if e.is_check_violation() => {
            return (StatusCode::BAD_REQUEST, "not a valid GitHub login").into_response()
        }
        Err(e) => {
            tracing::error!("dev login: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot sign in").into_response();
        }
    };
    if let Err(e) = session::sign_in(&session, id).await {
        tracing::error!("dev login session: {e}");
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot sign in").into_response();
    }
    Redirect::to("/").into_response()
}
