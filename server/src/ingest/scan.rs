//! Ingesting a scan: new fingerprints become findings, seen ones move with the code, missing
//! ones become fixed — only when the scan ran to completion, and never in files it could
//! not read. A finding whose file was renamed keeps its identity through its content
//! fingerprint. Everything happens in one transaction of bulk statements (UNNEST into a
//! temporary table, then set-based updates), and every change is written to `events`.

use db::models::events::{self, About, Event, FindingCount, ScanIngested};
use serde::Serialize;
use std::collections::HashSet;

use sqlx::{PgPool, Postgres, Transaction};

use super::{
    copy_text::CopyText,
    matching::{self, Change, KnownFinding},
};

/// One finding as a scanner reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncomingFinding {
    pub fingerprint: String,
    pub content_fingerprint: Option<String>,
    pub rule: String,
    pub path: String,
    pub start_line: i32,
    pub start_column: i32,
    pub end_line: i32,
    pub end_column: i32,
    pub symbol: Option<String>,
    pub message: String,
    pub snippet: Option<String>,
    pub conditional: bool,
}

/// A finished scan of one target.
#[derive(Clone, Debug)]
pub struct ScanInput {
    pub target_id: i64,
    /// Commit sha or version.
    pub revision: Option<String>,
    pub tool: String,
    pub tool_version: Option<String>,
    /// False when the run did not finish (killed, timed out): nothing is marked fixed.
    pub complete: bool,
    pub files_scanned: i32,
    /// Files the scan could not read, with why: their findings are left alone.
    pub unread_files: Vec<(String, String)>,
    pub findings: Vec<IncomingFinding>,
    /// The target's own thread-local-backed APIs, for scans of its dependents.
    pub api_index: Option<scanner::ApiIndex>,
    /// When the scan ran, for importing past scans (the demo's history); `None` is now.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub scan_id: i64,
    /// True when these exact results were already the target's latest scan: nothing changed.
    pub already_ingested: bool,
    pub new: i64,
    pub seen: i64,
    pub renamed: i64,
    pub reopened: i64,
    pub fixed: i64,
}

impl IncomingFinding {
    /// A digest of everything stored about the finding but its fingerprint: a finding seen
    /// again with the same digest needs no rewrite beyond `last_seen_scan`.
    pub fn details_digest(&self) -> i64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for text in [&self.content_fingerprint, &self.symbol, &self.snippet] {
            hash_field(&mut hasher, text.as_deref().map_or(&[0xff_u8][..], str::as_bytes));
        }
        for text in [&self.rule, &self.path, &self.message] {
            hash_field(&mut hasher, text.as_bytes());
        }
        for n in [self.start_line, self.start_column, self.end_line, self.end_column, i32::from(self.conditional)] {
            hash_field(&mut hasher, &n.to_le_bytes());
        }
        hasher.digest() as i64
    }
}

/// Length-prefixed, so that field boundaries count.
fn hash_field(hasher: &mut xxhash_rust::xxh3::Xxh3, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

impl ScanInput {
    fn status(&self) -> &'static str {
        if !self.complete {
            "partial"
        } else {
            "complete"
        }
    }

    /// Identifies these results, so that ingesting them twice is recognised. (XXH3-128: it
    /// only has to tell scans apart, and hashes a 100,000-finding scan in milliseconds.)
    fn digest(&self) -> String {
        let mut findings: Vec<&IncomingFinding> = self.findings.iter().collect();
        findings.sort_unstable_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let mut unread: Vec<&(String, String)> = self.unread_files.iter().collect();
        unread.sort();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for text in [self.status(), self.revision.as_deref().unwrap_or(""), &self.tool] {
            hash_field(&mut hasher, text.as_bytes());
        }
        for f in findings {
            hash_field(&mut hasher, f.fingerprint.as_bytes());
            hash_field(&mut hasher, &f.details_digest().to_le_bytes());
        }
        for (path, reason) in unread {
            hash_field(&mut hasher, path.as_bytes());
            hash_field(&mut hasher, reason.as_bytes());
        }
        format!("xxh3:{:032x}", hasher.digest128())
    }
}

/// The merged API indexes of what `target_id` depends on (the latest scan of each dependency
/// target that has one): input for scanning `target_id` (rule UT011). A repository depends on
/// the pins of its requirements files; a package on the packages it pulls in (`# via`).
pub async fn dependency_api_index(pool: &PgPool, target_id: i64) -> sqlx::Result<scanner::ApiIndex> {
    let indexes: Vec<sqlx::types::Json<scanner::ApiIndex>> = sqlx::query_scalar(
        r#"WITH dependencies AS (
               SELECT pp.package_id
               FROM requirement_files rf JOIN package_pins pp ON pp.requirement_file_id = rf.id
               WHERE rf.target_id = $1
               UNION
               SELECT pe.child_package_id
               FROM target_packages own JOIN package_edges pe ON pe.parent_package_id = own.package_id
               WHERE own.target_id = $1
           )
           SELECT DISTINCT ON (s.target_id) s.api_index
           FROM dependencies d
           JOIN target_packages tp ON tp.package_id = d.package_id
           JOIN scans s ON s.target_id = tp.target_id AND s.api_index IS NOT NULL
           WHERE tp.target_id <> $1
           ORDER BY s.target_id, s.id DESC"#,
    )
    .bind(target_id)
    .fetch_all(pool)
    .await?;
    let mut merged = scanner::ApiIndex::new();
    for index in indexes {
        merged.merge(index.0);
    }
    Ok(merged)
}

pub async fn ingest(pool: &PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, ingest_scan(pool, input)).await
}

async fn ingest_scan(pool: &PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin().await?;
    // One ingestion per target at a time: the matching below reads then writes.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('unthread.ingest', $1))")
        .bind(input.target_id)
        .execute(&mut *tx)
        .await?;
    let digest = input.digest();
    tracing::debug!(target: "unthread_server::ingest", "digest: {} ms", started.elapsed().as_millis());
    let latest: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, content_digest FROM scans WHERE target_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(input.target_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((scan_id, Some(previous))) = &latest {
        if *previous == digest {
            tx.rollback().await?;
            return Ok(IngestSummary { scan_id: *scan_id, already_ingested: true, ..Default::default() });
        }
    }

    let scan_id: i64 = sqlx::query_scalar(
        r#"INSERT INTO scans (target_id, revision, tool, tool_version, started_at, finished_at, files_scanned, files_failed, status, content_digest, api_index)
           VALUES ($1, $2, $3, $4, coalesce($10, now()), coalesce($10, now()), $5, $6, $7, $8, $9) RETURNING id"#,
    )
    .bind(input.target_id)
    .bind(&input.revision)
    .bind(&input.tool)
    .bind(&input.tool_version)
    .bind(input.files_scanned)
    .bind(i32::try_from(input.unread_files.len()).unwrap_or(i32::MAX))
    .bind(input.status())
    .bind(&digest)
    .bind(input.api_index.as_ref().filter(|i| !i.is_empty()).map(sqlx::types::Json))
    .bind(input.finished_at)
    .fetch_one(&mut *tx)
    .await?;
    let (paths, reasons): (Vec<String>, Vec<String>) = input.unread_files.iter().cloned().unzip();
    sqlx::query(
        "INSERT INTO scan_unread_files (scan_id, path, reason) SELECT $1, * FROM UNNEST($2::text[], $3::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(scan_id)
    .bind(&paths)
    .bind(&reasons)
    .execute(&mut *tx)
    .await?;

    let mut summary = apply(&mut tx, input, scan_id).await?;
    summary.scan_id = scan_id;

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
    });
    let about = About::system().target(input.target_id).scan(scan_id).at(input.finished_at);
    events::record(&mut *tx, &event, about).await?;
    tx.commit().await?;
    tracing::debug!(target: "unthread_server::ingest", "committed: {} ms", started.elapsed().as_millis());
    Ok(summary)
}

/// Matches the scan against the target's findings in memory, then writes the outcome with
/// one bulk statement per kind of change and one event per kind listing the findings.
async fn apply(tx: &mut Transaction<'_, Postgres>, input: &ScanInput, scan_id: i64) -> sqlx::Result<IngestSummary> {
    let started = std::time::Instant::now();
    let step =
        |name: &str| tracing::debug!(target: "unthread_server::ingest", "{name}: {} ms", started.elapsed().as_millis());
    let known: Vec<KnownFinding> = sqlx::query_as(
        "SELECT id, fingerprint, content_fingerprint, path, details_digest, fixed_in_scan IS NOT NULL AS fixed
         FROM findings WHERE target_id = $1",
    )
    .bind(input.target_id)
    .fetch_all(&mut **tx)
    .await?;
    // A fingerprint identifies a finding: keep the first of any duplicates (SARIF from other
    // tools may repeat a result).
    let mut fingerprints = HashSet::with_capacity(input.findings.len());
    let incoming: Vec<&IncomingFinding> =
        input.findings.iter().filter(|f| fingerprints.insert(f.fingerprint.as_str())).collect();
    let unread: HashSet<&str> = input.unread_files.iter().map(|(path, _)| path.as_str()).collect();
    step("read known findings");
    let plan = matching::plan(&known, &incoming, &unread, input.complete);
    step("matched");

    sqlx::query("UPDATE findings SET last_seen_scan = $1 WHERE id = ANY($2)")
        .bind(scan_id)
        .bind(&plan.unchanged)
        .execute(&mut **tx)
        .await?;
    step("unchanged updated");
    update_changed(tx, scan_id, &plan.changed).await?;
    step("changed updated");
    let new_ids = insert_new(tx, input.target_id, scan_id, &plan.new).await?;
    step("new inserted");
    sqlx::query("UPDATE findings SET fixed_in_scan = $1 WHERE id = ANY($2)")
        .bind(scan_id)
        .bind(&plan.fixed)
        .execute(&mut **tx)
        .await?;

    step("fixed updated");
    let with_change =
        |change: Change| plan.changed.iter().filter(|(_, _, c)| *c == change).map(|(id, _, _)| *id).collect::<Vec<_>>();
    let renamed = with_change(Change::Renamed);
    let reopened = with_change(Change::Reopened);
    let count = |ids: &[i64]| FindingCount { count: ids.len() as i64 };
    let changes = [
        (Event::FindingsNew(count(&new_ids)), &new_ids),
        (Event::FindingsRenamed(count(&renamed)), &renamed),
        (Event::FindingsReopened(count(&reopened)), &reopened),
        (Event::FindingsFixed(count(&plan.fixed)), &plan.fixed),
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

/// The columns of `findings` a scan describes, in the order [`push_described`] writes them.
const DESCRIBED_COLUMNS: &str = "fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line, \
                                 end_column, symbol, message, snippet, conditional, details_digest";

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
        .int(f.details_digest());
}

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
    sqlx::query(
        "CREATE TEMPORARY TABLE changed_findings ON COMMIT DROP AS
         SELECT id, fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line,
                end_column, symbol, message, snippet, conditional, details_digest
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
               details_digest = i.details_digest, last_seen_scan = $1, fixed_in_scan = NULL
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
    sqlx::query_scalar("SELECT id FROM findings WHERE target_id = $1 AND first_seen_scan = $2")
        .bind(target_id)
        .bind(scan_id)
        .fetch_all(&mut **tx)
        .await
}

impl From<&scanner::Finding> for IncomingFinding {
    fn from(f: &scanner::Finding) -> Self {
        let clamp = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            fingerprint: f.fingerprint.clone(),
            content_fingerprint: Some(f.content_fingerprint.clone()),
            rule: f.rule.clone(),
            path: f.path.clone(),
            start_line: clamp(f.start.line),
            start_column: clamp(f.start.column),
            end_line: clamp(f.end.line),
            end_column: clamp(f.end.column),
            symbol: Some(f.symbol.clone()),
            message: f.message.clone(),
            snippet: Some(f.line_text.clone()),
            conditional: f.conditional,
        }
    }
}

impl ScanInput {
    /// A finished in-process scan of `target_id` at `revision`.
    pub fn from_report(target_id: i64, revision: Option<String>, report: &scanner::ScanReport) -> Self {
        Self {
            target_id,
            revision,
            tool: "unthread-scan".to_owned(),
            tool_version: Some(report.scanner_version.clone()),
            complete: true,
            files_scanned: i32::try_from(report.files_scanned()).unwrap_or(i32::MAX),
            unread_files: report
                .files_failed()
                .map(|f| (f.path.clone(), f.problem.as_ref().map(ToString::to_string).unwrap_or_default()))
                .collect(),
            findings: report.findings.iter().map(IncomingFinding::from).collect(),
            api_index: Some(report.api_index.clone()),
            finished_at: None,
        }
    }
}
