//! What server functions share: the application state, who is asking, and errors that
//! carry an HTTP status (so plain-form and API callers see the right code too).

use leptos::prelude::*;

use db::models::users::User;

use crate::state::AppState;

pub fn state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>().ok_or_else(|| ServerFnError::new("application state missing"))
}

/// A query failed: see [`AppError::Database`](crate::error::AppError::Database).
pub fn database_error(err: impl std::borrow::Borrow<sqlx::Error>) -> ServerFnError {
    crate::error::AppError::Database(err.borrow().to_string()).into()
}

/// The signed-in user, if any.
pub async fn viewer() -> Result<Option<User>, ServerFnError> {
    let state = state()?;
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    Ok(current_user(&session, &state.pool).await.map_err(crate::error::AppError::from)?)
}

/// Any signed-in user; 401 otherwise.
pub async fn require_user() -> Result<User, ServerFnError> {
    viewer().await?.ok_or_else(|| crate::error::AppError::unauthorized("sign in first").into())
}

/// A maintainer; 401 for anonymous, 403 for contributors.
pub async fn require_maintainer() -> Result<User, ServerFnError> {
    let user = require_user().await?;
    if user.is_maintainer() {
        Ok(user)
    } else {
        Err(crate::error::AppError::forbidden("only maintainers may do this").into())
    }
}

/// An id from a form field. Server function arguments arrive as text in plain form posts;
/// parsing them here makes a bad value a 400 with a message, not a 500.
pub fn parse_id(text: &str) -> Result<i64, ServerFnError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| crate::error::AppError::bad_request(format!("{text:?} is not an id")).into())
}

/// `load`'s answer, kept under `key` until the next change (see [`crate::cache`]).
pub async fn cached<T, F>(key: String, load: F) -> Result<T, ServerFnError>
where
    T: Clone + Send + Sync + serde::Serialize + 'static,
    F: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    state()?.cache.get_or_load(key, load).await.map_err(database_error)
}

/// A change was written: drop what was computed before it (the NOTIFY that also announces
/// it may arrive a moment later).
pub fn changed() {
    if let Ok(state) = state() {
        state.cache.invalidate();
    }
}

/// Session key of the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("reading the session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("reading the user: {0}")]
    Database(#[from] sqlx::Error),
}

/// The signed-in user of `session`, if any (and if the account still exists).
pub async fn current_user(session: &tower_sessions::Session, pool: &sqlx::PgPool) -> Result<Option<User>, LookupError> {
    let Some(id) = session.get::<i64>(SESSION_USER_ID).await? else { return Ok(None) };
    Ok(db::models::users::by_id(pool, id).await?)
}

impl From<LookupError> for crate::error::AppError {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::Database(e) => e.into(),
            session => crate::error::AppError::internal(session),
        }
    }
}
