//! The campaign's target date (`campaign_target`, one row at most).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;

pub use crate::views::CampaignTarget as Target;

pub async fn target(db: impl PgExecutor<'_>) -> sqlx::Result<Option<Target>> {
    sqlx::query_as!(
        Target,
        r#"SELECT target_date AS "date: NaiveDate", label, set_by, set_at AS "set_at: DateTime<Utc>" FROM campaign_target"#
    )
    .fetch_optional(db)
    .await
}

/// Sets the target date (`None` clears it); `by` is who did (a login, or `--target-date`).
pub async fn set_target(
    db: impl PgExecutor<'_>,
    date: Option<NaiveDate>,
    label: Option<&str>,
    by: &str,
) -> sqlx::Result<()> {
    match date {
        Some(date) => {
            sqlx::query!(
                "INSERT INTO campaign_target (target_date, label, set_by) VALUES ($1, $2, $3)
                 ON CONFLICT (only_row) DO UPDATE SET target_date = $1, label = $2, set_by = $3, set_at = now()",
                date as _,
                label.map(str::trim).filter(|l| !l.is_empty()),
                by
            )
            .execute(db)
            .await?;
        }
        None => {
            sqlx::query!("DELETE FROM campaign_target").execute(db).await?;
        }
    }
    Ok(())
}
