//! API tokens for CI uploads. The secret (`unt_` + 64 hex digits, 256 random bits) is shown
//! once at creation; only its SHA-256 is stored, so a leaked database leaks no token.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token needs a name of 1 to {MAX_NAME_CHARS} characters, without control characters")]
    NoName,
    #[error("a token needs 1 to {MAX_TARGETS} targets")]
    NoTargets,
    #[error("unknown target in the token's scope")]
    UnknownTarget,
    #[error("no randomness for the secret: {0}")]
    Randomness(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const PREFIX: &str = "unt_";
/// The longest token name (what /admin's form allows).
pub const MAX_NAME_CHARS: usize = 100;
/// The most targets one token may upload to.
pub const MAX_TARGETS: usize = 100;

// Named in the queries: with sqlx's `time` feature also on, timestamps default to `time`.
type Instant = chrono::DateTime<chrono::Utc>;

pub use crate::views::TokenInfo;

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token for `targets` (by name, all must exist); returns its id and secret.
pub async fn create(
    pool: &PgPool,
    name: &str,
    targets: &[String],
    created_by: i64,
) -> Result<(i64, String), TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(TokenError::NoName);
    }
    if targets.is_empty() || targets.len() > MAX_TARGETS {
        return Err(TokenError::NoTargets);
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| TokenError::Randomness(e.to_string()))?;
    let secret = format!("{PREFIX}{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut tx = pool.begin().await?;
    let target_ids =
        sqlx::query_scalar!("SELECT id FROM targets WHERE name = ANY($1)", targets).fetch_all(&mut *tx).await?;
    if target_ids.len() != targets.iter().collect::<std::collections::BTreeSet<_>>().len() {
        return Err(TokenError::UnknownTarget);
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO api_tokens (name, prefix, secret_hash, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
        name,
        &secret[..PREFIX.len() + 8],
        hash(&secret),
        created_by
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO api_token_targets (token_id, target_id) SELECT $1, unnest($2::bigint[])",
        id,
        &target_ids
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// The token behind `secret` when it is live, with the targets it may upload for; records
/// its use.
pub async fn authenticate(pool: &PgPool, secret: &str) -> sqlx::Result<Option<(i64, Vec<i64>)>> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"UPDATE api_tokens t SET last_used_at = now()
           WHERE secret_hash = $1 AND revoked_at IS NULL
           RETURNING id, ARRAY(SELECT target_id FROM api_token_targets WHERE token_id = t.id) AS "targets!""#,
        hash(secret)
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.id, r.targets)))
}

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<TokenInfo>> {
    sqlx::query_as!(
        TokenInfo,
        r#"SELECT t.id, t.name, t.prefix, u.login AS created_by, t.created_at AS "created_at: Instant",
                  t.last_used_at AS "last_used_at: Instant", t.revoked_at AS "revoked_at: Instant",
                  ARRAY(SELECT g.name FROM api_token_targets tt JOIN targets g ON g.id = tt.target_id
                        WHERE tt.token_id = t.id ORDER BY g.name) AS "targets!"
           FROM api_tokens t JOIN users u ON u.id = t.created_by
           ORDER BY t.id"#
    )
    .fetch_all(pool)
    .await
}

/// Revokes a live token; false when there is none with that id.
pub async fn revoke(pool: &PgPool, id: i64, by: i64) -> sqlx::Result<bool> {
    let revoked = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL",
        id,
        by
    )
    .execute(pool)
    .await?;
    Ok(revoked.rows_affected() == 1)
}
