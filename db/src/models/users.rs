//! People who signed in, and who the current request's user is.

use serde::{Deserialize, Serialize};
use sqlx::{Acquire, PgConnection, PgExecutor, Postgres};

use super::events::{self, About, Event, RoleChanged};
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
/// account on first use (logins are case-insensitive: `ANA` signs in as `ana`). `None` when
/// that login belongs to a GitHub account: it cannot be taken over this way. A changed role
/// is an event.
pub async fn sign_in_dev_user<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    login: &str,
    role: Role,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let signed_in = sqlx::query!(
        r#"WITH before AS (SELECT role FROM users WHERE lower(login) = lower($1))
           INSERT INTO users (login, role, dev_only, last_login_at) VALUES ($1, $2, true, now())
           ON CONFLICT ((lower(login))) DO UPDATE SET role = $2, last_login_at = now()
           WHERE users.dev_only
           RETURNING id, login, (SELECT role FROM before) AS "previous: Role""#,
        login,
        role as Role
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = signed_in else { return Ok(None) };
    record_role_change(&mut tx, &user.login, user.previous, role, "dev_login").await?;
    tx.commit().await?;
    Ok(Some(user.id))
}

/// Logins of simulated people (development-only accounts: the demo's people, dev logins), in
/// order.
pub async fn simulated_logins(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT login FROM users WHERE dev_only ORDER BY lower(login)").fetch_all(db).await
}

/// A simulated (development-only) user `login`, created unless it exists (the demo's people).
pub async fn add_dev_user(db: impl PgExecutor<'_>, login: &str, name: Option<&str>, role: Role) -> sqlx::Result<User> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (login, name, role, dev_only) VALUES ($1, $2, $3, true)
           ON CONFLICT ((lower(login))) DO UPDATE SET name = coalesce(users.name, $2)
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

/// Records a sign-in with GitHub and returns the user's id. GitHub's user id is the stable
/// key: a renamed account (or one whose login changed case) keeps its history and takes the
/// new login. Otherwise the login decides, case-insensitively (a development user of that
/// login becomes this GitHub account). `None` when the login belongs to another account (a
/// GitHub one, or any other when this account was renamed to it). A changed role is an event.
pub async fn record_github_sign_in<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    account: &GitHubAccount<'_>,
    role: Role,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let signed_in = sqlx::query!(
        r#"WITH before AS (SELECT role FROM users WHERE github_id = $1)
           UPDATE users SET login = $2, name = $3, avatar_url = $4, role = $5, last_login_at = now(), dev_only = false
           WHERE github_id = $1
           RETURNING id, (SELECT role FROM before) AS "previous: Role""#,
        account.github_id,
        account.login,
        account.name,
        account.avatar_url,
        role as Role
    )
    .fetch_optional(&mut *tx)
    .await;
    let mut signed_in = match signed_in {
        Ok(row) => row.map(|r| (r.id, r.previous)),
        // The account's new login is another account's (case-insensitively): not taken over.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    };
    if signed_in.is_none() {
        signed_in = sqlx::query!(
            r#"WITH before AS (SELECT role FROM users WHERE lower(login) = lower($2))
               INSERT INTO users (github_id, login, name, avatar_url, role, last_login_at)
               VALUES ($1, $2, $3, $4, $5, now())
               ON CONFLICT ((lower(login))) DO UPDATE SET github_id = $1, login = $2, name = $3, avatar_url = $4,
                                                       role = $5, last_login_at = now(), dev_only = false
               WHERE users.github_id IS NULL
               RETURNING id, (SELECT role FROM before) AS "previous: Role""#,
            account.github_id,
            account.login,
            account.name,
            account.avatar_url,
            role as Role
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.id, r.previous));
    }
    let Some((id, previous)) = signed_in else { return Ok(None) };
    record_role_change(&mut tx, account.login, previous, role, "github").await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// An account that existed with another role now has `role`: record it.
async fn record_role_change(
    tx: &mut PgConnection,
    login: &str,
    previous: Option<Role>,
    role: Role,
    via: &str,
) -> sqlx::Result<()> {
    let Some(previous) = previous.filter(|previous| *previous != role) else { return Ok(()) };
    let change = RoleChanged { login: login.to_owned(), from: previous, to: role, via: via.to_owned() };
    events::record(&mut *tx, &Event::UserRoleChanged(change), About::by(login)).await?;
    Ok(())
}

/// Deletes the sessions that have expired (`sessions`, tower-sessions' table); how many.
pub async fn delete_expired_sessions(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    Ok(sqlx::query!("DELETE FROM sessions WHERE expiry_date < now()").execute(db).await?.rows_affected())
}
