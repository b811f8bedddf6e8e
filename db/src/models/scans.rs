//! Scans as recorded (`scans`; written by [`crate::ingest`]): what the latest ones saw.

use sqlx::PgExecutor;

use crate::ingest::{IncomingFinding, StoredRunsAtPath};

/// A dependency target's latest complete scan.
#[derive(Clone, Debug)]
pub struct LatestScan {
    pub target_id: i64,
    /// The dependency's (normalised) package name, which is the target's name.
    pub package: String,
    pub scan_id: i64,
    pub revision: Option<String>,
    pub tool_version: Option<String>,
    pub files_scanned: i32,
    pub api_index: Option<sqlx::types::Json<scanner::ApiIndex>>,
    pub import_index: Option<sqlx::types::Json<scanner::imports::ImportIndex>>,
    pub calls_out: Option<sqlx::types::Json<Vec<scanner::finding::CallOut>>>,
}

/// The latest complete scan of every dependency target that has one.
pub async fn latest_of_dependencies(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<LatestScan>> {
    sqlx::query_as!(
        LatestScan,
        r#"SELECT DISTINCT ON (t.id) t.id AS target_id, t.name AS package, s.id AS scan_id, s.revision,
                  s.tool_version, s.files_scanned, s.api_index AS "api_index: sqlx::types::Json<scanner::ApiIndex>",
                  s.import_index AS "import_index: sqlx::types::Json<scanner::imports::ImportIndex>",
                  s.calls_out AS "calls_out: sqlx::types::Json<Vec<scanner::finding::CallOut>>"
           FROM targets t JOIN scans s ON s.target_id = t.id AND s.status = 'complete'
           WHERE t.kind = 'dependency'
           ORDER BY t.id, s.id DESC"#
    )
    .fetch_all(db)
    .await
}

/// The open findings scan `scan_id` of `target_id` saw, as the scanner reported them, in
/// source order.
pub async fn open_findings_seen_by(
    db: impl PgExecutor<'_>,
    target_id: i64,
    scan_id: i64,
) -> sqlx::Result<Vec<IncomingFinding>> {
    let rows = sqlx::query!(
        r#"SELECT fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line, end_column,
                  symbol, message, snippet, conditional,
                  CASE WHEN triaged_in_source THEN triage_reason END AS suppressed,
                  fix AS "fix: sqlx::types::Json<crate::views::FixView>",
                  runs_at, runs_at_path AS "runs_at_path: sqlx::types::Json<StoredRunsAtPath>",
                  context AS "context: sqlx::types::Json<scanner::finding::SourceContext>"
           FROM findings WHERE target_id = $1 AND last_seen_scan = $2 AND fixed_in_scan IS NULL
           ORDER BY path, start_line, start_column, rule, fingerprint"#,
        target_id,
        scan_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            // The two columns back into the scanner's form.
            let runs_at = r.runs_at.as_deref().and_then(scanner::finding::RunsAt::parse).map(|at| {
                let stored = r.runs_at_path.map(|p| p.0).unwrap_or_default();
                scanner::finding::RunsAtPath {
                    at,
                    why: stored.why.into_owned(),
                    path: stored.path.into_owned(),
                    open_ends: stored.open_ends.into_owned(),
                }
            });
            IncomingFinding {
                fingerprint: r.fingerprint,
                content_fingerprint: r.content_fingerprint,
                rule: r.rule,
                path: r.path,
                start_line: r.start_line,
                start_column: r.start_column,
                end_line: r.end_line,
                end_column: r.end_column,
                symbol: r.symbol,
                message: r.message,
                snippet: r.snippet,
                conditional: r.conditional,
                suppressed: r.suppressed,
                fix: r.fix,
                runs_at,
                context: r.context.map(|c| c.0),
            }
        })
        .collect())
}

/// The newest scan's id (0 when there is none): whether scans landed since.
pub async fn latest_id(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT coalesce(max(id), 0) AS "id!" FROM scans"#).fetch_one(db).await
}

/// What the targets' latest complete scans before `end` did not analyse, summed: files not
/// read (of which compiled extension modules), files with syntax errors, imports by a
/// computed name.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CoverageTotals {
    pub files_not_read: i64,
    pub extension_modules: i64,
    pub files_partially_parsed: i64,
    pub computed_imports: i64,
}

pub async fn coverage_before(
    db: impl PgExecutor<'_>,
    end: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<CoverageTotals> {
    let row = sqlx::query!(
        r#"WITH latest AS (
               SELECT DISTINCT ON (target_id) id, files_failed, coverage
               FROM scans WHERE status = 'complete' AND coalesce(finished_at, started_at) < $1
               ORDER BY target_id, coalesce(finished_at, started_at) DESC, id DESC
           )
           SELECT coalesce(sum(files_failed), 0)::bigint AS "files_not_read!",
                  (SELECT count(*) FROM scan_unread_files u JOIN latest l ON l.id = u.scan_id
                   WHERE u.reason LIKE '%compiled extension module%') AS "extension_modules!",
                  coalesce(sum((coverage->>'partially_parsed_count')::bigint), 0)::bigint AS "files_partially_parsed!",
                  coalesce(sum((coverage->>'computed_imports_count')::bigint), 0)::bigint AS "computed_imports!"
           FROM latest"#,
        end as _
    )
    .fetch_one(db)
    .await?;
    Ok(CoverageTotals {
        files_not_read: row.files_not_read,
        extension_modules: row.extension_modules,
        files_partially_parsed: row.files_partially_parsed,
        computed_imports: row.computed_imports,
    })
}
