//! Maintainers' verdict on a finding: still to do (`open`, `confirmed`) or out of the
//! count (`false_positive`, `wont_fix`, which need a reason). Each change is an event.

use sqlx::{Acquire, Postgres};

use crate::kinds::Triage;

use super::{
    events::{self, About, Event, TriageChange},
    users::User,
};

/// Longest reason kept; longer text is refused rather than cut.
pub const MAX_REASON_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("say why: a reason is required to mark a finding false positive or won't fix")]
    ReasonRequired,
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("the finding does not exist")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Sets `finding_id`'s triage; returns the previous state. The caller checks that
/// `maintainer` is one.
pub async fn set<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    maintainer: &User,
    finding_id: i64,
    state: Triage,
    reason: Option<&str>,
) -> Result<Triage, TriageError> {
    set_at(db, maintainer, finding_id, state, reason, chrono::Utc::now()).await
}

/// [`set`] at a given instant (a scripted or imported history), in its own transaction or
/// a savepoint of the caller's.
pub async fn set_at<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    maintainer: &User,
    finding_id: i64,
    state: Triage,
    reason: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Triage, TriageError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(TriageError::ReasonTooLong);
    }
    if state.needs_reason() && reason.is_none() {
        return Err(TriageError::ReasonRequired);
    }
    let mut tx = db.begin().await?;
    let previous = sqlx::query!(
        r#"SELECT target_id, triage AS "triage: Triage" FROM findings WHERE id = $1 FOR UPDATE"#,
        finding_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TriageError::NotFound)?;
    sqlx::query!(
        // The maintainer's word replaces a suppression comment's (`triaged_in_source`).
        "UPDATE findings SET triage = $2, triage_reason = $3, triaged_in_source = false WHERE id = $1",
        finding_id,
        state as Triage,
        reason
    )
    .execute(&mut *tx)
    .await?;
    let change = TriageChange {
        from: previous.triage.as_str().to_owned(),
        to: state.as_str().to_owned(),
        reason: reason.map(str::to_owned),
    };
    let about = About::by(&maintainer.login).target(previous.target_id).finding(finding_id).at(Some(at));
    events::record(&mut *tx, &Event::FindingTriaged(change), about).await?;
    tx.commit().await?;
    Ok(previous.triage)
}
