//! Sessions: tower-sessions over the `sessions` table. The cookie (`HttpOnly`,
//! `SameSite=Lax`, `Secure` behind https) carries a random id only; a session expires after
//! a week without requests, its id changes at sign-in, and sign-out deletes it.

use sqlx::PgPool;
use tower_sessions::{cookie::time::Duration, cookie::SameSite, Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

pub const COOKIE: &str = "unthread_session";
/// Session key of the signed-in user's id.
pub const USER_ID: &str = app::server::SESSION_USER_ID;

pub fn layer(pool: PgPool, secure: bool) -> SessionManagerLayer<PostgresStore> {
    let store = PostgresStore::new(pool)
        .with_schema_name("public")
        .and_then(|s| s.with_table_name("sessions"))
        .expect("valid identifiers");
    SessionManagerLayer::new(store)
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(Duration::days(7)))
}

pub use app::server::current_user;
pub use db::models::users::User;

/// Makes `user_id` the session's user, under a fresh session id (no fixation).
pub async fn sign_in(session: &Session, user_id: i64) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    Ok(())
}

/// Deletes expired sessions every `interval` (they are refused on use anyway; this keeps the
/// table small). Every server process may run it: the DELETE is idempotent.
pub async fn sweep_expired(pool: PgPool, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match db::models::users::delete_expired_sessions(&pool).await {
            Ok(removed) if removed > 0 => tracing::debug!(removed, "expired sessions swept"),
            Ok(_) => {}
            Err(e) => tracing::warn!("sweeping expired sessions: {e}"),
        }
    }
}
