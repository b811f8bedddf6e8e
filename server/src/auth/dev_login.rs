//! `serve --dev-login`: sign in as any login with any role, without GitHub — for the demo
//! and the end-to-end tests. Refused at start-up unless the server listens on loopback only
//! ([`super::check_dev_login_address`]); the account is marked `dev_only`.

use std::sync::Arc;

use app::state::AppState;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
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
    Extension(config): Extension<Arc<AuthConfig>>,
    session: Session,
    Form(form): Form<DevLogin>,
) -> Response {
    if !config.dev_login {
        return (StatusCode::NOT_FOUND, "the development login is off").into_response();
    }
    let role = match form.role.as_deref() {
        None | Some("contributor") => "contributor",
        Some("maintainer") => "maintainer",
        Some(other) => return (StatusCode::BAD_REQUEST, format!("unknown role `{other}`")).into_response(),
    };
    let id: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO users (login, role, dev_only, last_login_at) VALUES ($1, $2, true, now())
         ON CONFLICT (login) DO UPDATE SET role = $2, last_login_at = now()
         WHERE users.dev_only
         RETURNING id",
    )
    .bind(form.login.trim())
    .bind(role)
    .fetch_one(&state.pool)
    .await;
    let id = match id {
        Ok(id) => id,
        Err(sqlx::Error::RowNotFound) => {
            return (StatusCode::CONFLICT, "that login belongs to a GitHub account").into_response()
        }
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
