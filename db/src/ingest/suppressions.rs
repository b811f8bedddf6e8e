//! Suppression comments as triage: a finding the scan reports as suppressed in its source
//! (`# noqa: UT001`, `# unthread: ignore[UT001] -- reason`) is triaged won't fix with the
//! comment's reason, unless a maintainer already triaged it; one whose comment is gone is
//! open again. Each change is a `finding.triaged` event by the system, as a maintainer's is
//! by them.

use sqlx::{Postgres, Transaction};

use super::incoming::ScanInput;
use crate::{
    kinds::Triage,
    models::events::{self, About, Event, TriageChange},
};

/// Applies the scan's suppressions to the target's findings (after the scan's findings are
/// written, so every fingerprint is the current one).
pub(super) async fn apply(tx: &mut Transaction<'_, Postgres>, input: &ScanInput, scan_id: i64) -> sqlx::Result<()> {
    let (fingerprints, reasons): (Vec<String>, Vec<String>) = input
        .findings
        .iter()
        .filter_map(|f| Some((f.fingerprint.clone(), f.suppressed.clone()?)))
        .map(|(fingerprint, reason)| (fingerprint, clip(reason)))
        .unzip();
    // Set aside: suppressed now, and untriaged or set aside by an earlier comment (whose
    // reason may have changed). A maintainer's triage has cleared the flag.
    let set_aside = sqlx::query!(
        r#"WITH suppressed AS (
               SELECT DISTINCT ON (fingerprint) fingerprint, reason
               FROM UNNEST($2::text[], $3::text[]) AS s(fingerprint, reason)
           ), before AS (
               SELECT f.id, f.triage, s.reason
               FROM findings f JOIN suppressed s ON s.fingerprint = f.fingerprint
               WHERE f.target_id = $1
                 AND (f.triage = 'open' OR f.triaged_in_source)
                 AND NOT (f.triaged_in_source AND f.triage = 'wont_fix' AND f.triage_reason = s.reason)
               FOR UPDATE OF f
           )
           UPDATE findings f SET triage = 'wont_fix', triage_reason = before.reason, triaged_in_source = true
           FROM before WHERE f.id = before.id
           RETURNING f.id, before.triage AS "previous!: Triage", before.reason"#,
        input.target_id,
        &fingerprints,
        &reasons
    )
    .fetch_all(&mut **tx)
    .await?;
    // Open again: seen by this scan without the comment that set it aside.
    let reopened = sqlx::query!(
        r#"WITH before AS (
               SELECT id, triage FROM findings
               WHERE target_id = $1 AND triaged_in_source AND last_seen_scan = $2
                 AND fixed_in_scan IS NULL AND fingerprint <> ALL($3)
               FOR UPDATE
           )
           UPDATE findings f SET triage = 'open', triage_reason = NULL, triaged_in_source = false
           FROM before WHERE f.id = before.id
           RETURNING f.id, before.triage AS "previous!: Triage""#,
        input.target_id,
        scan_id,
        &fingerprints
    )
    .fetch_all(&mut **tx)
    .await?;

    let changes = set_aside
        .into_iter()
        .map(|row| (row.id, row.previous, Triage::WontFix, row.reason))
        .chain(reopened.into_iter().map(|row| (row.id, row.previous, Triage::Open, None)));
    for (finding_id, from, to, reason) in changes {
        let change = TriageChange { from: from.as_str().to_owned(), to: to.as_str().to_owned(), reason };
        let about = About::system().target(input.target_id).scan(scan_id).finding(finding_id).at(input.finished_at);
        events::record(&mut **tx, &Event::FindingTriaged(change), about).await?;
    }
    Ok(())
}

/// A reason as triage keeps it (at most [`crate::models::triage::MAX_REASON_CHARS`]): a
/// comment's justification is whatever its author wrote.
fn clip(reason: String) -> String {
    let limit = crate::models::triage::MAX_REASON_CHARS;
    match reason.char_indices().nth(limit) {
        Some((end, _)) => reason[..end].to_owned(),
        None => reason,
    }
}
