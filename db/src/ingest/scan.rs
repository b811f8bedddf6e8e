//! Ingesting a scan: new fingerprints become findings, seen ones move with the code, missing
//! ones become fixed — only when the scan ran to completion, and never in files it could
//! not read. A finding whose file was renamed keeps its identity through its content
//! fingerprint. Everything happens in one transaction of bulk statements (COPY into a
//! temporary table, then set-based updates), and every change is written to `events`.

use std::collections::HashSet;

use sqlx::{Postgres, Transaction};

use super::{
    copy_text::CopyText,
    incoming::{IncomingFinding, IngestSummary, ScanInput},
    matching::{self, Change, KnownFinding},
};
use crate::models::events::{self, About, Event, FindingCount, ScanIngested};

/// The merged API indexes of what `target_id` depends on (the latest scan of each dependency
/// target that has one): input for scanning `target_id` (rule UT011). A repository depends on
/// the pins of its requirements files; a package on the packages it pulls in (`# via`).
pub async fn dependency_api_index(pool: impl sqlx::PgExecutor<'_>, target_id: i64) -> sqlx::Result<scanner::ApiIndex> {
    let indexes = sqlx::query_scalar!(
        r#"WITH dependencies AS (
               SELECT pp.package_id
               FROM requirement_files rf JOIN package_pins pp ON pp.requirement_file_id = rf.id
               WHERE rf.target_id = $1
               UNION
               SELECT pe.child_package_id
               FROM target_packages own JOIN package_edges pe ON pe.parent_package_id = own.package_id
               WHERE own.target_id = $1
           )
           SELECT DISTINCT ON (s.target_id) s.api_index AS "api_index!: sqlx::types::Json<scanner::ApiIndex>"
           FROM dependencies d
           JOIN target_packages tp ON tp.package_id = d.package_id
           JOIN scans s ON s.target_id = tp.target_id AND s.api_index IS NOT NULL
           WHERE tp.target_id <> $1
           ORDER BY s.target_id, s.id DESC"#,
        target_id
    )
    .fetch_all(pool)
    .await?;
    let mut merged = scanner::ApiIndex::new();
    for index in indexes {
        merged.merge(index.0);
    }
    Ok(merged)
}

/// Records `input` as a new scan of its target and applies it to the target's findings, in
/// one transaction (a savepoint of the caller's, when given one: a job's scan commits with
/// the job); results identical to the target's latest scan change nothing.
pub async fn ingest(pool: &sqlx::PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    ingest_in(&mut *pool.acquire().await?, input).await
}

/// [`ingest`] in a savepoint of `conn`'s transaction (or a transaction of its own).
pub async fn ingest_in(conn: &mut sqlx::PgConnection, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    use sqlx::Connection;
    let started = std::time::Instant::now();
    let input = &*input.within_limits();
    let mut tx = conn.begin().await?;
    // One ingestion per target at a time: the matching below reads then writes.
    crate::models::locks::for_transaction(&mut tx, "unthread.ingest", input.target_id).await?;
    let digest = input.digest();
    tracing::debug!(target: "db::ingest", "digest: {} ms", started.elapsed().as_millis());
    let latest = sqlx::query!(
        "SELECT id, content_digest FROM scans WHERE target_id = $1 ORDER BY id DESC LIMIT 1",
        input.target_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(latest) = latest {
        if latest.content_digest.as_deref() == Some(digest.as_str()) {
            tx.rollback().await?;
            return Ok(IngestSummary { scan_id: latest.id, already_ingested: true, ..Default::default() });
        }
    }

    let api_index = input.api_index.as_ref().filter(|i| !i.is_empty()).map(sqlx::types::Json);
    let import_index = input.imports.as_ref().map(sqlx::types::Json);
    let coverage = coverage_json(&input.coverage);
    let calls_out = input.calls_out.as_ref().map(sqlx::types::Json);
    let scan_id = sqlx::query_scalar!(
        r#"INSERT INTO scans (target_id, revision, tool, tool_version, started_at, finished_at, files_scanned, files_failed, status, content_digest, api_index, import_index, coverage, scope_paths, scope_why, calls_out)
           VALUES ($1, $2, $3, $4, coalesce($10, now()), coalesce($10, now()), $5, $6, $7, $8, $9, $11, $12, $13, $14, $15) RETURNING id"#,
        input.target_id,
        input.revision,
        input.tool,
        input.tool_version,
        input.files_scanned,
        i32::try_from(input.unread_files.len()).unwrap_or(i32::MAX),
        input.status(),
        digest,
        api_index as _,
        input.finished_at as _,
        import_index as _,
        coverage,
        input.scope.as_ref().map(|s| s.paths.clone()) as Option<Vec<String>>,
        input.scope.as_ref().map(|s| s.why.clone()),
        calls_out as _
    )
    .fetch_one(&mut *tx)
    .await?;
    let (paths, reasons): (Vec<String>, Vec<String>) = input.unread_files.iter().cloned().unzip();
    sqlx::query!(
        "INSERT INTO scan_unread_files (scan_id, path, reason) SELECT $1, * FROM UNNEST($2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        scan_id,
        &paths,
        &reasons
    )
    .execute(&mut *tx)
    .await?;

    let mut summary = apply(&mut tx, input, scan_id).await?;
    summary.scan_id = scan_id;
    super::suppressions::apply(&mut tx, input, scan_id).await?;

    let event = Event::ScanIngested(ScanIngested {
        status: input.status().to_owned(),
        revision: input.revision.clone(),
        tool: input.tool.clone(),
        new: summary.new,
        seen: summary.seen,
        renamed: summary.renamed,
        reopened: summary.reopened,
        fixed: summary.fixed,
        unread_files: input.unread_files.len(),
        cause: input.cause.clone(),
    });
    let about = About::system().target(input.target_id).scan(scan_id).at(input.finished_at);
    events::record(&mut *tx, &event, about).await?;
    tx.commit().await?;
    tracing::debug!(target: "db::ingest", "committed: {} ms", started.elapsed().as_millis());
    Ok(summary)
}

/// Matches the scan against the target's findings in memory, then writes the outcome with
/// one bulk statement per kind of change and one event per kind listing the findings.
async fn apply(tx: &mut Transaction<'_, Postgres>, input: &ScanInput, scan_id: i64) -> sqlx::Result<IngestSummary> {
    let started = std::time::Instant::now();
    let step = |name: &str| tracing::debug!(target: "db::ingest", "{name}: {} ms", started.elapsed().as_millis());
    let known = sqlx::query_as!(
        KnownFinding,
        r#"SELECT id, fingerprint, content_fingerprint, path, details_digest, fixed_in_scan IS NOT NULL AS "fixed!",
                  file_hash
           FROM findings WHERE target_id = $1"#,
        input.target_id
    )
    .fetch_all(&mut **tx)
    .await?;
    // A fingerprint identifies a finding: keep the first of any duplicates (SARIF from other
    // tools may repeat a result).
    let mut fingerprints = HashSet::with_capacity(input.findings.len());
    let incoming: Vec<&IncomingFinding> =
        input.findings.iter().filter(|f| fingerprints.insert(f.fingerprint.as_str())).collect();
    // What the scan did not read: its unread files, and — when it read only some files on
    // purpose — every other file holding a known finding. Their findings are left alone.
    let mut unread: HashSet<&str> = input.unread_files.iter().map(|(path, _)| path.as_str()).collect();
    if let Some(scope) = &input.scope {
        let read: HashSet<&str> = scope.paths.iter().map(String::as_str).collect();
        unread.extend(known.iter().map(|k| k.path.as_str()).filter(|path| !read.contains(path)));
    }
    step("read known findings");
    let plan = matching::plan(&known, &incoming, &unread, &input.file_hashes, input.complete);
    step("matched");

    sqlx::query!("UPDATE findings SET last_seen_scan = $1 WHERE id = ANY($2)", scan_id, &plan.unchanged)
        .execute(&mut **tx)
        .await?;
    step("unchanged updated");
    update_changed(tx, scan_id, &plan.changed).await?;
    step("changed updated");
    let new_ids = insert_new(tx, input.target_id, scan_id, &plan.new).await?;
    step("new inserted");
    sqlx::query!("UPDATE findings SET fixed_in_scan = $1 WHERE id = ANY($2)", scan_id, &plan.fixed)
        .execute(&mut **tx)
        .await?;
    super::retired::apply(tx, input, scan_id, &plan.retired).await?;
    // Every finding this scan saw: the hash of its file as read now.
    if !input.file_hashes.is_empty() {
        let (paths, hashes): (Vec<&str>, Vec<i64>) =
            input.file_hashes.iter().map(|(path, hash)| (path.as_str(), *hash)).unzip();
        sqlx::query!(
            "UPDATE findings f SET file_hash = h.hash
             FROM unnest($1::text[], $2::bigint[]) AS h(path, hash)
             WHERE f.target_id = $3 AND f.last_seen_scan = $4 AND f.path = h.path
               AND f.file_hash IS DISTINCT FROM h.hash",
            &paths as &[&str],
            &hashes,
            input.target_id,
            scan_id
        )
        .execute(&mut **tx)
        .await?;
    }

    step("fixed updated");
    let with_change =
        |change: Change| plan.changed.iter().filter(|(_, _, c)| *c == change).map(|(id, _, _)| *id).collect::<Vec<_>>();
    let renamed = with_change(Change::Renamed);
    let reopened = with_change(Change::Reopened);
    let count = |ids: &[i64]| FindingCount { count: ids.len() as i64, cause: None };
    let fixed = FindingCount { cause: input.cause.clone(), ..count(&plan.fixed) };
    let changes = [
        (Event::FindingsNew(count(&new_ids)), &new_ids),
        (Event::FindingsRenamed(count(&renamed)), &renamed),
        (Event::FindingsReopened(count(&reopened)), &reopened),
        (Event::FindingsFixed(fixed), &plan.fixed),
    ];
    for (event, ids) in changes {
        if !ids.is_empty() {
            let about = About::system().target(input.target_id).scan(scan_id).findings(ids).at(input.finished_at);
            events::record(&mut **tx, &event, about).await?;
        }
    }
    step("events written");
    Ok(IngestSummary {
        scan_id,
        already_ingested: false,
        new: new_ids.len() as i64,
        seen: (plan.unchanged.len() + plan.changed.len()) as i64,
        renamed: renamed.len() as i64,
        reopened: reopened.len() as i64,
        fixed: plan.fixed.len() as i64,
    })
}

/// `scans.coverage` (see its migration): the first places of each kind, and how many.
fn coverage_json(coverage: &super::incoming::ScanCoverage) -> serde_json::Value {
    let max = super::incoming::ScanCoverage::MAX_LISTED;
    serde_json::json!({
        "partially_parsed": coverage.partially_parsed.iter().take(max).collect::<Vec<_>>(),
        "partially_parsed_count": coverage.partially_parsed.len(),
        "computed_imports": coverage.computed_imports.iter().take(max).collect::<Vec<_>>(),
        "computed_imports_count": coverage.computed_imports.len(),
    })
}

/// The columns of `findings` a scan describes, in the order [`push_described`] writes them.
const DESCRIBED_COLUMNS: &str = "fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line, \
                                 end_column, symbol, message, snippet, conditional, details_digest, fix, runs_at, \
                                 runs_at_path, context";

fn push_described(rows: &mut CopyText, f: &IncomingFinding) {
    rows.text(&f.fingerprint)
        .optional_text(f.content_fingerprint.as_deref())
        .text(&f.rule)
        .text(&f.path)
        .int(f.start_line)
        .int(f.start_column)
        .int(f.end_line)
        .int(f.end_column)
        .optional_text(f.symbol.as_deref())
        .text(&f.message)
        .optional_text(f.snippet.as_deref())
        .boolean(f.conditional)
        .int(f.details_digest())
        .optional_text(f.fix_json().as_deref())
        .optional_text(f.runs_at_text())
        .optional_text(f.runs_at_path_json().as_deref())
        .optional_text(f.context_json().as_deref());
}

/// COPY statements name their columns at run time ([`DESCRIBED_COLUMNS`]): sqlx has no
/// checked form of COPY.
async fn copy_in(tx: &mut Transaction<'_, Postgres>, statement: &str, rows: CopyText) -> sqlx::Result<()> {
    let mut copy = (**tx).copy_in_raw(statement).await?;
    copy.send(rows.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Findings seen again with new details: copied into a temporary table, then one UPDATE.
async fn update_changed(
    tx: &mut Transaction<'_, Postgres>,
    scan_id: i64,
    changed: &[(i64, &IncomingFinding, Change)],
) -> sqlx::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    // The temporary table exists only in this transaction, so its statements cannot be
    // checked at build time: they are runtime queries.
    sqlx::query(
        "CREATE TEMPORARY TABLE changed_findings ON COMMIT DROP AS
         SELECT id, fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line,
                end_column, symbol, message, snippet, conditional, details_digest, fix, runs_at, runs_at_path,
                context
         FROM findings WITH NO DATA",
    )
    .execute(&mut **tx)
    .await?;
    let mut rows = CopyText::with_capacity(changed.len() * 256);
    for (id, finding, _) in changed {
        rows.int(*id);
        push_described(&mut rows, finding);
        rows.end_row();
    }
    copy_in(tx, &format!("COPY changed_findings (id, {DESCRIBED_COLUMNS}) FROM STDIN"), rows).await?;
    sqlx::query(
        r#"UPDATE findings f
           SET fingerprint = i.fingerprint, content_fingerprint = i.content_fingerprint, rule = i.rule,
               path = i.path, start_line = i.start_line, start_column = i.start_column,
               end_line = i.end_line, end_column = i.end_column, symbol = i.symbol,
               message = i.message, snippet = i.snippet, conditional = i.conditional,
               details_digest = i.details_digest, fix = i.fix, runs_at = i.runs_at,
               runs_at_path = i.runs_at_path, context = i.context, last_seen_scan = $1, fixed_in_scan = NULL
           FROM changed_findings i
           WHERE f.id = i.id"#,
    )
    .bind(scan_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the new findings (COPY); their ids, in no particular order.
async fn insert_new(
    tx: &mut Transaction<'_, Postgres>,
    target_id: i64,
    scan_id: i64,
    new: &[&IncomingFinding],
) -> sqlx::Result<Vec<i64>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = CopyText::with_capacity(new.len() * 256);
    for finding in new {
        rows.int(target_id).int(scan_id).int(scan_id);
        push_described(&mut rows, finding);
        rows.end_row();
    }
    copy_in(
        tx,
        &format!("COPY findings (target_id, first_seen_scan, last_seen_scan, {DESCRIBED_COLUMNS}) FROM STDIN"),
        rows,
    )
    .await?;
    // This scan is the first to see exactly the findings it created.
    sqlx::query_scalar!("SELECT id FROM findings WHERE target_id = $1 AND first_seen_scan = $2", target_id, scan_id)
        .fetch_all(&mut **tx)
        .await
}
