//! Findings a scan no longer reports in a file it read unchanged (the same content hash as
//! when they were last seen): the scanner's rules changed — a precision fix dropped them —
//! not the code. Marking them fixed would credit the migration with work nobody did, so
//! they are triaged a false positive instead, by the system, with the reason, as a
//! maintainer would after reading them (a triage stays visible and can be undone). Only
//! untriaged findings; each change is a `finding.triaged` event.

use sqlx::{Postgres, Transaction};

use super::incoming::ScanInput;
use crate::{
    kinds::Triage,
    models::events::{self, About, Event, TriageChange},
};

/// Why such a finding is set aside.
pub const REASON: &str = "no longer reported by the scanner in unchanged code: its rules changed";

/// Triages `retired` (the plan's) false positives.
pub(super) async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    input: &ScanInput,
    scan_id: i64,
    retired: &[i64],
) -> sqlx::Result<()> {
    if retired.is_empty() {
        return Ok(());
    }
    let set_aside = sqlx::query_scalar!(
        r#"UPDATE findings SET triage = 'false_positive', triage_reason = $2, triaged_in_source = false
           WHERE id = ANY($1) AND triage = 'open'
           RETURNING id"#,
        retired,
        REASON
    )
    .fetch_all(&mut **tx)
    .await?;
    for finding_id in set_aside {
        let change = TriageChange {
            from: Triage::Open.as_str().to_owned(),
            to: Triage::FalsePositive.as_str().to_owned(),
            reason: Some(REASON.to_owned()),
        };
        let about = About::system().target(input.target_id).scan(scan_id).finding(finding_id).at(input.finished_at);
        events::record(&mut **tx, &Event::FindingTriaged(change), about).await?;
    }
    Ok(())
}
