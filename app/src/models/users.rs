//! People who signed in, and who the current request's user is.

use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};

/// Session key of the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: String,
    pub dev_only: bool,
}

impl User {
    pub fn is_maintainer(&self) -> bool {
        self.role == "maintainer"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("reading the session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("reading the user: {0}")]
    Database(#[from] sqlx::Error),
}

/// The signed-in user of `session`, if any (and if the account still exists).
pub async fn current_user(session: &tower_sessions::Session, pool: &PgPool) -> Result<Option<User>, LookupError> {
    let Some(id) = session.get::<i64>(SESSION_USER_ID).await? else { return Ok(None) };
    Ok(by_id(pool, id).await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(User, "SELECT id, login, name, avatar_url, role, dev_only FROM users WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Logins are case-insensitive on GitHub.
pub async fn by_login(db: impl PgExecutor<'_>, login: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        "SELECT id, login, name, avatar_url, role, dev_only FROM users WHERE lower(login) = lower($1)",
        login
    )
    .fetch_optional(db)
    .await
}

/// Up to `limit` users whose login starts with `prefix` (case-insensitive), for "Assign to…".
pub async fn search(db: impl PgExecutor<'_>, prefix: &str, limit: i64) -> sqlx::Result<Vec<String>> {
    let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
    sqlx::query_scalar!(
        r#"SELECT login FROM users WHERE lower(login) LIKE $1 ESCAPE '\' ORDER BY lower(login) LIMIT $2"#,
        pattern,
        limit
    )
    .fetch_all(db)
    .await
}

/// `text` as a LIKE pattern that matches itself only.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
