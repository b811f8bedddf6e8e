//! Upgrade advice (`release_scans`, `release_checks`): scans of a dependency's newer
//! releases, compared with the pinned version's open findings by fingerprint — "bump to X.Y
//! clears N of M", "still in latest X.Y", or "no newer release".

use sqlx::{PgExecutor, PgPool};

use super::events::{self, About, Event, UpgradesChecked};
use crate::views::{BumpItem, UpgradeAdvice, UpgradeOption, UpstreamFinding};

/// A scanned release, to record (and in the demo's snapshot).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseScan {
    #[serde(skip)]
    pub target_id: i64,
    pub version: String,
    pub newest: bool,
    pub newest_in_major: bool,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
    pub upstream: Option<String>,
    pub fingerprints: Vec<String>,
    pub content_fingerprints: Vec<String>,
    /// [`loose_key`] of each finding.
    #[serde(default)]
    pub loose_keys: Vec<String>,
}

/// A finding's identity across releases that move files: rule, file name and trimmed line
/// (the SQL function `release_finding_key` computes the same for stored findings).
pub fn loose_key(rule: &str, path: &str, line: &str) -> String {
    format!("{rule}:{}:{}", path.rsplit('/').next().unwrap_or(path), line.trim_matches([' ', '\t']))
}

/// The versions of `target_id` already scanned as releases (a published release does not
/// change: it is not scanned again).
pub async fn scanned_versions(db: impl PgExecutor<'_>, target_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT version FROM release_scans WHERE target_id = $1 ORDER BY version", target_id)
        .fetch_all(db)
        .await
}

/// Records that the target's releases were checked — `pinned` the scanned version, `newest`
/// the index's newest release — (an `upgrades.checked` event when that changed the advice)
/// with the release scans made now (`scans`, replacing earlier
/// ones of their versions) and those of `kept` versions left as they are (with their roles
/// updated). Release scans of other versions go: the advice is about now.
pub async fn record_check(
    conn: &mut sqlx::PgConnection,
    target_id: i64,
    pinned: Option<&str>,
    newest: Option<&str>,
    scans: &[ReleaseScan],
    kept: &[(String, bool, bool)],
) -> sqlx::Result<()> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let before = sqlx::query_scalar!("SELECT newest FROM release_checks WHERE target_id = $1", target_id)
        .fetch_optional(&mut *tx)
        .await?;
    // Nothing new on the index and nothing scanned: the advice is as it was.
    let changed = !scans.is_empty() || before.as_ref().is_none_or(|b| b.as_deref() != newest);
    let versions: Vec<String> =
        scans.iter().map(|s| s.version.clone()).chain(kept.iter().map(|(v, _, _)| v.clone())).collect();
    sqlx::query!("DELETE FROM release_scans WHERE target_id = $1 AND NOT version = ANY($2)", target_id, &versions)
        .execute(&mut *tx)
        .await?;
    for s in scans {
        sqlx::query!(
            r#"INSERT INTO release_scans (target_id, version, newest, newest_in_major, requires_python, requires_dist,
                                         upstream, fingerprints, content_fingerprints, loose_keys)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (target_id, version) DO UPDATE SET
                   newest = EXCLUDED.newest, newest_in_major = EXCLUDED.newest_in_major, scanned_at = now(),
                   requires_python = EXCLUDED.requires_python, requires_dist = EXCLUDED.requires_dist,
                   upstream = EXCLUDED.upstream, fingerprints = EXCLUDED.fingerprints,
                   content_fingerprints = EXCLUDED.content_fingerprints, loose_keys = EXCLUDED.loose_keys"#,
            s.target_id,
            s.version,
            s.newest,
            s.newest_in_major,
            s.requires_python,
            &s.requires_dist,
            s.upstream,
            &s.fingerprints,
            &s.content_fingerprints,
            &s.loose_keys
        )
        .execute(&mut *tx)
        .await?;
    }
    for (version, newest, newest_in_major) in kept {
        sqlx::query!(
            "UPDATE release_scans SET newest = $3, newest_in_major = $4 WHERE target_id = $1 AND version = $2",
            target_id,
            version,
            newest,
            newest_in_major
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        r#"INSERT INTO release_checks (target_id, pinned, newest) VALUES ($1, $2, $3)
           ON CONFLICT (target_id) DO UPDATE SET checked_at = now(), pinned = EXCLUDED.pinned, newest = EXCLUDED.newest"#,
        target_id,
        pinned,
        newest
    )
    .execute(&mut *tx)
    .await?;
    let event = Event::UpgradesChecked(UpgradesChecked {
        pinned: pinned.map(str::to_owned),
        newest: newest.map(str::to_owned),
        scanned: scans.iter().map(|s| s.version.clone()).collect(),
    });
    if changed {
        events::record(&mut *tx, &event, About::system().target(target_id)).await?;
    }
    tx.commit().await
}

/// The upstream repository of dependency `target_id` (`https://github.com/owner/repo`), as
/// its releases' metadata name it, if any does.
pub async fn upstream_of(db: impl sqlx::PgExecutor<'_>, target_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT upstream FROM release_scans WHERE target_id = $1 AND upstream IS NOT NULL ORDER BY newest DESC, id LIMIT 1",
        target_id
    )
    .fetch_optional(db)
    .await
    .map(Option::flatten)
}

/// The advice for dependency `target_id`, once its releases were checked.
pub async fn advice(pool: &PgPool, target_id: i64) -> sqlx::Result<Option<UpgradeAdvice>> {
    let Some(check) = sqlx::query!(
        r#"SELECT checked_at AS "checked_at: chrono::DateTime<chrono::Utc>", pinned, newest FROM release_checks WHERE target_id = $1"#,
        target_id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let open = open_count(pool, target_id).await?;
    let options = sqlx::query!(
        r#"SELECT rs.version, rs.newest, rs.newest_in_major, rs.requires_python, rs.requires_dist, rs.upstream,
                  (SELECT count(*) FROM findings f
                   WHERE f.target_id = rs.target_id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                     AND NOT release_has(rs, f)
                  ) AS "clears!"
           FROM release_scans rs WHERE rs.target_id = $1
           ORDER BY rs.newest, rs.id"#,
        target_id
    )
    .fetch_all(pool)
    .await?;
    let upstream = options.iter().find_map(|o| o.upstream.clone());
    let still = sqlx::query!(
        r#"SELECT f.id, f.rule, f.path, f.start_line, f.message
           FROM findings f JOIN release_scans rs ON rs.target_id = f.target_id AND rs.newest
           WHERE f.target_id = $1 AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND release_has(rs, f)
           ORDER BY f.path, f.start_line, f.id"#,
        target_id
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(UpgradeAdvice {
        pinned: check.pinned,
        newest: check.newest,
        checked_at: check.checked_at,
        open,
        options: options
            .into_iter()
            .map(|o| UpgradeOption {
                version: o.version,
                newest: o.newest,
                newest_in_major: o.newest_in_major,
                clears: o.clears,
                requires_python: o.requires_python,
                requires_dist: o.requires_dist,
            })
            .collect(),
        upstream,
        still_in_newest: still
            .into_iter()
            .map(|r| UpstreamFinding { id: r.id, rule: r.rule, path: r.path, line: r.start_line, message: r.message })
            .collect(),
    }))
}

async fn open_count(db: impl PgExecutor<'_>, target_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM findings WHERE target_id = $1 AND finding_state(rule, fixed_in_scan, triage) = 'open'"#,
        target_id
    )
    .fetch_one(db)
    .await
}

/// For one finding of a dependency: its target's newest checked release, and whether that
/// release no longer has it (`None`: nothing was checked).
pub async fn fixed_in(pool: &PgPool, finding_id: i64) -> sqlx::Result<Option<(String, bool)>> {
    let row = sqlx::query!(
        r#"SELECT rs.version, rs.newest,
                  release_has(rs, f) AS "still!"
           FROM findings f JOIN release_scans rs ON rs.target_id = f.target_id
           WHERE f.id = $1
           ORDER BY rs.newest DESC
           LIMIT 1"#,
        finding_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.version, !r.still)))
}

/// "Bump a pin" work: dependencies nobody owns whose checked newer release clears open
/// findings — for each, the release clearing the most (the newest of the pinned major when
/// it clears as many: the smaller step) — most cleared first.
pub async fn bump_items(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<BumpItem>> {
    clearing(pool, None, true, Some(limit)).await
}

/// Whether any dependency's releases had been checked before `end` (a check records only its
/// latest time, so a week before every latest check reads as not checked).
pub async fn checked_before(db: impl PgExecutor<'_>, end: chrono::DateTime<chrono::Utc>) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM release_checks WHERE checked_at < $1) AS "checked!""#, end as _)
        .fetch_one(db)
        .await
}

/// Every dependency whose releases were checked before `end` and whose best checked release
/// clears open findings, most cleared first (the weekly report's "upgrades" section: the
/// release scans as they are now, for checks made by then).
pub async fn clearing_before(
    db: impl PgExecutor<'_>,
    end: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Vec<BumpItem>> {
    clearing(db, Some(end), false, None).await
}

/// Dependencies whose best checked release clears open findings (checked before `before`;
/// nobody owning the dependency, with `unowned_only`), most cleared first, at most `limit`.
async fn clearing(
    db: impl PgExecutor<'_>,
    before: Option<chrono::DateTime<chrono::Utc>>,
    unowned_only: bool,
    limit: Option<i64>,
) -> sqlx::Result<Vec<BumpItem>> {
    sqlx::query_as!(
        BumpItem,
        r#"WITH options AS (
               SELECT rs.target_id, rs.version, rs.newest, rs.requires_python,
                      (SELECT count(*) FROM findings f
                       WHERE f.target_id = rs.target_id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                         AND NOT release_has(rs, f)) AS clears
               FROM release_scans rs
           ),
           best AS (
               SELECT DISTINCT ON (o.target_id) o.* FROM options o WHERE o.clears > 0
               ORDER BY o.target_id, o.clears DESC, o.newest, o.version
           )
           SELECT t.id AS target_id, t.name, rc.pinned, b.version, b.clears AS "clears!", b.requires_python,
                  (SELECT count(*) FROM findings f WHERE f.target_id = t.id
                     AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open') AS "open!"
           FROM best b
           JOIN targets t ON t.id = b.target_id
           JOIN release_checks rc ON rc.target_id = t.id AND ($1::timestamptz IS NULL OR rc.checked_at < $1)
           -- Unowned: nobody owns the dependency, and some finding the bump clears has no owner
           -- (claiming a bump claims those findings: crate::models::claims::claim_bump).
           WHERE NOT $2 OR (
               NOT EXISTS (SELECT 1 FROM claims c WHERE c.target_id = t.id AND c.released_at IS NULL)
               AND EXISTS (SELECT 1 FROM findings f JOIN release_scans rs ON rs.target_id = f.target_id AND rs.version = b.version
                           WHERE f.target_id = t.id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                             AND NOT release_has(rs, f)
                             AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.finding_id = f.id AND c.released_at IS NULL)))
           ORDER BY b.clears DESC, t.name
           LIMIT $3"#,
        before as _,
        unowned_only,
        limit
    )
    .fetch_all(db)
    .await
}

/// The last check of `target_id`'s releases — the pin it compared, the newest release — and
/// the release scans kept (for the demo's snapshot).
pub async fn last_check(
    db: &mut sqlx::PgConnection,
    target_id: i64,
) -> sqlx::Result<Option<(Option<String>, Option<String>, Vec<ReleaseScan>)>> {
    let Some(check) = sqlx::query!("SELECT pinned, newest FROM release_checks WHERE target_id = $1", target_id)
        .fetch_optional(&mut *db)
        .await?
    else {
        return Ok(None);
    };
    let scans = sqlx::query_as!(
        ReleaseScan,
        r#"SELECT target_id, version, newest, newest_in_major, requires_python, requires_dist, upstream,
                  fingerprints, content_fingerprints, loose_keys
           FROM release_scans WHERE target_id = $1 ORDER BY version"#,
        target_id
    )
    .fetch_all(&mut *db)
    .await?;
    Ok(Some((check.pinned, check.newest, scans)))
}
