//! People who signed in, and who the current request's user is.

use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

use crate::kinds::Role;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub dev_only: bool,
}

impl User {
    pub fn is_maintainer(&self) -> bool {
        self.role == Role::Maintainer
    }
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        r#"SELECT id, login, name, avatar_url, role AS "role: Role", dev_only FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Logins are case-insensitive on GitHub.
pub async fn by_login(db: impl PgExecutor<'_>, login: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        r#"SELECT id, login, name, avatar_url, role AS "role: Role", dev_only FROM users WHERE lower(login) = lower($1)"#,
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

/// Signs in `login` as a development user with `role` (`serve --dev-login`), creating the
/// account on first use. `None` when that login belongs to a GitHub account: it cannot be
/// taken over this way.
pub async fn sign_in_dev_user(db: impl PgExecutor<'_>, login: &str, role: Role) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO users (login, role, dev_only, last_login_at) VALUES ($1, $2, true, now())
         ON CONFLICT (login) DO UPDATE SET role = $2, last_login_at = now()
         WHERE users.dev_only
         RETURNING id",
        login,
        role as Role
    )
    .fetch_optional(db)
    .await
}

/// A simulated (development-only) user `login`, created unless it exists (the demo's people).
pub async fn add_dev_user(db: impl PgExecutor<'_>, login: &str, name: Option<&str>, role: Role) -> sqlx::Result<User> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (login, name, role, dev_only) VALUES ($1, $2, $3, true)
           ON CONFLICT (login) DO UPDATE SET name = coalesce(users.name, $2)
           RETURNING id, login, name, avatar_url, role AS "role: Role", dev_only"#,
        login,
        name,
        role as Role
    )
    .fetch_one(db)
    .await
}

/// Who GitHub says signed in, stored with the role their repository permission gives.
pub struct GitHubAccount<'a> {
    pub github_id: i64,
    pub login: &'a str,
    pub name: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
}

/// Records a sign-in with GitHub: the account is created or refreshed (a development user of
/// the same login becomes this GitHub account). Returns the user's id.
pub async fn record_github_sign_in(
    db: impl PgExecutor<'_>,
    account: &GitHubAccount<'_>,
    role: Role,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO users (github_id, login, name, avatar_url, role, last_login_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (login) DO UPDATE SET github_id = $1, name = $3, avatar_url = $4, role = $5,
                                           last_login_at = now(), dev_only = false
         RETURNING id",
        account.github_id,
        account.login,
        account.name,
        account.avatar_url,
        role as Role
    )
    .fetch_one(db)
    .await
}

/// Deletes the sessions that have expired (`sessions`, tower-sessions' table); how many.
pub async fn delete_expired_sessions(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    Ok(sqlx::query!("DELETE FROM sessions WHERE expiry_date < now()").execute(db).await?.rows_affected())
}
