//! A dependency's impact: its thread-local-backed APIs (from its latest scan's API index)
//! and, per API, the open rule UT011 findings in other targets that call it — the findings
//! migrating it would clear. UT011's message names the API and its package; the SQL
//! functions `ut011_api` and `ut011_package` read them back.

use sqlx::PgPool;

use crate::views::{ApiCaller, ApiImpact};

/// The APIs of target `target_id` with their open callers in other targets, most called
/// first; callers whose API the index no longer lists are kept under the name they called.
/// UT011's messages name the package by the scan's package name: the target's own name, or
/// (a library named after its repository) one of its distributions'.
pub async fn apis_of(pool: &PgPool, target_id: i64) -> sqlx::Result<Vec<ApiImpact>> {
    let index = sqlx::query_scalar!(
        r#"SELECT s.api_index AS "api_index!: sqlx::types::Json<scanner::ApiIndex>"
           FROM scans s WHERE s.target_id = $1 AND s.api_index IS NOT NULL AND s.status = 'complete'
           ORDER BY s.id DESC LIMIT 1"#,
        target_id
    )
    .fetch_optional(pool)
    .await?
    .map(|j| j.0)
    .unwrap_or_default();
    let calls = sqlx::query!(
        r#"SELECT ut011_api(f.message) AS "api!", t.name AS target, t.kind AS "kind: crate::kinds::TargetKind",
                  count(*) AS "calls!", min(f.id) AS "example!"
           FROM findings f JOIN targets t ON t.id = f.target_id
           WHERE f.rule = 'UT011' AND f.target_id <> $1 AND ut011_api(f.message) IS NOT NULL
             AND ut011_package(f.message) IN (
                 SELECT name FROM targets WHERE id = $1
                 UNION
                 SELECT p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id WHERE tp.target_id = $1)
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           GROUP BY 1, 2, 3
           ORDER BY 1, 4 DESC, 2"#,
        target_id
    )
    .fetch_all(pool)
    .await?;
    let mut apis: Vec<ApiImpact> = index
        .apis
        .values()
        .map(|api| ApiImpact {
            qualname: api.qualname.clone(),
            kind: format!("{:?}", api.kind).to_lowercase(),
            chain: api.chain.clone(),
            path: api.path.clone(),
            line: api.line,
            calls: 0,
            callers: Vec::new(),
        })
        .collect();
    for call in calls {
        // The name called may be a re-export or an attribute of the API (`cache.get`).
        let api = index.lookup(&call.api).map_or(call.api.clone(), |api| api.qualname.clone());
        let position = match apis.iter().position(|a| a.qualname == api) {
            Some(i) => i,
            None => {
                apis.push(ApiImpact {
                    qualname: api,
                    kind: String::new(),
                    chain: vec![],
                    path: String::new(),
                    line: 0,
                    calls: 0,
                    callers: vec![],
                });
                apis.len() - 1
            }
        };
        let entry = &mut apis[position];
        entry.calls += call.calls;
        match entry.callers.iter_mut().find(|c| c.target == call.target) {
            Some(caller) => caller.calls += call.calls,
            None => entry.callers.push(ApiCaller {
                target: call.target,
                kind: call.kind,
                calls: call.calls,
                example: call.example,
            }),
        }
    }
    for api in &mut apis {
        api.callers.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.target.cmp(&b.target)));
    }
    apis.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.qualname.cmp(&b.qualname)));
    Ok(apis)
}

/// Every target's impact: open UT011 findings in other targets calling its APIs (by the
/// names UT011 gives them: the target's own, its distributions').
pub async fn calls_by_target(pool: &PgPool) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    let rows = sqlx::query!(
        r#"WITH api_package AS (
               SELECT id AS target_id, name FROM targets
               UNION
               SELECT tp.target_id, p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id
           )
           SELECT ap.target_id AS "target_id!", count(DISTINCT f.id) AS "calls!"
           FROM api_package ap
           JOIN findings f ON f.rule = 'UT011' AND ut011_package(f.message) = ap.name
           WHERE finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open' AND f.target_id <> ap.target_id
           GROUP BY ap.target_id"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.target_id, r.calls)).collect())
}

/// Call evidence for target `target_id`: open UT011 findings in other targets calling its
/// thread-local-backed APIs, and in how many targets.
pub async fn calls_of(pool: &PgPool, target_id: i64) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(DISTINCT f.id) AS "calls!", count(DISTINCT f.target_id) AS "targets!"
           FROM findings f
           WHERE f.rule = 'UT011' AND f.target_id <> $1
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND ut011_package(f.message) IN (
                 SELECT name FROM targets WHERE id = $1
                 UNION
                 SELECT p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id WHERE tp.target_id = $1)"#,
        target_id
    )
    .fetch_one(pool)
    .await?;
    Ok((row.calls, row.targets))
}
