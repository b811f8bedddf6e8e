//! API tokens for CI uploads. The secret (`unt_` + 64 hex digits, 256 random bits) is shown
//! once at creation; only its SHA-256 is stored, so a leaked database leaks no token.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

const PREFIX: &str = "unt_";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub targets: Vec<String>,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token for `targets` (by name, all must exist); returns its id and secret.
pub async fn create(pool: &PgPool, name: &str, targets: &[String], created_by: i64) -> Result<(i64, String), String> {
    if name.trim().is_empty() {
        return Err("a token needs a name".into());
    }
    if targets.is_empty() {
        return Err("a token needs at least one target".into());
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
    let secret = format!("{PREFIX}{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let target_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM targets WHERE name = ANY($1)")
        .bind(targets)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    if target_ids.len() != targets.iter().collect::<std::collections::BTreeSet<_>>().len() {
        return Err("unknown target in the token's scope".into());
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (name, prefix, secret_hash, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name.trim())
    .bind(&secret[..PREFIX.len() + 8])
    .bind(hash(&secret))
    .bind(created_by)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    sqlx::query("INSERT INTO api_token_targets (token_id, target_id) SELECT $1, unnest($2::bigint[])")
        .bind(id)
        .bind(&target_ids)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok((id, secret))
}

/// The token behind `secret` when it is live, with the targets it may upload for; records
/// its use.
pub async fn authenticate(pool: &PgPool, secret: &str) -> sqlx::Result<Option<(i64, Vec<i64>)>> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let row: Option<(i64, Vec<i64>)> = sqlx::query_as(
        "UPDATE api_tokens t SET last_used_at = now()
         WHERE secret_hash = $1 AND revoked_at IS NULL
         RETURNING id, ARRAY(SELECT target_id FROM api_token_targets WHERE token_id = t.id)",
    )
    .bind(hash(secret))
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<TokenInfo>> {
    sqlx::query_as(
        "SELECT t.id, t.name, t.prefix, u.login AS created_by, t.created_at, t.last_used_at, t.revoked_at,
                ARRAY(SELECT g.name FROM api_token_targets tt JOIN targets g ON g.id = tt.target_id
                      WHERE tt.token_id = t.id ORDER BY g.name) AS targets
         FROM api_tokens t JOIN users u ON u.id = t.created_by
         ORDER BY t.id",
    )
    .fetch_all(pool)
    .await
}

/// Revokes a live token; false when there is none with that id.
pub async fn revoke(pool: &PgPool, id: i64, by: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query("UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(by)
        .execute(pool)
        .await?
        .rows_affected()
        == 1)
}
