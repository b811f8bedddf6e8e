//! Ingesting a scan: new fingerprints become findings, seen ones move with the code, missing
//! ones become fixed — only when the scan ran to completion, and never in files it could
//! not read. A finding whose file was renamed keeps its identity through its content
//! fingerprint. Everything happens in one transaction of bulk statements (UNNEST into a
//! temporary table, then set-based updates), and every change is written to `events`.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};

/// One finding as a scanner reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
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

impl ScanInput {
    fn status(&self) -> &'static str {
        if !self.complete {
            "partial"
        } else {
            "complete"
        }
    }

    /// Identifies these results, so that ingesting them twice is recognised.
    fn digest(&self) -> String {
        let mut findings: Vec<&IncomingFinding> = self.findings.iter().collect();
        findings.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let mut unread: Vec<&(String, String)> = self.unread_files.iter().collect();
        unread.sort();
        let mut hasher = Sha256::new();
        let mut field = |text: &str| {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        field(self.status());
        field(self.revision.as_deref().unwrap_or(""));
        field(&self.tool);
        for f in findings {
            for part in [&f.fingerprint, &f.rule, &f.path, &f.message] {
                field(part);
            }
            field(&format!("{}:{}-{}:{}", f.start_line, f.start_column, f.end_line, f.end_column));
        }
        for (path, reason) in unread {
            field(path);
            field(reason);
        }
        hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
    let mut tx = pool.begin().await?;
    // One ingestion per target at a time: the matching below reads then writes.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('unthread.ingest', $1))")
        .bind(input.target_id)
        .execute(&mut *tx)
        .await?;
    let digest = input.digest();
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
        r#"INSERT INTO scans (target_id, revision, tool, tool_version, finished_at, files_scanned, files_failed, status, content_digest, api_index)
           VALUES ($1, $2, $3, $4, now(), $5, $6, $7, $8, $9) RETURNING id"#,
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

    load_incoming(&mut tx, &input.findings).await?;
    let mut summary = match_and_apply(&mut tx, input.target_id, scan_id, input.complete).await?;
    summary.scan_id = scan_id;

    sqlx::query("INSERT INTO events (kind, target_id, scan_id, data) VALUES ('scan.ingested', $1, $2, $3)")
        .bind(input.target_id)
        .bind(scan_id)
        .bind(serde_json::json!({
            "status": input.status(),
            "revision": input.revision,
            "tool": input.tool,
            "new": summary.new,
            "seen": summary.seen,
            "renamed": summary.renamed,
            "reopened": summary.reopened,
            "fixed": summary.fixed,
            "unread_files": input.unread_files.len(),
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(summary)
}

/// Copies the incoming findings into a temporary table (one statement, arrays per column).
async fn load_incoming(tx: &mut Transaction<'_, Postgres>, findings: &[IncomingFinding]) -> sqlx::Result<()> {
    sqlx::query(
        r#"CREATE TEMPORARY TABLE incoming (
               fingerprint text NOT NULL, content_fingerprint text, rule text, path text,
               start_line int, start_column int, end_line int, end_column int, symbol text,
               message text, snippet text, conditional boolean,
               finding_id bigint, was_fixed boolean NOT NULL DEFAULT false,
               moved boolean NOT NULL DEFAULT false, renamed boolean NOT NULL DEFAULT false
           ) ON COMMIT DROP"#,
    )
    .execute(&mut **tx)
    .await?;
    // A fingerprint identifies a finding: keep the first of any duplicates (SARIF from other
    // tools may repeat a result).
    let mut seen = std::collections::HashSet::with_capacity(findings.len());
    let findings: Vec<&IncomingFinding> = findings.iter().filter(|f| seen.insert(f.fingerprint.as_str())).collect();
    macro_rules! column {
        ($field:ident) => {
            findings.iter().map(|f| f.$field.clone()).collect::<Vec<_>>()
        };
    }
    sqlx::query(
        r#"INSERT INTO incoming (fingerprint, content_fingerprint, rule, path, start_line, start_column,
                                 end_line, end_column, symbol, message, snippet, conditional)
           SELECT *
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
                       $7::int[], $8::int[], $9::text[], $10::text[], $11::text[], $12::boolean[])
                AS t(fingerprint, content_fingerprint, rule, path, start_line, start_column,
                     end_line, end_column, symbol, message, snippet, conditional)"#,
    )
    .bind(column!(fingerprint))
    .bind(column!(content_fingerprint))
    .bind(column!(rule))
    .bind(column!(path))
    .bind(column!(start_line))
    .bind(column!(start_column))
    .bind(column!(end_line))
    .bind(column!(end_column))
    .bind(column!(symbol))
    .bind(column!(message))
    .bind(column!(snippet))
    .bind(column!(conditional))
    .execute(&mut **tx)
    .await?;
    sqlx::query("ANALYZE incoming").execute(&mut **tx).await?;
    Ok(())
}

async fn match_and_apply(
    tx: &mut Transaction<'_, Postgres>,
    target_id: i64,
    scan_id: i64,
    complete: bool,
) -> sqlx::Result<IngestSummary> {
    // 1. Same fingerprint: the same finding, perhaps moved within its file.
    sqlx::query(
        r#"UPDATE incoming i
           SET finding_id = f.id,
               was_fixed = f.fixed_in_scan IS NOT NULL,
               moved = (f.path, f.start_line, f.start_column) IS DISTINCT FROM (i.path, i.start_line, i.start_column)
           FROM findings f
           WHERE f.target_id = $1 AND f.fingerprint = i.fingerprint"#,
    )
    .bind(target_id)
    .execute(&mut **tx)
    .await?;

    // 2. Renamed files: an unmatched incoming finding takes over an open finding with the same
    //    content fingerprint that this scan no longer sees under its own fingerprint, one to one.
    sqlx::query(
        r#"WITH candidates AS (
               SELECT i.fingerprint, f.id,
                      row_number() OVER (PARTITION BY f.id ORDER BY i.path, i.fingerprint) AS per_finding,
                      row_number() OVER (PARTITION BY i.fingerprint ORDER BY f.path, f.id) AS per_incoming
               FROM incoming i
               JOIN findings f ON f.target_id = $1 AND f.content_fingerprint = i.content_fingerprint
               WHERE i.finding_id IS NULL AND f.fixed_in_scan IS NULL AND f.path <> i.path
                 AND NOT EXISTS (SELECT 1 FROM incoming seen WHERE seen.finding_id = f.id)
           )
           UPDATE incoming i SET finding_id = c.id, renamed = true, moved = true
           FROM candidates c
           WHERE c.fingerprint = i.fingerprint AND c.per_finding = 1 AND c.per_incoming = 1"#,
    )
    .bind(target_id)
    .execute(&mut **tx)
    .await?;

    // 3. Bring matched findings up to date; reopen those a scan had marked fixed.
    let seen = sqlx::query(
        r#"UPDATE findings f
           SET fingerprint = i.fingerprint, content_fingerprint = i.content_fingerprint, rule = i.rule,
               path = i.path, start_line = i.start_line, start_column = i.start_column,
               end_line = i.end_line, end_column = i.end_column, symbol = i.symbol,
               message = i.message, snippet = i.snippet, conditional = i.conditional,
               last_seen_scan = $1, fixed_in_scan = NULL
           FROM incoming i
           WHERE f.id = i.finding_id"#,
    )
    .bind(scan_id)
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    let counts: (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE renamed), count(*) FILTER (WHERE was_fixed) FROM incoming")
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query(
        r#"INSERT INTO events (kind, target_id, finding_id, scan_id, data)
           SELECT CASE WHEN i.was_fixed THEN 'finding.reopened' ELSE 'finding.renamed' END,
                  $1, i.finding_id, $2, jsonb_build_object('path', i.path, 'line', i.start_line)
           FROM incoming i WHERE i.was_fixed OR i.renamed"#,
    )
    .bind(target_id)
    .bind(scan_id)
    .execute(&mut **tx)
    .await?;

    // 4. New findings.
    let new: i64 = sqlx::query_scalar(
        r#"WITH inserted AS (
               INSERT INTO findings (target_id, fingerprint, content_fingerprint, rule, path, start_line,
                                     start_column, end_line, end_column, symbol, message, snippet,
                                     conditional, first_seen_scan, last_seen_scan)
               SELECT $1, fingerprint, content_fingerprint, rule, path, start_line, start_column,
                      end_line, end_column, symbol, message, snippet, conditional, $2, $2
               FROM incoming WHERE finding_id IS NULL
               RETURNING id, rule, path
           ), logged AS (
               INSERT INTO events (kind, target_id, finding_id, scan_id, data)
               SELECT 'finding.new', $1, id, $2, jsonb_build_object('rule', rule, 'path', path) FROM inserted
           )
           SELECT count(*) FROM inserted"#,
    )
    .bind(target_id)
    .bind(scan_id)
    .fetch_one(&mut **tx)
    .await?;

    // 5. Fixed: open findings this complete scan did not see, outside the files it could not read.
    let fixed: i64 = if complete {
        sqlx::query_scalar(
            r#"WITH fixed AS (
                   UPDATE findings f SET fixed_in_scan = $2
                   WHERE f.target_id = $1 AND f.fixed_in_scan IS NULL AND f.last_seen_scan <> $2
                     AND NOT EXISTS (SELECT 1 FROM scan_unread_files u WHERE u.scan_id = $2 AND u.path = f.path)
                   RETURNING f.id, f.rule, f.path
               ), logged AS (
                   INSERT INTO events (kind, target_id, finding_id, scan_id, data)
                   SELECT 'finding.fixed', $1, id, $2, jsonb_build_object('rule', rule, 'path', path) FROM fixed
               )
               SELECT count(*) FROM fixed"#,
        )
        .bind(target_id)
        .bind(scan_id)
        .fetch_one(&mut **tx)
        .await?
    } else {
        0
    };
    Ok(IngestSummary { scan_id, already_ingested: false, new, seen, renamed: counts.0, reopened: counts.1, fixed })
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
                .map(|f| (f.path.clone(), f.problem.as_ref().map(|p| format!("{p:?}")).unwrap_or_default()))
                .collect(),
            findings: report.findings.iter().map(IncomingFinding::from).collect(),
            api_index: Some(report.api_index.clone()),
        }
    }
}
